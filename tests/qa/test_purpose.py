"""Patient runs apart from the rest: every QA figure, list and export counts patient runs only, unless the
other purposes (simulated, training, proficiency) are asked for by name; the demo keeps to its own store."""

from __future__ import annotations

import io
import json

import pytest

from sweattest.cli.main import main
from sweattest.core.errors import ValidationError
from sweattest.qa.qns import qns_rate
from sweattest.qa.runs import runs_frame
from sweattest.qa.summary import month_summary
from sweattest.qa.trend import qns_trend, turnaround_trend
from sweattest.qa.workspace import find_runs
from sweattest.record.run_filter import RunFilter
from sweattest.record.store.store import Store, open_store
from sweattest.record.users import add_user
from tests.conftest import qa_main
from tests.store import backends
from tests.store.backends import make_run

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends

OTHERS = ("simulated", "training", "proficiency")


def _build_mixed(store, clock):
    """Two patient runs (one QNS) and one run of each other purpose (all QNS)."""
    make_run(store, clock, "P1", volumes=(40, 40))
    make_run(store, clock, "P2", volumes=(5, 5))
    for purpose in OTHERS:
        make_run(store, clock, purpose.upper(), volumes=(5, 5), purpose=purpose)


built_source, mixed = backends.built_store(_build_mixed, "mixed")  # both backends; each test on its own copy


def test_every_qa_view_counts_patient_runs_only_by_default(mixed):
    assert sorted(runs_frame(mixed)["run_id"]) == ["P1", "P2"]
    rates = qns_rate(mixed)
    assert (int(rates["tests"].sum()), int(rates["qns"].sum())) == (2, 1)
    [month] = qns_trend(mixed)
    assert (month["tests"], month["qns"], month["rate_pct"]) == (2, 1, 50.0)
    assert turnaround_trend(mixed)[0]["runs"] == 2
    summary = month_summary(mixed, "2026-11")
    assert (summary["runs"], summary["qns_tests"], summary["counted"]) == (2, 1, "patient runs")
    assert summary["repeats"] == 1  # P2's patient was tested in P1; the other purposes' runs are not earlier tests
    rows, total = find_runs(mixed, RunFilter(), "", {}, 50)
    assert total == 2 and {r["run_id"] for r in rows} == {"P1", "P2"}


@pytest.mark.parametrize("purpose", OTHERS)
def test_each_other_purpose_is_counted_when_named(mixed, purpose):
    where = RunFilter(purposes=(purpose,))
    assert list(runs_frame(mixed, where)["run_id"]) == [purpose.upper()]
    assert list(runs_frame(mixed, where)["purpose"]) == [purpose]
    assert int(qns_rate(mixed, where)["tests"].sum()) == 1
    assert qns_trend(mixed, where)[0]["rate_pct"] == 100.0
    assert turnaround_trend(mixed, where)[0]["runs"] == 1
    assert month_summary(mixed, "2026-11", (purpose,))["runs"] == 1
    assert find_runs(mixed, where, "", {}, 50)[1] == 1
    everything = RunFilter(purposes=("patient", "simulated", "training", "proficiency"))
    assert len(runs_frame(mixed, everything)) == 5 and everything.counted == "all runs"


def test_qns_rate_after_a_demo_counts_only_the_patient_runs(tmp_path, store_url, clock, capsys, monkeypatch):
    """The example of the QNS rate: a demo written into the lab's store (by name, by a tech who signs in) plus
    patient runs."""
    lab = Store(store_url, clock)
    add_user(lab, "tech1", "Tina Tech", "tech", "tech password", actor="setup")
    make_run(lab, clock, "P1", volumes=(40, 40))
    make_run(lab, clock, "P2", volumes=(5, 5))
    lab.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("tech password\n"))
    assert main(["demo", "--out", str(tmp_path / "out"), "--db", store_url, "--as", "tech1", "--password-stdin"]) == 0
    capsys.readouterr()
    assert qa_main(monkeypatch, ["qa", "qns-rate", "--db", store_url, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(r["tests"] for r in rows) == 2 and sum(r["qns"] for r in rows) == 1
    assert {r["operator"] for r in rows} == {"tech1"}
    assert qa_main(monkeypatch, ["qa", "qns-rate", "--db", store_url]) == 0
    assert "QNS rate per test of patient runs" in capsys.readouterr().out
    assert qa_main(monkeypatch, ["qa", "qns-rate", "--db", store_url, "--purpose", "simulated",
                                 "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["operator"], r["tests"]) for r in rows] == [("simulated-tech (demo)", 1)]
    assert qa_main(monkeypatch, ["qa", "qns-rate", "--db", store_url, "--purpose", "all", "--format", "json"]) == 0
    assert sum(json.loads(line)["tests"] for line in capsys.readouterr().out.splitlines()) == 3
    assert qa_main(monkeypatch, ["qa", "runs", "--db", store_url, "--format", "json", "--purpose", "patient",
                 "--purpose", "simulated"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert qa_main(monkeypatch, ["qa", "runs", "--db", store_url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "patient runs:" and len(table) == 2 + 2  # heading, column names, P1 and P2
    assert qa_main(monkeypatch, ["qa", "runs", "--db", store_url, "--purpose", "all"]) == 0
    assert capsys.readouterr().out.startswith("all runs:\n")
    assert qa_main(monkeypatch, ["qa", "summary", "--month", "2026-11", "--db", store_url]) == 0
    assert "month 2026-11 (patient runs)" in capsys.readouterr().out


def test_an_unknown_purpose_is_refused_in_one_line(db_url, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["qa", "runs", "--db", db_url, "--purpose", "sim"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--purpose 'sim': use one of patient, simulated, training, proficiency or all" \
        in err
    with pytest.raises(ValidationError, match="run purpose 'testing'"):
        make_run(open_store(db_url), backends.VirtualClock(start=backends.START), purpose="testing")
    store = open_store(db_url)
    assert store.list_runs() == []  # nothing half-written
    store.close()


def test_the_demo_writes_into_its_own_store_not_the_labs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    lab = tmp_path / "lab.db"
    monkeypatch.setenv("SWEATTEST_DB", str(lab))
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    demo_db = tmp_path / "data" / "sweattest" / "sweattest-demo.db"
    assert f"the demo's run store is sqlite:///{demo_db}" in capsys.readouterr().out
    store = open_store(str(demo_db))
    try:
        [run] = store.list_runs()
        assert run["purpose"] == "simulated"
    finally:
        store.close()
    store = open_store(str(lab))  # the lab's store ($SWEATTEST_DB) holds no demo run
    try:
        assert store.list_runs() == []
    finally:
        store.close()
