"""The whole record under the chain: a change made behind the program's back to any row that makes up a
result (events, readings, the run and its order, signatures, result versions, users) is caught by
`sweattest audit verify`, which names the table and the row, on both backends."""

import pytest
import sqlalchemy as sa

from sweattest.cli.main import main
from sweattest.record.audit import verify
from sweattest.record.signoff import amend, sign
from sweattest.record.store import guards
from tests.store import backends
from tests.store.backends import make_run

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def _build_signed(staff, clock):
    """R1 with readings, reported (performed and reviewed signatures) and amended once (version 2)."""
    backends.add_staff(staff)
    make_run(staff, clock, chlorides=(45, 48))
    staff.append_readings("R1", [{"site": "left_forearm", "kind": "stimulation_sample", "at": clock.utcnow(),
                                  "t": i / 10, "data": {"t": i / 10, "i": {"value": 1.5, "unit": "mA"}}}
                                 for i in range(10)])
    sign(staff, clock, "R1", "tech1", "tech password", "performed")
    sign(staff, clock, "R1", "rev1", "review password", "reviewed")
    amend(staff, clock, "R1", "rev1", "review password", changes={"comment": "haemolysed"}, reason="comment")
    assert verify(staff).intact


built_source, signed = backends.built_store(_build_signed, "signed")  # both backends; each test on its own copy


def _drop_guards(conn):
    for name in guards.present(conn):
        if conn.dialect.name == "postgresql":
            table = conn.execute(sa.text("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                         "WHERE t.tgname = :n AND c.relnamespace = current_schema()::regnamespace"),
                                 {"n": name}).scalar_one()
            conn.execute(sa.text(f"DROP TRIGGER {name} ON {table}"))
        else:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))


def _restore_guards(conn):
    """Put the guards back as they were, so only the change itself is left to catch."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP FUNCTION record_append_only()"))
        conn.execute(sa.text("CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
                             "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"))
    else:
        from sweattest.record.store.migrations import APPEND_ONLY

        for statement in APPEND_ONLY["sqlite"]:
            conn.execute(sa.text(statement))
    guards.create_all(conn)


def _tamper(store, statement, **params):
    """Change the record behind the program's back: drop the guards (owner rights), change, restore them."""
    with store.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(sa.text(statement), params)
        _restore_guards(conn)


def _replace_in_json(store, table, column, old, new, where="1 = 1", **params):
    """Replace text inside a JSON column, on either backend (PostgreSQL keeps JSON as json)."""
    if store.engine.dialect.name == "postgresql":
        value = f"replace({column}::text, :old, :new)::json"
    else:
        value = f"replace({column}, :old, :new)"
    _tamper(store, f"UPDATE {table} SET {column} = {value} WHERE {where}", old=old, new=new, **params)


def _id(store, sql, **params):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_an_untouched_record_verifies_intact(signed):
    result = verify(signed)
    assert result.intact and result.rows >= 1 + 2 + 10 + 1 + 3  # run, users, readings, version, signatures
    assert "rows of the record match the chain" in result.message()


def test_an_analyzed_chloride_changed_in_the_events_is_caught(signed):
    """The finding: 45/48 'intermediate' turned into 25/25 'CF unlikely' by editing the events."""
    analyses = [_id(signed, "SELECT id FROM events WHERE kind = 'analyze' AND site = :s", s=s)
                for s in ("left_forearm", "right_forearm")]
    for event_id, old in zip(analyses, ("45", "48"), strict=True):
        _replace_in_json(signed, "events", "data", f'"value": {old}', '"value": 25', "id = :id", id=event_id)
    result = verify(signed)
    assert not result.intact and (result.table, result.row) == ("events", f"{analyses[0]} (run R1)")
    assert "changed" in result.problem


def test_the_patient_in_the_order_changed_is_caught(signed):
    _replace_in_json(signed, "runs", "order_json", "MRN1", "MRN2")
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, "runs", "R1")


def test_a_reading_changed_is_caught(signed):
    block = _id(signed, "SELECT min(id) FROM reading_blocks")
    _tamper(signed, "UPDATE reading_blocks SET t_first = 9 WHERE id = :id", id=block)
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, "reading_blocks", f"{block} (run R1)")


@pytest.mark.parametrize("table", ["signatures", "result_versions"])
def test_a_deleted_signature_or_result_version_is_caught(signed, table):
    row = _id(signed, f"SELECT max(id) FROM {table}")
    _tamper(signed, f"DELETE FROM {table} WHERE id = :id", id=row)
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, table, str(row))
    assert "removed" in result.problem


def test_a_user_promoted_to_admin_is_caught(signed):
    _tamper(signed, "UPDATE users SET role = 'admin' WHERE username = 'tech1'")
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, "users", "tech1")


def test_an_event_slipped_in_is_caught(signed):
    _tamper(signed, "INSERT INTO events (run_id, seq, kind, site, at, t, data, accepted) "
                    "VALUES ('R1', 99, 'note', NULL, '2026-11-20T10:00:00.000000Z', 1, '{}', :a)", a=True)
    result = verify(signed)
    assert (result.intact, result.table) == (False, "events") and "not in the chain" in result.problem


def test_a_removed_guard_is_caught(signed):
    with signed.engine.begin() as conn:
        trigger = sorted(guards.present(conn))[-1]
        on = (f" ON {trigger.rsplit('_no_', 1)[0]}" if conn.dialect.name == "postgresql" else "")
        conn.execute(sa.text(f"DROP TRIGGER {trigger}{on}"))
    result = verify(signed)
    assert not result.intact and trigger in result.expected and "guards" in result.message()


def test_truncating_the_record_is_refused_and_a_truncated_trail_is_caught(signed):
    if signed.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with signed.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE audit"))
    # with the guards dropped: the whole trail emptied and its head reset to the start
    _tamper(signed, "DELETE FROM audit")
    _tamper(signed, "UPDATE audit_head SET last_id = 0, last_hash = :h, readings_from = 0, readings_to = 0, "
                    "readings_acc = NULL", h="0" * 64)
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, "runs", "R1")
    assert "not in the chain" in result.problem


def _forge_chain(store):
    """What someone with owner rights and the chain format could do: recompute every event's item and every
    entry's hash after an edit, and the head row."""
    import json

    from sweattest.record.store.chain import canonical_json, entry_hash, entry_text
    from sweattest.record.store.rowhash import range_item

    with store.engine.begin() as conn:
        _drop_guards(conn)
        prev = "0" * 64
        for e in conn.execute(sa.text("SELECT * FROM audit ORDER BY id")).mappings().all():
            rows = e["rows"]
            if rows is not None:
                rows = canonical_json([range_item(conn, *item[:3]) if item[0] == "events" else item
                                       for item in json.loads(rows)])
            prev = entry_hash(prev, entry_text(e["id"], e["run_id"], e["who"], e["what"], e["at"], e["why"],
                                               e["old"], e["new"], rows))
            conn.execute(sa.text("UPDATE audit SET rows = :r, hash = :h WHERE id = :id"), {"r": rows, "h": prev,
                                                                                          "id": e["id"]})
            conn.execute(sa.text("UPDATE audit SET prev_hash = :p WHERE id = :id"), {"p": prev, "id": e["id"] + 1})
        conn.execute(sa.text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
        _restore_guards(conn)


def test_a_signed_result_changed_and_rechained_breaks_its_signature_and_the_head(signed):
    from sweattest.record.audit import head

    kept = head(signed)  # as printed on the report
    event_id = _id(signed, "SELECT id FROM events WHERE kind = 'analyze' AND site = 'left_forearm'")
    _replace_in_json(signed, "events", "data", '"value": 45', '"value": 25', "id = :id", id=event_id)
    _forge_chain(signed)
    result = verify(signed)
    assert (result.intact, result.table) == (False, "signatures")
    assert result.row.endswith("(run R1, performed by tech1)") and "signed changed" in result.problem
    assert head(signed) != kept


def test_verify_command_names_the_first_bad_row_in_one_line(signed, capsys):
    assert main(["audit", "verify", "--db", signed.url]) == 0
    capsys.readouterr()
    _tamper(signed, "UPDATE users SET active = :f WHERE username = 'rev1'", f=False)
    assert main(["audit", "verify", "--db", signed.url]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("audit trail BROKEN at users row rev1: the row was changed")


def test_the_head_is_printed_by_a_command_and_on_the_report(signed, capsys):
    from sweattest.record.stored_record import stored_record

    assert main(["audit", "head", "--db", signed.url]) == 0
    out = capsys.readouterr().out.strip()
    entries = verify(signed).entries
    assert out.startswith(f"audit head: entry {entries} sha256 ") and len(out.rsplit(" ", 1)[1]) == 64
    shown = stored_record(signed, "R1", signed.clock).audit_head
    assert (shown.entry, shown.sha256) == (entries, out.rsplit(" ", 1)[1])


@pytest.mark.parametrize("table, statement", [
    ("qc_lots", "UPDATE qc_lots SET target_sd = 5 WHERE id = :id"),
    ("calibrations", "UPDATE calibrations SET outcome = 'pass' WHERE id = :id"),
    ("equipment_log", "DELETE FROM equipment_log WHERE id = :id"),
])
def test_a_lot_target_a_calibration_or_an_equipment_entry_changed_is_caught(signed, table, statement):
    """A widened SD hides a Westgard rejection; a failed calibration turned to pass, or an out-of-service entry
    removed, lets an instrument be used."""
    from datetime import date

    from sweattest.record.calibrations import add_calibration
    from sweattest.record.equipment import add_entry
    from sweattest.record.qc_lots import seed_initial_lots

    seed_initial_lots(signed)
    add_calibration(signed, instrument="CL-9", role="analyzer", kind="calibration", outcome="fail",
                    performed_on=date(2026, 11, 19), interval_days=30, who="tech1", notes="standard read 91")
    add_entry(signed, instrument="CL-9", role="analyzer", kind="out_of_service", on=date(2026, 11, 19),
              text="standard read 91", who="tech1", who_role="tech")
    assert verify(signed).intact
    row = _id(signed, f"SELECT min(id) FROM {table}")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with signed.engine.begin() as conn:
            conn.execute(sa.text(statement), {"id": row})
    _tamper(signed, statement, id=row)
    result = verify(signed)
    assert (result.intact, result.table, result.row) == (False, table, str(row))
    assert ("removed" if statement.startswith("DELETE") else "changed") in result.problem
