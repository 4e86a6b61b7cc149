"""The tamper suite, on SQLite and on PostgreSQL alike: a store holding a row of every table of the record, each
table changed behind the program's back as someone with the database owner's rights would (the guards dropped,
the row edited or removed, the guards put back), and `audit verify` naming the first row that no longer matches.
Also: TRUNCATE and DELETE refused by the database, a guard dropped or disabled, every table accounted for."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from sweattest.core.config import LabConfig
from sweattest.core.errors import AuthError
from sweattest.core.protocol import load_protocol
from sweattest.lis.worklist import receive
from sweattest.qa.pt import grade_event
from sweattest.record import outbox
from sweattest.record import proficiency as pt
from sweattest.record.audit import verify
from sweattest.record.calibrations import add_calibration
from sweattest.record.competency import add_record
from sweattest.record.equipment import add_entry
from sweattest.record.qc_lots import seed_initial_lots
from sweattest.record.qc_verdicts import CORRECTIVE_ACTION, add_action
from sweattest.record.repeats import RepeatOf, record_repeat
from sweattest.record.signoff import amend, sign
from sweattest.record.skin_reactions import record_skin_reaction
from sweattest.record.store import guards, schema
from sweattest.record.store.rowhash import COLUMNS, OUTSIDE, SOURCE
from sweattest.record.store.verify_rows import ORDER
from sweattest.record.users import add_user, authenticate, disable_user
from tests.lis.messages import orm
from tests.store import backends
from tests.store.backends import make_run
from tests.store.test_record_chain import _drop_guards, _replace_in_json, _restore_guards, _tamper

DOCS = Path(__file__).resolve().parents[2] / "docs" / "store.md"


def _sample(i: int) -> dict:
    return {"site": "left_forearm", "kind": "stimulation_sample", "t": i / 10,
            "data": {"t": i / 10, "i": {"value": 1.5, "unit": "mA"}}}


def _build_everything(store, clock):
    """A row in every table of the record: two LIS orders (one started by R1) and their messages, R1 reported,
    signed and amended with readings sealed and pending, R2 a repeat of R1, controls and lots, a calibration, the
    equipment log, skin reactions, a competency record, a graded PT event with its corrective action, an outbox
    message delivered and one pending, and a reviewer with a wrong password counted against her."""
    backends.add_staff(store)
    add_user(store, "idle1", "Ida Idle", "tech", "idle password")
    config = LabConfig()
    receive(store, clock, orm(control="MSG1", placer="ST-R1", mrn="MRN1"), config)
    receive(store, clock, orm(control="MSG2", placer="ACC-2", mrn="MRN2"), config)
    make_run(store, clock)
    with store.writing() as conn:
        from sweattest.record.worklist import mark_started
        mark_started(conn, "ST-R1", "R1", clock.utcnow(), "tech1")
    store.append_readings("R1", [_sample(i) | {"at": clock.utcnow()} for i in range(10)])
    sign(store, clock, "R1", "tech1", "tech password", "performed")
    sign(store, clock, "R1", "rev1", "review password", "reviewed")
    amend(store, clock, "R1", "rev1", "review password", changes={"comment": "haemolysed"}, reason="comment")
    make_run(store, clock, "R2", accession="ST-R1")
    with store.writing() as conn:
        record_repeat(conn, "R2", RepeatOf("R1", "intermediate"), "tech1", clock.utcnow())
    store.create_run("R3", accession="ST-R3", method="macroduct", operator="tech1", patient_mrn="MRN3",
                     created_at=clock.utcnow(), order={"accession": "ST-R3", "sites": ["left_forearm"]},
                     protocol=load_protocol("macroduct"))
    seed_initial_lots(store)
    add_calibration(store, instrument="CL-9", role="analyzer", kind="calibration", outcome="fail",
                    performed_on=date(2026, 11, 19), interval_days=30, who="tech1", notes="standard read 91")
    add_entry(store, instrument="CL-9", role="analyzer", kind="out_of_service", on=date(2026, 11, 19),
              text="standard read 91", who="tech1", who_role="tech")
    record_skin_reaction(store, "R1", "left_forearm", ("burn", "5 mm burn at the anode"), who="tech1",
                         at=clock.utcnow())
    add_record(store, operator="tech1", kind="assessment", what="Macroduct collection, observed",
               done_on="2026-11-02", assessor="Rita Reviewer", outcome="fail", next_due="2027-11-02",
               recorded_by="rev1", at=clock.utcnow())
    pt.add_event(store, provider="UK NEQAS", scheme="Sweat", event_code="NQ-1", received_on="2026-11-02",
                 due_on="2026-11-30", who="rev1")
    pt.add_sample(store, event_code="NQ-1", sample_id="NQ-1-A", who="rev1")
    pt.set_targets(store, sample_id="NQ-1-A", target="40", low="35", high="45", who="rev1")
    grade_event(store, "NQ-1", clock, who="rev1")
    pt.add_corrective_action(store, event_code="NQ-1", found="no result returned", done="retrained",
                             done_by="Rita Reviewer", done_on="2026-11-25", who="rev1")
    for version, body in ((1, "MSH|first\r"), (2, "MSH|second\r")):
        with store.writing() as conn:
            message = outbox.queue(conn, run_id="R1", version=version, fmt="hl7", channel=outbox.MLLP,
                                   destination="lis:2575", name=f"R1_v{version}.hl7", control_id=f"C{version}",
                                   body=body, at=clock.utcnow(), who="rev1")
    outbox.delivered(store, message - 1, clock.utcnow())
    with pytest.raises(AuthError):
        authenticate(store, "rev1", "not her password")
    clock.sleep(86400)  # the next day: an analytical run rejected by its controls, and its corrective action
    make_run(store, clock, "R4", accession="ST-R4", qc="rejected")
    held = next(e.data["qc_run"] for e in store.events("R4") if e.kind == "analyze")
    add_action(store, held, CORRECTIVE_ACTION, "control lot re-made and the analyzer recalibrated", who="rev1")
    store.append_readings("R1", [_sample(i) | {"at": clock.utcnow()} for i in range(10, 15)])  # not sealed yet
    assert verify(store).intact


built_source, everything = backends.built_store(_build_everything, "everything")  # both backends


def _first(table: str, where: str = "1 = 1") -> str:
    key = COLUMNS[table][0]
    return f'SELECT min("{key}") FROM {SOURCE.get(table, table)} WHERE {where}'


#: (chained table or view, the table verify names, the query of the row changed, the change behind the back)
CASES = [
    ("runs", "runs", "SELECT 'R1'", "UPDATE runs SET patient_mrn = 'MRNZZZ' WHERE run_id = :key"),
    ("run_state", "runs", "SELECT 'R1'", "UPDATE runs SET state = 'aborted' WHERE run_id = :key"),
    ("run_state", "runs", "SELECT 'R1'", "UPDATE runs SET qns = :yes WHERE run_id = :key"),
    ("users", "users", "SELECT 'tech1'", "UPDATE users SET role = 'admin' WHERE username = :key"),
    ("user_access", "users", "SELECT 'rev1'", "UPDATE users SET failed_passwords = 0 WHERE username = :key"),
    ("user_access", "users", "SELECT 'rev1'",
     "UPDATE users SET password_changed_at = '2099-01-01T00:00:00.000000Z' WHERE username = :key"),
    ("events", "events", _first("events", "kind = 'analyze'"), "UPDATE events SET t = 1 WHERE id = :key"),
    ("reading_blocks", "reading_blocks", _first("reading_blocks"),
     "UPDATE reading_blocks SET t_first = 9 WHERE id = :key"),
    ("readings_pending", "readings_pending", _first("readings_pending"),
     "UPDATE readings_pending SET t_last = 99 WHERE id = :key"),
    ("result_versions", "result_versions", _first("result_versions"),
     "UPDATE result_versions SET reason = 'typo' WHERE id = :key"),
    ("signatures", "signatures", "SELECT max(id) FROM signatures", "DELETE FROM signatures WHERE id = :key"),
    ("qc_results", "qc_results", _first("qc_results"), "UPDATE qc_results SET value = 77.5 WHERE id = :key"),
    ("qc_lots", "qc_lots", _first("qc_lots"), "UPDATE qc_lots SET target_sd = 5 WHERE id = :key"),
    ("calibrations", "calibrations", _first("calibrations"),
     "UPDATE calibrations SET outcome = 'pass' WHERE id = :key"),
    ("equipment_log", "equipment_log", _first("equipment_log"), "DELETE FROM equipment_log WHERE id = :key"),
    ("skin_reactions", "skin_reactions", _first("skin_reactions"),
     "UPDATE skin_reactions SET grade = 'none' WHERE id = :key"),
    ("competency_records", "competency_records", _first("competency_records"),
     "UPDATE competency_records SET outcome = 'pass' WHERE id = :key"),
    ("pt_events", "pt_events", _first("pt_events"), "UPDATE pt_events SET due_on = '2027-01-01' WHERE id = :key"),
    ("pt_samples", "pt_samples", _first("pt_samples"), "UPDATE pt_samples SET who = 'x' WHERE id = :key"),
    ("pt_targets", "pt_targets", _first("pt_targets"), "UPDATE pt_targets SET low = 10 WHERE id = :key"),
    ("pt_grades", "pt_grades", _first("pt_grades"), "UPDATE pt_grades SET grade = 'acceptable' WHERE id = :key"),
    ("pt_corrective_actions", "pt_corrective_actions", _first("pt_corrective_actions"),
     "DELETE FROM pt_corrective_actions WHERE id = :key"),
    ("repeat_links", "repeat_links", _first("repeat_links"),
     "UPDATE repeat_links SET reason = 'qns' WHERE id = :key"),
    ("qc_verdicts", "qc_verdicts", _first("qc_verdicts", "verdict = 'rejected'"),
     "UPDATE qc_verdicts SET verdict = 'accepted' WHERE id = :key"),
    ("qc_actions", "qc_actions", _first("qc_actions"), "DELETE FROM qc_actions WHERE id = :key"),
    ("lis_orders", "lis_orders", _first("lis_orders", "placer = 'ACC-2'"),
     "UPDATE lis_orders SET mrn = 'MRNZZZ' WHERE id = :key"),
    ("lis_orders", "lis_orders", _first("lis_orders", "placer = 'ST-R1'"),
     "UPDATE lis_orders SET state = 'open', run_id = NULL WHERE id = :key"),
    ("lis_messages", "lis_messages", _first("lis_messages"),
     "UPDATE lis_messages SET ack_code = 'AE' WHERE id = :key"),
    ("outbox", "outbox", _first("outbox", "state = 'pending'"),
     "UPDATE outbox SET body = 'MSH|forged' WHERE id = :key"),
    ("outbox", "outbox", _first("outbox", "state = 'delivered'"),
     "UPDATE outbox SET state = 'pending', delivered_at = NULL WHERE id = :key"),
]


def _key(store, query: str):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(query)).scalar_one()


@pytest.mark.parametrize("chained, named, query, statement", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_table_changed_behind_the_programs_back_is_named(everything, chained, named, query, statement):
    key = _key(everything, query)
    _tamper(everything, statement, **({"key": key} | ({"yes": True} if ":yes" in statement else {})))
    result = verify(everything)
    assert not result.intact and result.table == named, result.message()
    assert result.row.split(" ")[0] == str(key), result.message()
    assert ("removed" if statement.startswith("DELETE") else "changed") in result.problem
    if chained in SOURCE:  # the columns apart from the content are named
        assert COLUMNS[chained][1] in result.problem


def test_the_worklist_mrn_changed_with_its_order_is_named(everything):
    """The finding: the MRN of an open order changed in the column and in the order as received (what the
    wristband check compares against)."""
    key = _key(everything, _first("lis_orders", "placer = 'ACC-2'"))
    _replace_in_json(everything, "lis_orders", "order_json", "MRN2", "MRNZZZ", "id = :id", id=key)
    _tamper(everything, "UPDATE lis_orders SET mrn = 'MRNZZZ' WHERE id = :key", key=key)
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, "lis_orders", str(key))


def test_a_row_slipped_into_a_table_whose_rows_change_is_named(everything):
    _tamper(everything, "INSERT INTO outbox (run_id, version, format, channel, destination, name, control_id, body, "
                        "state, attempts, created_at) VALUES ('R1', 9, 'hl7', 'mllp', 'lis:2575', 'x.hl7', 'C9', "
                        "'MSH|x', 'pending', 0, '2026-11-20T09:00:00.000000Z')")
    result = verify(everything)
    assert (result.intact, result.table) == (False, "outbox") and "not in the chain" in result.problem


@pytest.mark.parametrize("table, query", [("runs", "SELECT 'R3'"), ("users", "SELECT 'idle1'"),
                                          ("lis_orders", "SELECT max(id) FROM lis_orders"),
                                          ("outbox", "SELECT max(id) FROM outbox")])
def test_rows_that_change_are_never_removed(everything, table, query):
    """DELETE is refused by the database; with the guards dropped, the removed row is named."""
    key = _key(everything, query)
    statement = f'DELETE FROM {table} WHERE "{COLUMNS[table][0]}" = :key'
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with everything.engine.begin() as conn:
            conn.execute(sa.text(statement), {"key": key})
    _tamper(everything, statement, key=key)
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, table, str(key)), result.message()
    assert "removed" in result.problem


def test_truncate_is_refused_on_every_table_of_the_record(everything):
    if everything.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is refused by the row guards)")
    for table in guards.TRUNCATE_GUARDED:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with everything.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    assert verify(everything).intact


def test_a_truncated_worklist_and_outbox_are_named(everything):
    """With the guards dropped: the tables emptied (TRUNCATE on PostgreSQL, DELETE on SQLite)."""
    first = _key(everything, "SELECT min(id) FROM lis_orders")
    with everything.engine.begin() as conn:
        _drop_guards(conn)
        for table in ("outbox", "lis_messages", "lis_orders"):
            conn.execute(sa.text(f"TRUNCATE {table}" if conn.dialect.name == "postgresql" else f"DELETE FROM {table}"))
        _restore_guards(conn)
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, "lis_orders", str(first))
    assert "removed" in result.problem


def test_a_guard_dropped_or_disabled_is_named(everything):
    with everything.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE outbox DISABLE TRIGGER outbox_no_delete"))
        else:
            conn.execute(sa.text("DROP TRIGGER outbox_no_delete"))
    result = verify(everything)
    assert not result.intact and "outbox_no_delete" in result.expected and "guards" in result.message()


def test_every_table_is_chained_or_kept_outside_with_its_reason_in_the_docs():
    """A new table must be chained (``rowhash.COLUMNS``, checked by verify) or listed outside with its reason; and
    docs/store.md says what protects each."""
    chained = {SOURCE.get(t, t) for t in COLUMNS} - {"readings"}
    assert set(schema.metadata.tables) - {"readings"} == chained | set(OUTSIDE) | {"audit", "audit_head"}
    assert set(ORDER) == set(COLUMNS) - {"readings"}
    assert {c[0] for c in CASES} == set(ORDER)  # a tamper case for each
    protected = re.search(r"\n### What protects each table\n(.*?)\n#", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    firsts = re.findall(r"^\| ([^|]+) \|", protected, re.M)  # the first column of each row
    listed = {name for first in firsts for name in re.findall(r"`(\w+)`", first)}
    assert listed == set(schema.metadata.tables)


def test_triggers_skipped_for_a_session_do_not_hide_an_edit(everything):
    """PostgreSQL: a superuser's session can skip every trigger (``session_replication_role = replica``) without
    dropping any; the guards are still in place, and the edit is still named."""
    if everything.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    key = _key(everything, _first("outbox", "state = 'pending'"))
    first = _key(everything, "SELECT min(id) FROM lis_messages")
    with everything.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("UPDATE outbox SET body = 'MSH|forged' WHERE id = :key"), {"key": key})
        conn.execute(sa.text("DELETE FROM lis_messages"))
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, "lis_messages", str(first))
    assert "removed" in result.problem


@pytest.mark.parametrize("statement, table, key", [
    ("UPDATE users SET active = 0.5 WHERE username = 'gone1'", "users", "gone1"),  # a disabled user signs in again
    ("UPDATE runs SET qns = 0.5 WHERE run_id = 'R1'", "runs", "R1"),  # a measured result read as QNS
])
def test_a_false_flag_stored_as_a_value_sqlite_reads_as_true_is_named(everything, statement, table, key):
    """SQLite keeps any value in a boolean column: 0.5 (or '0x') is read by the program as true, while
    CAST(... AS INTEGER) makes it 0 again. A disabled user set to 0.5 behind the program's back could sign in."""
    if everything.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's boolean holds true and false only")
    add_user(everything, "gone1", "Gone User", "tech", "gone password")
    disable_user(everything, "gone1", actor="admin")
    with everything.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT qns FROM runs WHERE run_id = 'R1'")).scalar_one() in (0, False)
    _tamper(everything, statement)
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, table, key), result.message()


def test_the_head_row_removed_is_named_not_a_crash(everything):
    """The head row holds where the chain ends; with it deleted, verify says so (it used to stop on an
    exception)."""
    with everything.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_head"))
    result = verify(everything)
    assert (result.intact, result.table) == (False, "audit_head"), result.message()
    assert "removed" in result.problem


def test_a_chained_column_dropped_is_named_not_a_crash(everything):
    """ALTER TABLE ... DROP COLUMN with owner rights: the table no longer reads as chained; verify names it."""
    with everything.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(sa.text("ALTER TABLE outbox DROP COLUMN last_error"))
        _restore_guards(conn)
    result = verify(everything)
    assert (result.intact, result.table) == (False, "outbox"), result.message()


def _planted(conn) -> None:
    """A trigger that rewrites what the program writes: the program would chain the forged value as written."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE FUNCTION forge() RETURNS trigger AS $$ BEGIN NEW.mrn := 'MRNZZZ'; RETURN NEW; "
                             "END $$ LANGUAGE plpgsql"))
        conn.execute(sa.text("CREATE TRIGGER forge BEFORE INSERT ON lis_orders FOR EACH ROW EXECUTE FUNCTION forge()"))
    else:
        conn.execute(sa.text("CREATE TRIGGER forge AFTER INSERT ON lis_orders BEGIN "
                             "UPDATE lis_orders SET mrn = 'MRNZZZ' WHERE id = NEW.id; END"))


def _neutered(conn) -> None:
    """The guards left in place by name, made to do nothing."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE OR REPLACE FUNCTION record_append_only() RETURNS trigger AS $$ BEGIN "
                             "RETURN NEW; END $$ LANGUAGE plpgsql"))
    else:
        conn.execute(sa.text("DROP TRIGGER users_no_delete"))
        conn.execute(sa.text("CREATE TRIGGER users_no_delete BEFORE DELETE ON users WHEN 0 BEGIN "
                             "SELECT RAISE(ABORT, 'the record is append-only: delete refused on users'); END"))


def _rule(conn) -> None:
    """PostgreSQL: a rule that rewrites what the program writes, as a planted trigger would."""
    if conn.dialect.name != "postgresql":
        pytest.skip("rules are PostgreSQL's")
    conn.execute(sa.text("CREATE RULE forge AS ON UPDATE TO lis_orders WHERE NEW.state = 'started' "
                         "DO ALSO UPDATE lis_orders SET mrn = 'MRNZZZ' WHERE id = NEW.id"))


@pytest.mark.parametrize("change", [_planted, _neutered, _rule])
def test_a_trigger_planted_or_a_guard_made_to_do_nothing_is_named(everything, change):
    with everything.engine.begin() as conn:
        change(conn)
    result = verify(everything)
    assert not result.intact and "not the program's guards" in result.problem, result.message()
    assert ("users_no_delete" if change is _neutered else "forge") in result.found


@pytest.mark.parametrize("value", ["'1999-01-01'", "NULL"])
def test_the_date_of_birth_copied_beside_the_mrn_is_checked_against_the_chained_order(everything, value):
    """``runs.patient_dob`` is outside the run's hash, but the bench finds a patient's earlier runs by it and QA
    its identity conflicts: changed behind the program's back, a patient's earlier test would vanish from the
    bench. verify compares it with the date of birth of the run's chained order."""
    _tamper(everything, f"UPDATE runs SET patient_dob = {value} WHERE run_id = 'R1'")
    result = verify(everything)
    assert (result.intact, result.table, result.row) == (False, "runs", "R1"), result.message()
    assert "patient_dob" in result.problem
