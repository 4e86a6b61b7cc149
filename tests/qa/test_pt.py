"""Proficiency testing end to end: QA records a PT event and its samples, the tech runs a sample blinded on the
simulated bench under its sample id (no patient; its files say PROFICIENCY TEST; nothing for the LIS), QA
enters the provider's ranges and grades the event; a failed event stays on the QA desk until its corrective
action is recorded. Bad inputs are refused in one line with nothing written; a changed PT row is caught."""

from __future__ import annotations

import copy
import io
import json
from unittest import mock

import pytest
import sqlalchemy as sa

from sweattest.bench.demo import DEMO_SCENARIO
from sweattest.cli.main import main
from sweattest.qa import pt as pt_qa
from sweattest.record.audit import verify
from sweattest.record.run_filter import RunFilter
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.conftest import as_performer, qa_main

QA_PASSWORD = "quality assurance password"


def _qa(argv: list[str]) -> int:
    """A `sweattest pt ...` command by the reviewer rev1 (password on stdin)."""
    with mock.patch("sys.stdin", io.StringIO(QA_PASSWORD + "\n")):
        return main(["pt", *argv, "--as", "rev1", "--password-stdin"])


def _one_line(err: str) -> str:
    assert err.startswith("sweattest: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def lab(db_url, capsys):
    """A store with a reviewer, a CAP event (two samples) recorded by the CLI."""
    store = open_store(db_url)
    add_user(store, "rev1", "Rita Reviewer", "reviewer", QA_PASSWORD)
    store.close()
    assert _qa(["event", "add", "--provider", "CAP", "--scheme", "SW", "--event", "SW-A-2026", "--received",
                "2026-11-02", "--due", "2026-11-30", "--db", db_url]) == 0
    assert _qa(["sample", "add", "--event", "SW-A-2026", "SW-01", "SW-02", "--db", db_url]) == 0
    capsys.readouterr()
    return db_url


def _run_blinded(db_url, tmp_path, write_json, sample="SW-01") -> int:
    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["sites"] = {"left_forearm": scenario["sites"]["left_forearm"]}
    with as_performer(db_url) as who:
        return main(["run", "--pt-sample", sample, "--operator", "tech1", "--lot", "PG1", "--lot-expires",
                     "2099-01-31", "--simulate", write_json("scenario.json", scenario), "--out",
                     str(tmp_path / sample), "--db", db_url, *who])


def _count(db_url, table: str) -> int:
    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        store.close()


def test_a_pt_event_runs_blinded_is_graded_and_its_failure_stays_on_the_desk(lab, tmp_path, write_json, capsys,
                                                                             monkeypatch):
    assert _run_blinded(lab, tmp_path, write_json) == 0
    capsys.readouterr()
    store = open_store(lab)
    try:
        [run] = store.list_runs()
        assert (run["purpose"], run["accession"], run["patient_mrn"]) == ("proficiency", "SW-01", "SW-01")
        assert run["order"]["patient"]["family"] == "PROFICIENCY TEST" and run["order"]["proficiency"] == {
            "provider": "CAP", "scheme": "SW", "event": "SW-A-2026", "sample": "SW-01"}
        result = pt_qa.lab_result(store, "SW-01", store.clock)
        assert result.run_id == run["run_id"] and result.value is not None
        value = result.value
    finally:
        store.close()
    folder = tmp_path / "SW-01"
    assert "PROFICIENCY TEST: CAP SW, event SW-A-2026, sample SW-01" in next(folder.glob("*.html")).read_text()
    assert "PROFICIENCY TEST CAP event SW-A-2026" in next(folder.glob("*.csv")).read_text()
    msh = next(folder.glob("*.hl7")).read_text().split("\r")[0].split("|")
    assert msh[10] == "T" and "PROFICIENCY TEST" in next(folder.glob("*.hl7")).read_text()
    # patient QA figures leave it out; asked for by name it is there
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab, "--format", "json"]) == 0
    assert capsys.readouterr().out == ""
    assert qa_main(monkeypatch, ["qa", "runs", "--db", lab, "--format", "json", "--purpose", "proficiency"]) == 0
    assert json.loads(capsys.readouterr().out)["accession"] == "SW-01"

    assert _qa(["targets", "SW-01", "--target", f"{value:g}", "--low", f"{value - 3:g}", "--high",
                f"{value + 3:g}", "--db", lab]) == 0
    assert _qa(["targets", "SW-02", "--target", "60", "--low", "54", "--high", "66", "--db", lab]) == 0
    capsys.readouterr()
    assert _qa(["grade", "SW-A-2026", "--db", lab]) == 0
    out = capsys.readouterr().out
    assert f"SW-01: {value:g} mmol/L, acceptable {value - 3:g}-{value + 3:g} mmol/L: acceptable" in out
    assert "SW-02: no result, acceptable 54-66 mmol/L: unacceptable" in out  # never run: not returned
    assert "event SW-A-2026: FAILED: record its corrective action" in out
    assert main(["pt", "list", "--db", lab]) == 0
    assert "CAP SW event SW-A-2026: received 2026-11-02, due 2026-11-30, failed  CORRECTIVE ACTION DUE" in \
        capsys.readouterr().out
    store = open_store(lab)
    try:
        assert [e["event_code"] for e in pt_qa.awaiting_corrective_action(store)] == ["SW-A-2026"]
    finally:
        store.close()

    assert _qa(["corrective-action", "SW-A-2026", "--found", "sample SW-02 never run: lost in the fridge",
                "--done", "PT samples logged on receipt and run the same week", "--by", "Rita Reviewer",
                "--on", "2026-12-01", "--db", lab]) == 0
    capsys.readouterr()
    assert main(["pt", "list", "--db", lab, "--format", "json"]) == 0
    [event] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (event["outcome"], event["needs_corrective_action"]) == ("failed", False)
    assert [(s["sample"], s["grade"]) for s in event["samples"]] == [("SW-01", "acceptable"),
                                                                      ("SW-02", "unacceptable")]
    store = open_store(lab)
    try:
        assert pt_qa.awaiting_corrective_action(store) == []
        assert verify(store).intact
    finally:
        store.close()


def test_a_pt_sample_is_run_once_and_never_under_a_patient(lab, tmp_path, write_json, capsys, order_doc):
    assert _run_blinded(lab, tmp_path, write_json) == 0
    capsys.readouterr()
    assert _run_blinded(lab, tmp_path / "again", write_json) != 0
    err = _one_line(capsys.readouterr().err)
    assert "PT sample SW-01 was run already" in err and "No run was created" in err
    assert _run_blinded(lab, tmp_path, write_json, sample="SW-99") != 0
    assert "--pt-sample 'SW-99': not a registered PT sample" in _one_line(capsys.readouterr().err)
    order = order_doc | {"accession": "SW-02"}  # a patient's order under a PT sample's id
    scenario = copy.deepcopy(DEMO_SCENARIO)
    with as_performer(lab) as who:
        code = main(["run", "--order", write_json("order.json", order), "--simulate",
                     write_json("scenario.json", scenario), "--out", str(tmp_path / "p"), "--db", lab, *who])
    assert code != 0
    assert "SW-02 is a proficiency-testing sample of CAP event SW-A-2026: run it blinded" in \
        _one_line(capsys.readouterr().err)
    assert _count(lab, "runs") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["sample", "add", "--event", "SW-Z-2026", "SW-09"], "PT event 'SW-Z-2026' is not recorded"),
    (["sample", "add", "--event", "SW-A-2026", "SW-01"], "PT sample SW-01 is already recorded"),
    (["targets", "SW-01", "--target", "4O", "--low", "35", "--high", "45"], "--target"),
    (["targets", "SW-01", "--target", "40", "--low", "45", "--high", "35"], "must hold the target"),
    (["targets", "SW-01", "--target", "-4", "--low", "-5", "--high", "35"], "below 0"),
    (["targets", "SW-77", "--target", "40", "--low", "35", "--high", "45"], "PT sample 'SW-77' is not recorded"),
    (["grade", "SW-A-2026"], "no targets yet for SW-01, SW-02"),
    (["grade", "NOPE"], "PT event 'NOPE' is not recorded"),
    (["event", "add", "--provider", "CAP", "--scheme", "SW", "--event", "SW-A-2026", "--received", "2026-11-02",
      "--due", "2026-11-30"], "PT event SW-A-2026 is already recorded"),
    (["event", "add", "--provider", "CAP", "--scheme", "SW", "--event", "SW-B-2026", "--received", "2026-11-31",
      "--due", "2026-12-30"], "--received '2026-11-31': use a date"),
    (["event", "add", "--provider", "CAP", "--scheme", "SW", "--event", "SW-B-2026", "--received", "2026-12-02",
      "--due", "2026-11-30"], "--due 2026-11-30 is before --received 2026-12-02"),
    (["corrective-action", "NOPE", "--found", "x", "--done", "y", "--by", "z", "--on", "2026-12-01"],
     "PT event 'NOPE' is not recorded"),
])
def test_bad_pt_input_is_refused_in_one_line_and_nothing_is_written(lab, capsys, argv, message):
    before = {t: _count(lab, t) for t in ("pt_events", "pt_samples", "pt_targets", "pt_grades", "audit")}
    assert _qa([*argv, "--db", lab]) != 0
    assert message in _one_line(capsys.readouterr().err)
    assert {t: _count(lab, t) for t in before} == before


def test_corrected_targets_need_a_reason_and_the_latest_counts(lab, capsys):
    assert _qa(["targets", "SW-01", "--target", "40", "--low", "35", "--high", "45", "--db", lab]) == 0
    assert _qa(["targets", "SW-01", "--target", "42", "--low", "37", "--high", "47", "--db", lab]) != 0
    assert "give --reason for the correction" in _one_line(capsys.readouterr().err)
    assert _qa(["targets", "SW-01", "--target", "42", "--low", "37", "--high", "47", "--reason",
                "provider's corrected report", "--db", lab]) == 0
    store = open_store(lab)
    try:
        with store.engine.connect() as conn:
            from sweattest.record.proficiency import latest_targets

            assert latest_targets(conn, "SW-01")["high"] == 47.0
    finally:
        store.close()


def test_a_changed_pt_row_is_caught_by_audit_verify(lab, capsys):
    from tests.store.test_record_chain import _tamper

    assert _qa(["targets", "SW-01", "--target", "40", "--low", "35", "--high", "45", "--db", lab]) == 0
    store = open_store(lab)
    try:
        assert verify(store).intact
        _tamper(store, "UPDATE pt_targets SET high = 60 WHERE sample_id = 'SW-01'")
        result = verify(store)
        assert (result.intact, result.table, result.row) == (False, "pt_targets", "1")
        with store.engine.begin() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.execute(sa.text("DELETE FROM pt_samples"))
    finally:
        store.close()


def test_the_pack_section_lists_the_graded_samples_of_the_period(lab, tmp_path, write_json, capsys):
    from datetime import date

    assert _qa(["targets", "SW-01", "--target", "40", "--low", "35", "--high", "45", "--db", lab]) == 0
    assert _qa(["targets", "SW-02", "--target", "60", "--low", "54", "--high", "66", "--db", lab]) == 0
    assert _qa(["grade", "SW-A-2026", "--db", lab]) == 0
    store = open_store(lab)
    try:
        section = pt_qa.pack_section(store, RunFilter(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)))
        assert section.key == "proficiency_testing" and section.columns[4:6] == ("sample", "result_mmol_l")
        assert [(r[4], r[5], r[6], r[7], r[8], r[9]) for r in section.rows] == [
            ("SW-01", None, 35.0, 45.0, "unacceptable", "failed"), ("SW-02", None, 54.0, 66.0, "unacceptable",
                                                                    "failed")]
        assert any("SW-A-2026 failed: no corrective action recorded yet" in n for n in section.notes)
        later = pt_qa.pack_section(store, RunFilter(date_from=date(2026, 12, 1), date_to=date(2026, 12, 31)))
        assert later.rows == ()
    finally:
        store.close()


def test_a_signed_pt_result_is_never_sent_to_the_lis_nor_exported(lab, tmp_path, write_json, capsys):
    from dataclasses import replace

    from sweattest.core.config import LabConfig, LisConfig
    from sweattest.core.errors import ValidationError
    from sweattest.outputs.lims.delivery import export_run
    from sweattest.outputs.release import sign
    from sweattest.record import outbox
    from tests.conftest import PERFORMER_PASSWORD

    assert _run_blinded(lab, tmp_path, write_json) == 0
    drop = tmp_path / "drop"
    drop.mkdir()
    config = replace(LabConfig(), lis=LisConfig(send_to=("127.0.0.1", 2576)), drop_folder=drop)
    store = open_store(lab)
    try:
        [run] = store.list_runs()
        sign(store, store.clock, run["run_id"], "tech1", PERFORMER_PASSWORD, "performed", config=config)
        sign(store, store.clock, run["run_id"], "rev1", QA_PASSWORD, "reviewed", config=config)
        assert store.get_run(run["run_id"])["state"] == "reported"
        assert outbox.messages(store) == [] and list(drop.iterdir()) == []
        with pytest.raises(ValidationError, match="is a proficiency-testing sample: its result goes to the PT"):
            export_run(store, store.clock, run["run_id"], "hl7", drop, config=config)
        assert list(drop.iterdir()) == []
    finally:
        store.close()
