"""`sweattest qc`, `sweattest calibration` and `sweattest equipment`: entries by an authenticated user of the
right role; bad input is one line and a non-zero exit, with nothing stored."""

import io
import json

import pytest

from sweattest.cli.main import main
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user

CONFIG = """
[[instruments]]
role = "analyzer"
model = "manual"
serial_number = "CC3400-0173"

[calibration]
analyzer = "14 d"
"""


@pytest.fixture
def setup(db_url, tmp_path, monkeypatch):
    store = open_store(db_url)
    add_user(store, "tech1", "Tina Tech", "tech", "tech password", actor="setup")
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password", actor="setup")
    store.close()
    config = tmp_path / "lab.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("SWEATTEST_CONFIG", str(config))
    return db_url


def _as(monkeypatch, user):
    monkeypatch.setattr("sys.stdin", io.StringIO({"tech1": "tech password", "rev1": "review password"}[user] + "\n"))
    return ["--as", user, "--password-stdin"]


def _json(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


LOT = ["qc", "lot", "add", "QCN-2701", "--level", "normal", "--material", "Chloride control N",
       "--expires", "2099-06-30", "--mean", "40 mmol/L", "--sd", "1.5 mmol/L"]


def test_qa_adds_lists_and_retires_a_lot(setup, monkeypatch, capsys):
    assert main([*LOT, "--provisional", *_as(monkeypatch, "rev1"), "--db", setup]) == 0
    assert "lot QCN-2701 added: normal control of chloridometer-1, provisional" in capsys.readouterr().out
    [lot] = _json(capsys, ["qc", "lot", "list", "--format", "json", "--db", setup])
    assert (lot["lot"], lot["state"], lot["target_mean"], lot["establish_runs"], lot["by"]) == \
        ("QCN-2701", "provisional", 40.0, 20, "rev1")
    assert main(["qc", "targets", "establish", "QCN-2701", *_as(monkeypatch, "rev1"), "--db", setup]) != 0
    assert "has 0 of the 20 runs needed" in capsys.readouterr().err
    assert main(["qc", "lot", "retire", "QCN-2701", "--reason", "damaged in transit", *_as(monkeypatch, "rev1"),
                 "--db", setup]) == 0
    assert [x["state"] for x in _json(capsys, ["qc", "lot", "list", "--format", "json", "--db", setup])] == ["retired"]


@pytest.mark.parametrize("change, user, words", [
    ({"--mean": "forty"}, "rev1", "--mean: 'forty' has no number"),
    ({"--sd": "1.5"}, "rev1", "--sd: 1.5 has no unit"),
    ({"--expires": "2020-01-31"}, "rev1", "expiry 2020-01-31 is past"),
    ({"--expires": "31/01/2027"}, "rev1", "--expires '31/01/2027': use a date such as"),
    ({}, "tech1", "tech1 is a tech: only a reviewer or qa or admin can add a control lot"),
])
def test_a_bad_lot_or_a_tech_is_refused_in_one_line_and_nothing_is_stored(setup, monkeypatch, capsys, change, user,
                                                                          words):
    argv = list(LOT)
    for option, value in change.items():
        argv[argv.index(option) + 1] = value
    capsys.readouterr()
    assert main([*argv, *_as(monkeypatch, user), "--db", setup]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert _json(capsys, ["qc", "lot", "list", "--format", "json", "--db", setup]) == []


def test_a_calibration_takes_the_role_and_the_interval_of_the_configuration(setup, monkeypatch, capsys):
    argv = ["calibration", "add", "CC3400-0173", "--kind", "calibration", "--outcome", "pass", "--on", "2026-11-02"]
    assert main([*argv, *_as(monkeypatch, "tech1"), "--db", setup]) == 0
    assert "CC3400-0173 (analyzer): calibration on 2026-11-02 pass; next due 2026-11-16" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["calibration", "add", "B-77", "--kind", "verification", "--outcome", "pass",
                 *_as(monkeypatch, "tech1"), "--db", setup]) == 2
    assert capsys.readouterr().err == ("sweattest: error: B-77 is not the serial number of a configured instrument: "
                                       "give --role\n")
    [c] = _json(capsys, ["calibration", "list", "--format", "json", "--db", setup])
    assert (c["instrument"], c["interval_days"], c["by"]) == ("CC3400-0173", 14, "tech1")


def test_out_of_service_by_a_tech_back_in_service_by_a_reviewer(setup, monkeypatch, capsys):
    assert main(["equipment", "out-of-service", "CC3400-0173", "--reason", "display blank",
                 *_as(monkeypatch, "tech1"), "--db", setup]) == 0
    [row] = _json(capsys, ["equipment", "list", "--format", "json", "--db", setup])
    assert row["state"].startswith("OUT OF SERVICE since ") and row["state"].endswith(": display blank")
    assert main(["equipment", "in-service", "CC3400-0173", "--reason", "fixed", *_as(monkeypatch, "tech1"),
                 "--db", setup]) != 0
    assert "only a reviewer, qa or admin puts an instrument back in service" in capsys.readouterr().err
    assert main(["equipment", "in-service", "CC3400-0173", "--reason", "board replaced, verified",
                 *_as(monkeypatch, "rev1"), "--db", setup]) == 0
    assert main(["equipment", "lot", "CC3400-0173", "--kind", "collector", "--lot", "MD-2611",
                 *_as(monkeypatch, "tech1"), "--db", setup]) == 0
    kinds = [e["kind"] for e in _json(capsys, ["equipment", "history", "--format", "json", "--db", setup])]
    assert kinds == ["collector_lot", "in_service", "out_of_service"]
