"""The optional sweat sodium at the bench (``[entry] sodium = true``): asked after each reportable chloride, at the
terminal and in the browser; an empty entry means not measured. The Na/Cl rule of the worksheet
(sweattest.core.rules.sodium, UK 2014) warns on the screen, in the record, on the report and in the HL7 NTE."""

from __future__ import annotations

import threading

import pytest

from sweattest.bench.station.prompts import WebOperator
from sweattest.core.errors import ValidationError
from sweattest.core.units import Q_
from tests.bench.conftest import instrument_table, write_config
from tests.bench.test_run_on_instruments import Tech, run_cli, stored
from tests.lims.hl7_oracle import segments, strict, text
from tests.web.conftest import client, web_app  # noqa: F401  (fixtures)

#: QC normal and abnormal, then the left forearm (80) and the right forearm (20), each typed twice
CHLORIDES = ["40 mmol/L", "40 mmol/L", "100 mmol/L", "100 mmol/L", "80 mmol/L", "80 mmol/L", "20 mmol/L",
             "20 mmol/L"]
WARNING = "sodium 95 mmol/L is above chloride 80 mmol/L, where CF sweat has sodium below chloride"


def test_the_terminal_asks_sodium_after_each_chloride_and_warns_on_a_contradicting_pattern(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"),
                          extra="[entry]\nsodium = true\n")
    monkeypatch.setattr("sweattest.outputs.run_files.html_to_pdf", lambda html: b"%PDF-1.7")  # not looked at here
    typed = {"Type the chloride": list(CHLORIDES),
             "Type the sodium of sample": ["9**9 mmol/L", "95 mmol/L", ""]}  # refused, then 95; right: not measured
    status, out, tech = run_cli(monkeypatch, tmp_path, config, lambda out: Tech(out, typed=typed))
    assert status == 0, out
    assert "not accepted: " in out and "9**9" in out  # the one strict grammar refused it; asked again
    assert f"WARNING left forearm: {WARNING}" in out  # on the screen at once
    run, events, _ = stored(tmp_path)
    left, right = run.sites
    assert left.sodium == Q_(95, "mmol/L") and right.sodium is None  # empty: not measured
    [entered] = [e for e in events if e.kind == "enter_sodium"]
    assert (entered.site, entered.data["by"]) == ("left_forearm", "tech1")
    sodium_prompts = [p for p, _ in tech.answered if "sodium of sample" in p]
    assert len(sodium_prompts) == 3 and "(right forearm)" in sodium_prompts[-1]
    [html] = (tmp_path / "out").glob("*.html")
    report = html.read_text(encoding="utf-8")
    assert WARNING in report and "Left forearm 95 mmol/L" in report
    [hl7_file] = (tmp_path / "out").glob("*.hl7")
    message = hl7_file.read_bytes().decode("utf-8")
    strict(message)
    assert any(WARNING in text(n[3]) for n in segments(message, "NTE"))


def test_without_the_lab_setting_no_sodium_is_asked(monkeypatch, tmp_path):
    config = write_config(tmp_path, instrument_table("inducer", "standalone"), instrument_table("analyzer", "manual"))
    status, out, tech = run_cli(monkeypatch, tmp_path, config,
                                lambda out: Tech(out, typed={"Type the chloride": list(CHLORIDES)}))
    assert status == 0, out
    assert not [p for p, _ in tech.answered if "sodium" in p]


@pytest.fixture
def asked():
    """A runner thread waiting at the sodium prompt of the browser; yields (operator, prompt id, answers, thread)."""
    op = WebOperator("tech1")
    answers: list = []
    runner = threading.Thread(target=lambda: answers.append(op.enter_sodium("left_forearm", "sodium of sample R1-1")),
                              daemon=True)
    runner.start()
    for _ in range(500):
        if op.prompt is not None:
            break
        runner.join(timeout=0.01)
    assert op.prompt is not None and op.prompt.kind == "enter_sodium"
    yield op, op.prompt.id, answers, runner
    op.close()
    runner.join(timeout=5)


def test_the_browser_takes_an_empty_sodium_as_not_measured(asked):
    op, prompt_id, answers, runner = asked
    op.confirm(prompt_id, None)
    runner.join(timeout=5)
    assert answers == [(None, "tech1")]


def test_the_browser_refuses_a_bad_sodium_and_keeps_asking(asked):
    op, prompt_id, answers, runner = asked
    with pytest.raises(ValidationError, match="not a concentration"):
        op.confirm(prompt_id, "95 mg")
    with pytest.raises(ValidationError, match="only the run's operator"):
        op.confirm(prompt_id, "95 mmol/L", by="tech2")
    assert answers == [] and op.prompt is not None
    op.confirm(prompt_id, "95 mmol/L")
    runner.join(timeout=5)
    assert answers == [(Q_(95, "mmol/L"), "tech1")]


def test_the_browser_run_page_asks_sodium_and_shows_the_warning_on_the_result(client, web_app):  # noqa: F811
    from dataclasses import replace

    from tests.web.conftest import csrf_of, log_in
    from tests.web.test_bench_flow import start_run, wait_for_prompt

    service = web_app.state.web.bench.service
    service.config = replace(service.config, sodium_entry=True)
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    answered, sodium = 0, {"left_forearm": "30", "right_forearm": ""}  # the normal scenario: 45 and 48 mmol/L
    while (prompt := wait_for_prompt(client, run_url, web_app, after=answered)) is not None:
        answered = prompt.id
        data = {"csrf": token, "prompt": str(prompt.id)}
        if prompt.kind == "read_volume":
            data["amount"] = prompt.hint.split("coil shows ")[1].split(" ")[0]
        if prompt.kind == "check_skin":
            data["grade"] = "none"
        if prompt.kind == "enter_sodium":
            page = client.get(run_url).text
            assert "Sodium (optional)" in page and "Sodium (empty: not measured)" in page
            data["amount"] = sodium.pop(prompt.site)
        assert client.post(f"{run_url}/confirm", data=data, follow_redirects=False).status_code == 303
    assert sodium == {}  # asked once per site
    page = client.get(run_url).text
    assert 'id="sodium-left_forearm"' in page and "sodium 30 mmol/L" in page
    assert "sodium 30 mmol/L is below chloride 45 mmol/L" in page  # the warning on the result screen
    assert 'id="sodium-right_forearm"' not in page  # not measured
