"""A lab's own report template (report.template_folder): one written for earlier versions, which read the record
as a mapping, keeps rendering the same values; one that reads what the record does not offer stops the report
with an error naming the template file, its line and what it could not read."""

import io

import pytest

from sweattest.cli.main import main
from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError
from sweattest.outputs.report import render_html
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.golden.build import RUN_ID, simulated

#: the constructs of a template written for the record as a mapping
OLD_STYLE = """\
<p id="version">record {{ record_version }}</p>
{% if proficiency is defined %}<p id="pt">PT {{ proficiency.provider }}</p>{% endif %}
{% for s in sites %}<p class="site">{{ s["site"] }}: {{ s["chloride"]["text"] }} / \
{{ (s.chloride or {}).get("text") }} / {{ s.get("was") or "not corrected" }} / \
{{ s.get("analysis")["delay_min"] }} min / {{ s.get("reportable") }} / {{ s.get("no_such_field", "none") }}</p>
{% endfor %}
<p id="withheld">{{ interpretation.get("withheld") or "interpreted" }}: {{ interpretation["wording"] }}</p>
<p id="change">{{ report.get("interpretation_change") or "no change" }}; \
{{ method.get("weight_readability") or "volumetric" }}</p>
<p id="repeat">{{ repeat_of.get("run_id") if repeat_of else "first test" }}; skin {{ skin | length }}</p>
<p id="analysed">{{ local(sites[0].analysis.at) }}</p>
"""


def _lab(tmp_path, text: str) -> LabConfig:
    (tmp_path / "report.html").write_text(text, encoding="utf-8")
    return LabConfig(template_folder=tmp_path)


def test_a_template_written_for_the_record_as_a_mapping_keeps_rendering_its_values(demo, tmp_path):
    html = render_html(demo, _lab(tmp_path, OLD_STYLE))
    assert '<p id="version">record 3</p>' in html
    assert 'id="pt"' not in html  # not a proficiency-testing sample
    assert '<p class="site">left_forearm: 45 / 45 / not corrected / 1 min / True / none</p>' in html
    assert '<p class="site">right_forearm: 48 / 48 / not corrected / ' in html
    assert '<p id="withheld">interpreted: ' in html
    assert '<p id="change">no change; volumetric</p>' in html
    assert '<p id="repeat">first test; skin 2</p>' in html
    assert '<p id="analysed">2026-03-0' in html


@pytest.mark.parametrize(("line", "said"), [
    ("{{ record.sites }}", "'record' is undefined"),
    ("{% for k, v in sites[0].amounts.items() %}{{ k }}{% endfor %}", "has no attribute 'items'"),
    ("{{ generated_at[:10] }}", "'datetime.datetime' object is not subscriptable"),
    ("{% if proficiency.provider %}PT{% endif %}", "'proficiency' is undefined"),
])
def test_a_template_reading_what_the_record_does_not_offer_is_refused_naming_file_line_and_construct(
        demo, tmp_path, line, said):
    config = _lab(tmp_path, "<p>lab report</p>\n" + line + "\n")
    with pytest.raises(ConfigError) as refused:
        render_html(demo, config)
    message = str(refused.value)
    assert message.startswith(f"report template {tmp_path / 'report.html'} line 2: ")
    assert said in message and "docs/config.md (Report templates)" in message


def test_the_report_command_tells_the_template_and_line_in_one_line_and_writes_nothing(tmp_path, monkeypatch,
                                                                                       capsys):
    folder = tmp_path / "lab-templates"
    folder.mkdir()
    (folder / "report.html").write_text("<h1>{{ lab.name }}</h1>\n{{ record.get('repeat_of') }}\n", encoding="utf-8")
    cfg = tmp_path / "sweattest.toml"
    cfg.write_text(f'[report]\ntemplate_folder = "{folder}"\n', encoding="utf-8")
    monkeypatch.setenv("SWEATTEST_CONFIG", str(cfg))
    _, url = simulated(tmp_path)
    store = open_store(url)
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
    store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    out = tmp_path / "report.html"
    status = main(["report", RUN_ID, "--db", url, "--out", str(out), "--as", "rev1", "--password-stdin"])
    err = capsys.readouterr().err
    assert status != 0 and not out.exists()
    assert err.startswith(f"sweattest: error: report template {folder / 'report.html'} line 2: UndefinedError: "
                          "'record' is undefined; ") and err.count("\n") == 1 and "Traceback" not in err
