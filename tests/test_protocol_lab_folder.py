"""The lab's own methods folder ([protocols] folder in sweattest.toml): looked up before the shipped methods
by `protocol list|show`, `run` and `interpret`; a wrong key stops the command and leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.cli.main import main
from sweattest.core.config import load_config
from sweattest.core.errors import ConfigError
from sweattest.core.resources import data_dir
from sweattest.record.store.store import open_store
from tests.conftest import as_performer
from tests.test_interpret import CASE


@pytest.fixture
def lab(tmp_path):
    """A lab folder with its own macroduct (a different title) and an infant method of its own."""
    methods = tmp_path / "methods"
    methods.mkdir()
    shipped = (data_dir("protocols") / "macroduct.toml").read_text(encoding="utf-8")
    (methods / "macroduct.toml").write_text(shipped.replace('title = "', 'title = "Lab: ', 1), encoding="utf-8")
    (methods / "macroduct_infant.toml").write_text(
        shipped.replace('name = "macroduct"', 'name = "macroduct_infant"')
               .replace('title = "', 'title = "Infant: ', 1), encoding="utf-8")
    config = tmp_path / "sweattest.toml"
    config.write_text('[protocols]\nfolder = "methods"\n', encoding="utf-8")
    return config


def test_the_folder_is_taken_relative_to_the_configuration_file(lab, tmp_path):
    assert load_config(lab).protocol_folder == (tmp_path / "methods").resolve()


@pytest.mark.parametrize("text, message", [
    ('[protocols]\nfolder = "nowhere"\n', r"\[protocols\] folder = 'nowhere': folder .*nowhere does not exist"),
    ('[protocols]\nfolder = ""\n', r"\[protocols\] folder must be a non-empty text"),
    ('[protocols]\ndir = "methods"\n', r"\[protocols\] unknown key 'dir'; known keys: folder"),
    ('protocols = "methods"\n', r"protocols must be a section \(\[protocols\]\)"),
])
def test_a_wrong_protocols_key_names_file_section_and_key(tmp_path, text, message):
    config = tmp_path / "sweattest.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_config(config)
    assert str(config) in str(err.value)


def test_a_run_with_a_wrong_protocols_key_writes_nothing(tmp_path, capsys):
    config = tmp_path / "sweattest.toml"
    config.write_text('[protocols]\nfolder = "nowhere"\n', encoding="utf-8")
    order, scenario = tmp_path / "order.json", tmp_path / "scenario.json"
    order.write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    scenario.write_text(json.dumps(DEMO_SCENARIO), encoding="utf-8")
    db, out = tmp_path / "runs.db", tmp_path / "out"
    with as_performer(str(db)) as actor:
        status = main(["run", "--order", str(order), "--simulate", str(scenario), "--config", str(config),
                       "--db", str(db), "--out", str(out), *actor])
    err = capsys.readouterr().err
    assert status == 2 and "[protocols] folder = 'nowhere'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    store = open_store(str(db))
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_protocol_list_shows_where_each_method_comes_from(lab, capsys):
    assert main(["protocol", "list", "--config", str(lab)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert sorted(lines) == ["gibson_cooke", "macroduct", "macroduct_infant"]
    assert "lab (replaces shipped)" in lines["macroduct"] and "Lab: Macroduct" in lines["macroduct"]
    assert " lab " in lines["macroduct_infant"] and "Infant: " in lines["macroduct_infant"]
    assert " shipped " in lines["gibson_cooke"]


def test_protocol_list_without_a_lab_folder_lists_the_shipped_methods(capsys, monkeypatch):
    monkeypatch.delenv("SWEATTEST_CONFIG", raising=False)
    assert main(["protocol", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:2] for ln in lines] == [["gibson_cooke", "shipped"], ["macroduct", "shipped"]]


def test_protocol_show_names_the_lab_file_and_its_hash(lab, tmp_path, capsys):
    assert main(["protocol", "show", "macroduct", "--config", str(lab)]) == 0
    out = capsys.readouterr().out
    assert f"file: {(tmp_path / 'methods' / 'macroduct.toml').resolve()} (lab (replaces shipped))" in out
    assert "sha256: " in out and "Lab: Macroduct" in out


def test_protocol_show_of_an_unknown_method_lists_the_lab_ones_too(lab, capsys):
    assert main(["protocol", "show", "nope", "--config", str(lab)]) == 2
    assert "known methods: gibson_cooke, macroduct, macroduct_infant" in capsys.readouterr().err


def test_interpret_uses_a_lab_method(lab, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SWEATTEST_CONFIG", raising=False)
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE | {"method": "macroduct_infant"}), encoding="utf-8")
    assert main(["interpret", str(case), "--config", str(lab)]) == 0
    assert json.loads(capsys.readouterr().out)["sites"]
    assert main(["interpret", str(case)]) == 2  # without the lab's folder the method is unknown
    assert "unknown method 'macroduct_infant'" in capsys.readouterr().err


def test_the_bench_offers_and_accepts_a_lab_method(lab):
    from sweattest.web import drafts

    folder = load_config(lab).protocol_folder
    offered = dict(drafts.methods(folder))
    assert offered["macroduct"].startswith("Lab: ") and offered["macroduct_infant"].startswith("Infant: ")
    order = DEMO_ORDER | {"operator": "tech1"}
    draft = drafts.open_draft({order["accession"]: order}, order["accession"], "tech1", folder)
    drafts.choose_method(draft, "macroduct_infant", ["left_forearm"], None, {})
    assert draft.parsed().protocol.name == "macroduct_infant"
