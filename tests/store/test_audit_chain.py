"""The audit trail: every change is chained; edits, deletions and reordering behind the program's back
are caught by `sweattest audit verify` on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sweattest.audit import format_entry, history, verify
from sweattest.cli import audit as audit_cli
from sweattest.store.auditlog import canonical_entry
from sweattest.store.values import canonical_json

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def make_history(store, runs=3):
    for i in range(runs):
        store.create_run(f"R{i}", accession=f"A{i}", method="macroduct", operator="amy", patient_mrn="M",
                         created_at=T0 + timedelta(minutes=i), order={"patient": {"dob": "2020-01-01"}})
        store.set_run_state(f"R{i}", "stimulating", T0 + timedelta(minutes=i, seconds=30))
    store.audit(who="qa1", what="comment", at=T0 + timedelta(hours=1), run_id="R1", why="reviewed logbook",
                new={"note": "Ünïcode ok"})


def tamper(store, *statements):
    """Run SQL as someone with direct database access would, bypassing the append-only triggers."""
    drop = _trigger_sql(store.backend)
    with store.engine.begin() as conn:
        for s in drop:
            conn.exec_driver_sql(s)
        for s in statements:
            conn.exec_driver_sql(s)


def _trigger_sql(backend):
    if backend == "postgresql":
        return ["DROP TRIGGER audit_no_change ON audit"]
    return ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"]


def cli(store, *argv):
    parser = __import__("argparse").ArgumentParser()
    audit_cli.register(parser.add_subparsers())
    args = parser.parse_args(["audit", *argv, "--db", store.engine.url.render_as_string(hide_password=False)])
    return args.func(args)


def test_changes_are_audited_and_chain_is_intact(store, capsys):
    make_history(store)
    result = verify(store)
    assert result.intact and result.entries == 7
    assert cli(store, "verify") == 0
    assert "audit trail intact: 7 entries" in capsys.readouterr().out


def test_empty_trail_is_intact(store):
    assert verify(store).intact and verify(store).entries == 0


def test_canonical_form_is_canonical_json_of_the_entry(store):
    make_history(store)
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT id, run_id, who, what, at, why, old, new FROM audit WHERE id = 7").one()
    as_dict = {"id": row[0], "run_id": row[1], "who": row[2], "what": row[3], "at": row[4], "why": row[5],
               "old": None, "new": json.loads(row[7])}
    assert canonical_entry(*row) == canonical_json(as_dict)


def test_direct_update_is_refused_by_the_database(store):
    make_history(store)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit SET who = 'eve' WHERE id = 2")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit WHERE id = 2")
    assert verify(store).intact


@pytest.mark.parametrize("statements, broken_at, words", [
    (["UPDATE audit SET who = 'eve' WHERE id = 3"], 3, "edited"),
    (["UPDATE audit SET new = '{\"state\":\"reported\"}' WHERE id = 2"], 2, "edited"),
    (["UPDATE audit SET at = '2026-11-20T08:00:00.000000Z' WHERE id = 5"], 5, "edited"),
    (["DELETE FROM audit WHERE id = 4"], 4, "missing"),
    (["DELETE FROM audit WHERE id = 1"], 1, "missing"),
    # swap two entries' positions, keeping each one's own hash
    (["UPDATE audit SET id = 100 WHERE id = 3", "UPDATE audit SET id = 3 WHERE id = 4",
      "UPDATE audit SET id = 4 WHERE id = 100"], 3, "does not link"),
    # swap the contents of two entries but keep the ids and hashes in place
    (["UPDATE audit SET what = CASE id WHEN 2 THEN 'run created' ELSE 'state changed' END, "
      "old = CASE id WHEN 2 THEN NULL ELSE '{\"state\":\"created\"}' END WHERE id IN (1, 2)"], 1, "edited"),
])
def test_tampering_is_caught_at_the_first_broken_link(store, capsys, statements, broken_at, words):
    make_history(store)
    tamper(store, *statements)
    result = verify(store)
    assert not result.intact
    assert result.broken_at == broken_at and words in result.broken
    assert cli(store, "verify") == 1
    out = capsys.readouterr().out
    assert f"BROKEN at entry {broken_at}" in out


def test_audit_entry_commits_with_the_change_it_records(store):
    make_history(store, runs=1)
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            store.audit(who="amy", what="note", at=T0, run_id="R0", conn=conn)
            raise RuntimeError("the change failed")
    assert [e["what"] for e in history(store, "R0")] == ["run created", "state changed"]
    assert verify(store).intact


def test_show_prints_a_runs_history_readably(store, capsys):
    make_history(store)
    assert cli(store, "show", "R1") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run R1  accession A1")
    assert "amy  state changed  state: created -> stimulating" in out[2]
    assert "qa1  comment  note=Ünïcode ok  because: reviewed logbook" in out[3]
    assert out[1].strip().startswith("2026-11-20 09:01:00Z")


def test_show_unknown_run(store, capsys):
    assert cli(store, "show", "nope") == 1
    assert "no run nope" in capsys.readouterr().out


def test_format_entry_with_plain_values():
    entry = {"id": 1, "at": T0, "who": "a", "what": "x", "why": None, "old": 1, "new": 2}
    assert format_entry(entry) == "2026-11-20 09:00:00Z  #1  a  x  1 -> 2"
