"""`sweattest qc record|correct|override|runs|days|stats`: a control measured outside a run, by an authenticated
user, judged with every control of its analytical run as it comes; the acts on a held run by a reviewer, QA or
admin; the QC record by run, day and lot. Bad input is one line, a non-zero exit and nothing stored."""

import io
import json

import pytest

from sweattest.cli.main import main
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.store.backends import make_run

PASSWORDS = {"tech1": "tech password", "rev1": "review password", "qa1": "qa desk password"}
LOTS = [("QCN-A", "normal", "40"), ("QCN-B", "normal", "40"), ("QCA-A", "abnormal", "100"),
        ("QCA-B", "abnormal", "100")]


@pytest.fixture
def lab(db_url, monkeypatch):
    store = open_store(db_url)
    for user, role in (("tech1", "tech"), ("rev1", "reviewer"), ("qa1", "qa")):
        add_user(store, user, user.upper(), role, PASSWORDS[user], actor="setup")
    store.close()
    for lot, level, mean in LOTS:
        sd = "2" if level == "normal" else "4"
        assert main(["qc", "lot", "add", lot, "--analyzer", "CC-7781", "--level", level, "--material", "control",
                     "--expires", "2099-12-31", "--mean", f"{mean} mmol/L", "--sd", f"{sd} mmol/L",
                     *_as(monkeypatch, "qa1"), "--db", db_url]) == 0
    return db_url


def _as(monkeypatch, user):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORDS[user] + "\n"))
    return ["--as", user, "--password-stdin"]


def _record(monkeypatch, db, lot, level, value, user="tech1"):
    return main(["qc", "record", "--analyzer", "CC-7781", "--lot", lot, "--level", level, "--value", value,
                 *_as(monkeypatch, user), "--db", db])


def _runs(capsys, db):
    capsys.readouterr()
    assert main(["qc", "runs", "--format", "json", "--db", db]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_four_control_run_is_rejected_2_2s_and_needs_a_corrective_action(lab, monkeypatch, capsys):
    for (lot, level, _), value in zip(LOTS, ("45 mmol/L", "39.6 mmol/L", "109.6 mmol/L", "99.6 mmol/L"), strict=True):
        assert _record(monkeypatch, lab, lot, level, value) == 0
    out = capsys.readouterr().out
    assert "verdict of CC-7781/" in out and "INCOMPLETE" in out  # the first level alone: not yet complete
    assert out.strip().endswith("REJECTED (QC rejected by Westgard 2-2s: two controls of the run beyond the same "
                                "2 SD limit)")
    [run] = _runs(capsys, lab)
    assert (run["verdict"], run["rules"], run["controls"]) == ("rejected", "westgard_2_2s", 4)
    held = run["qc_run"]
    # a tech cannot act on a held run; an act without its text is refused; nothing is recorded
    assert main(["qc", "correct", held, "--action", "electrode cleaned", *_as(monkeypatch, "tech1"),
                 "--db", lab]) == 1
    assert "only a reviewer or qa or admin can record a corrective action" in capsys.readouterr().err
    assert main(["qc", "correct", held, "--action", " ", *_as(monkeypatch, "qa1"), "--db", lab]) == 2
    assert "nothing was recorded" in capsys.readouterr().err
    assert main(["qc", "correct", held, "--action", "electrode cleaned, standard checked",
                 *_as(monkeypatch, "qa1"), "--db", lab]) == 0
    assert _record(monkeypatch, lab, "QCN-A", "normal", "40.5 mmol/L") == 0
    assert _record(monkeypatch, lab, "QCA-A", "abnormal", "101 mmol/L") == 0
    first, second = _runs(capsys, lab)
    assert first["verdict"] == "rejected" and "qa1: electrode cleaned" in first["corrective_action"]
    assert second["qc_run"] == held + "#2" and second["verdict"] == "accepted"


@pytest.mark.parametrize("argv, words", [
    (["--lot", "QCN-A", "--level", "normal", "--value", "4O mmol/L"], "cannot read '4O' as a number"),
    (["--lot", "QCN-A", "--level", "normal", "--value", "40 mg"], "concentration"),
    (["--lot", "QCA-A", "--level", "normal", "--value", "40 mmol/L"], "QCA-A is a abnormal control, not normal"),
    (["--lot", "QCX", "--level", "normal", "--value", "40 mmol/L"], "QCX is not a known lot of analyzer CC-7781"),
    (["--lot", "QCN-A", "--level", "normal", "--value", "-5 mmol/L"], "-5 mmol/L is below 0"),
    (["--lot", "QCN-A", "--level", "normal", "--value", "99999999 mmol/L"], "1e+08 mmol/L is not a chloride"),
    (["--lot", "QCN-A", "--level", "normal", "--value", "41,2"], "use a decimal point (41.2)"),
    (["--lot", "QCN-A", "--level", "normal", "--value", "NaN"], "is not a number"),
])
def test_bad_control_entries_are_refused_and_nothing_is_recorded(lab, monkeypatch, capsys, argv, words):
    assert main(["qc", "record", "--analyzer", "CC-7781", *argv, *_as(monkeypatch, "tech1"), "--db", lab]) == 2
    assert words in capsys.readouterr().err
    assert _runs(capsys, lab) == []


def test_a_wrong_password_records_nothing(lab, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("not the password\n"))
    assert main(["qc", "record", "--analyzer", "CC-7781", "--lot", "QCN-A", "--level", "normal", "--value",
                 "40 mmol/L", "--as", "tech1", "--password-stdin", "--db", lab]) != 0
    assert "authentication failed" in capsys.readouterr().err
    assert _runs(capsys, lab) == []


def test_each_day_with_patient_tests_shows_whether_both_levels_were_run(lab, monkeypatch, capsys):
    from sweattest.core.clock import VirtualClock
    from sweattest.record.store.store import Store

    store = Store(lab, VirtualClock())
    try:
        make_run(store, VirtualClock(), "R1", qc="missing")
    finally:
        store.close()
    capsys.readouterr()
    assert main(["qc", "days", "--format", "json", "--db", lab]) == 0
    [day] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (day["patient_tests"], day["both_levels"], day["controls_run"]) == (1, "NO", "none")
    store = Store(lab, VirtualClock())
    try:
        from sweattest.record.qc_lots import record_control

        at = VirtualClock().utcnow()
        for lot, level, value in (("QCN-A", "normal", 40.0), ("QCA-A", "abnormal", 100.0)):
            record_control(store, analyzer="CC-7781", level=level, lot=lot, value=value,
                           qc_run=f"CC-7781/{at.date()}", at=at, who="tech1")
    finally:
        store.close()
    assert main(["qc", "days", "--db", lab]) == 0
    out = capsys.readouterr().out
    assert "yes" in out and "CC-7781: normal, abnormal" in out


def test_cumulative_statistics_per_lot_and_month(lab, monkeypatch, capsys):
    for value in ("39 mmol/L", "41 mmol/L", "40 mmol/L"):
        assert _record(monkeypatch, lab, "QCN-A", "normal", value) == 0
    capsys.readouterr()
    assert main(["qc", "stats", "--format", "json", "--db", lab]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    month, whole = rows
    assert (month["lot"], month["n"], month["mean"], month["sd"], month["cv_pct"]) == ("QCN-A", 3, 40.0, 1.0, 2.5)
    assert whole["month"] == "all" and whole["n"] == 3


def test_the_hold_is_not_overridden_by_who_measured_its_controls(lab, monkeypatch, capsys):
    """An override is a second person's act (as a release is): not by the reviewer who measured the held controls."""
    assert _record(monkeypatch, lab, "QCN-A", "normal", "50 mmol/L", user="rev1") == 0
    assert _record(monkeypatch, lab, "QCA-A", "abnormal", "100 mmol/L", user="rev1") == 0
    [run] = _runs(capsys, lab)
    assert run["verdict"] == "rejected"
    assert main(["qc", "override", run["qc_run"], "--reason", "vial known contaminated", *_as(monkeypatch, "rev1"),
                 "--db", lab]) == 2
    assert "rev1 measured controls of analytical run" in capsys.readouterr().err
    assert main(["qc", "override", run["qc_run"], "--reason", "vial known contaminated", *_as(monkeypatch, "tech1"),
                 "--db", lab]) == 1
    [run] = _runs(capsys, lab)
    assert run["override"] in (None, "")
    assert main(["qc", "override", run["qc_run"], "--reason", "vial known contaminated", *_as(monkeypatch, "qa1"),
                 "--db", lab]) == 0
    [run] = _runs(capsys, lab)
    assert "qa1" in run["override"]


def test_an_analyzer_serial_with_a_hash_keeps_its_runs_apart(lab, monkeypatch, capsys):
    """A serial number such as SN#7781: its held run, corrective action and the run measured again (#2)."""
    for lot, level, sd in (("HN-1", "normal", "2"), ("HA-1", "abnormal", "4")):
        mean = "40" if level == "normal" else "100"
        assert main(["qc", "lot", "add", lot, "--analyzer", "SN#7781", "--level", level, "--material", "control",
                     "--expires", "2099-12-31", "--mean", f"{mean} mmol/L", "--sd", f"{sd} mmol/L",
                     *_as(monkeypatch, "qa1"), "--db", lab]) == 0

    def record(lot, level, value):
        return main(["qc", "record", "--analyzer", "SN#7781", "--lot", lot, "--level", level, "--value", value,
                     *_as(monkeypatch, "tech1"), "--db", lab])

    assert record("HN-1", "normal", "50 mmol/L") == 0 and record("HA-1", "abnormal", "100 mmol/L") == 0
    [held] = _runs(capsys, lab)
    assert held["verdict"] == "rejected"
    assert main(["qc", "correct", held["qc_run"], "--action", "electrode cleaned, standard checked",
                 *_as(monkeypatch, "qa1"), "--db", lab]) == 0
    assert record("HN-1", "normal", "40 mmol/L") == 0 and record("HA-1", "abnormal", "100 mmol/L") == 0
    first, again = _runs(capsys, lab)
    assert first["verdict"] == "rejected"
    assert (again["qc_run"], again["verdict"]) == (held["qc_run"] + "#2", "accepted")


def test_an_analyzer_serial_with_a_slash_and_a_purpose_word_stays_in_its_patient_series(lab, monkeypatch, capsys):
    """Serial number 'LAB/training': its patient controls are the patient series, not a training one."""
    for lot, level, sd in (("TN-1", "normal", "2"), ("TA-1", "abnormal", "4")):
        mean = "40" if level == "normal" else "100"
        assert main(["qc", "lot", "add", lot, "--analyzer", "LAB/training", "--level", level, "--material",
                     "control", "--expires", "2099-12-31", "--mean", f"{mean} mmol/L", "--sd", f"{sd} mmol/L",
                     *_as(monkeypatch, "qa1"), "--db", lab]) == 0
    for lot, level, value in (("TN-1", "normal", "40 mmol/L"), ("TA-1", "abnormal", "100 mmol/L")):
        assert main(["qc", "record", "--analyzer", "LAB/training", "--lot", lot, "--level", level, "--value", value,
                     *_as(monkeypatch, "tech1"), "--db", lab]) == 0
    [run] = _runs(capsys, lab)
    assert run["verdict"] == "accepted" and run["qc_run"].startswith("LAB/training/")
    assert main(["qc", "runs", "--purpose", "training", "--format", "json", "--db", lab]) == 0
    assert "LAB/training" not in capsys.readouterr().out
