"""A patient's history on both backends: the same patient is the same MRN and date of birth; a run with the
same MRN and another date of birth is shown apart as a possible identity conflict; repeats are linked to the
test they repeat; the report lists the earlier tests; on a CFTR modulator the change from the last
pre-treatment chloride is shown in mmol/L (no guideline the lab works to gives a response threshold)."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.outputs.report import render_html
from sweattest.qa.patients import conflicts, history
from sweattest.record.audit import verify
from sweattest.record.repeats import RepeatOf, check_repeat, record_repeat
from sweattest.record.stored_record import stored_record
from tests.conftest import qa_main
from tests.store import backends
from tests.store.backends import make_run
from tests.store.test_record_chain import _tamper

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends

DOB, OTHER_DOB = "2025-06-01", "2024-01-01"


def _link(store, clock, run_id, of, reason, note=""):
    with store.writing() as conn:
        record_repeat(conn, run_id, RepeatOf(of, reason, note), "tech1", clock.utcnow())


def _build_lab(store, clock):
    """MRN1 born 2025-06-01: A1 on 2026-11-20 (45/48, intermediate), A2 five days later on a new accession, a
    repeat of A1 (62/65). X1: MRN1 born 2024-01-01 (another person, or a typing error). B1: MRN2."""
    make_run(store, clock, "A1", chlorides=(45, 48))
    clock.sleep(timedelta(days=5).total_seconds())
    make_run(store, clock, "A2", chlorides=(62, 65))
    _link(store, clock, "A2", "A1", "intermediate")
    make_run(store, clock, "X1", chlorides=(20, 22), dob=OTHER_DOB)
    make_run(store, clock, "B1", patient={"mrn": "MRN2"})


built_source, lab = backends.built_store(_build_lab, "lab")  # both backends; each test on its own copy


def test_the_history_lists_the_patients_tests_and_names_a_conflicting_date_of_birth(lab):
    h = history(lab, "MRN1", DOB)
    assert [t["run_id"] for t in h.tests] == ["A1", "A2"]
    a1, a2 = h.tests
    assert a1["date"] == "2026-11-20" and a2["date"] == "2026-11-25"
    assert [(s["site"], s["value_mmol_l"]) for s in a2["sites"]] == [("left_forearm", 62), ("right_forearm", 65)]
    assert a1["category"] == "intermediate" and a2["category"] == "cf_likely"
    assert a1["repeat_of"] is None
    assert a2["repeat_of"]["run_id"] == "A1" and a2["repeat_of"]["reason"] == "intermediate"
    assert h.conflicts == [{"dob": OTHER_DOB, "run_ids": ["X1"]}]
    assert conflicts(lab) == [{"mrn": "MRN1", "dobs": {DOB: ["A1", "A2"], OTHER_DOB: ["X1"]}}]


def test_the_history_command_in_a_table_and_in_json(lab, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["patient", "history", "MRN1", "--dob", DOB, "--db", lab.url]) == 0
    out = capsys.readouterr().out
    assert "2 sweat tests" in out and "left forearm: 62 mmol/L" in out and "repeat of A1 (intermediate)" in out
    assert "POSSIBLE IDENTITY CONFLICT" in out and "X1" in out
    assert qa_main(monkeypatch, ["patient", "history", "MRN1", "--dob", DOB, "--db", lab.url, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [t["accession"] for t in doc["tests"]] == ["ST-A1", "ST-A2"]


@pytest.mark.parametrize("dob", ["2025-13-01", "01/06/2025", "yesterday"])
def test_a_bad_date_of_birth_is_one_line(lab, capsys, dob, monkeypatch):
    assert qa_main(monkeypatch, ["patient", "history", "MRN1", "--dob", dob, "--db", lab.url]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "YYYY-MM-DD" in err


def test_a_repeat_must_be_of_a_stored_run_of_the_same_patient(lab):
    with pytest.raises(ValidationError, match="already has run A1"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, None)
    with pytest.raises(ValidationError, match="no such run"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("R-NOPE", "qns"))
    with pytest.raises(ValidationError, match="another patient"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("X1", "qns"))
    with pytest.raises(ValidationError, match="another patient"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("B1", "qns"))
    with pytest.raises(ValidationError, match="repeat reason 'because'"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("A1", "because"))
    with pytest.raises(ValidationError, match="say why in the note"):
        check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("A1", "other"))
    assert check_repeat(lab, "ST-A1", "MRN1", DOB, RepeatOf("A1", "qns")) == RepeatOf("A1", "qns")
    assert check_repeat(lab, "ST-NEW", "MRN1", DOB, None) is None  # a new accession need not be a repeat


def test_the_report_prints_the_earlier_tests_and_the_repeat_link(lab):
    record = stored_record(lab, "A2", lab.clock)
    assert record.repeat_of["run_id"] == "A1" and [t["run_id"] for t in record.earlier_tests] == ["A1"]
    html = render_html(record)
    assert "Earlier sweat tests of this patient" in html
    assert "2026-11-20" in html and "ST-A1" in html
    assert "Repeat of run A1" in html and "intermediate result" in html
    assert "Earlier sweat tests" not in render_html(stored_record(lab, "A1", lab.clock))  # the first test: none


def test_the_change_on_a_cftr_modulator_from_the_last_pre_treatment_value(lab):
    lab.clock.sleep(timedelta(days=45).total_seconds())  # 2027-01-09, on treatment since 2026-12-01
    make_run(lab, lab.clock, "M1", chlorides=(30, 28),
             order_extra={"cftr_modulator": "elexacaftor/tezacaftor/ivacaftor", "modulator_start": "2026-12-01"})
    change = stored_record(lab, "M1", lab.clock).modulator
    assert change["baseline"]["run_id"] == "A2"  # the latest before the start, not A1
    assert [(r["site"], r["before"], r["now"], r["change"]) for r in change["rows"]] == [
        ("left_forearm", 62, 30, -32), ("right_forearm", 65, 28, -37)]
    assert "without interpretation" in change["note"]
    html = render_html(stored_record(lab, "M1", lab.clock))
    assert "elexacaftor/tezacaftor/ivacaftor" in html and "−32 mmol/L" in html


def test_a_changed_repeat_link_is_named_by_audit_verify(lab):
    assert verify(lab).intact
    _tamper(lab, "UPDATE repeat_links SET reason = 'clinician_request' WHERE run_id = 'A2'")
    result = verify(lab)
    assert (result.intact, result.table) == (False, "repeat_links") and "changed" in result.problem
    assert "run A2" in result.row


def test_a_repeat_link_cannot_be_changed_through_the_database(lab):
    with pytest.raises(sa.exc.DatabaseError), lab.engine.begin() as conn:
        conn.execute(sa.text("UPDATE repeat_links SET reason = 'qns'"))


def test_the_hl7_result_carries_the_repeat_link(lab):
    from sweattest.outputs.lims.hl7 import render_oru

    message = render_oru(stored_record(lab, "A2", lab.clock), sent_at=lab.clock.utcnow())
    assert "NTE|" in message and "Repeat of accession ST-A1 (run A1, 2026-11-20): intermediate result" in message


def test_the_pdf_report_prints_the_earlier_results_with_their_dates(lab):
    import io

    import pypdf

    from sweattest.outputs.report import render_pdf

    pdf = render_pdf(stored_record(lab, "A2", lab.clock))
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Earlier sweat tests of this patient" in text
    assert "2026-11-20 ST-A1" in text and "45 mmol/L" in text


def test_a_run_whose_date_of_birth_is_amended_joins_the_patient(lab):
    from sweattest.record.signoff import amend, sign
    from sweattest.record.users import add_user

    add_user(lab, "tech1", "Tina Tech", "tech", "tech password")
    add_user(lab, "rev1", "Rita Reviewer", "reviewer", "review password")
    sign(lab, lab.clock, "X1", "tech1", "tech password", "performed")
    sign(lab, lab.clock, "X1", "rev1", "review password", "reviewed")
    amend(lab, lab.clock, "X1", "rev1", "review password", changes={"patient.dob": DOB},
          reason="date of birth typed wrong")
    h = history(lab, "MRN1", DOB)
    assert [t["run_id"] for t in h.tests] == ["A1", "A2", "X1"] and h.conflicts == []
    assert conflicts(lab) == []


def test_a_store_from_before_migration_17_gets_the_dates_of_birth_and_verifies(store_url, clock):
    from sweattest.record.store.store import Store

    store = Store(store_url, clock)
    make_run(store, clock, "OLD1", dob=OTHER_DOB)
    with store.engine.begin() as conn:  # the store as it was at migration 12
        conn.execute(sa.text("DROP TABLE repeat_links"))
        conn.execute(sa.text("DROP INDEX ix_runs_patient"))
        conn.execute(sa.text("ALTER TABLE runs DROP COLUMN patient_dob"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 17"))
    store.close()
    store = Store(store_url, clock)
    try:
        assert store.get_run("OLD1")["patient_dob"] == OTHER_DOB
        assert [t["run_id"] for t in history(store, "MRN1", OTHER_DOB).tests] == ["OLD1"]
        assert verify(store).intact  # the run's row hash does not include the copied date of birth
    finally:
        store.close()
