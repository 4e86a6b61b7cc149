"""The audit trail: every event is audited in its own transaction, and any edit, deletion or reordering
made behind the program's back is caught by `sweattest audit verify`, on both backends."""

import threading

import pytest
import sqlalchemy as sa

from sweattest.cli.main import main
from sweattest.core.protocol import load_protocol
from sweattest.record.audit import format_history, history, verify
from sweattest.record.store.store import Store
from tests.conftest import as_performer
from tests.store import backends
from tests.store.backends import START, make_run

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def _build_audited(store, clock):
    make_run(store, clock, sites=("left_forearm",), volumes=(40,), chlorides=(45,))


built_source, audited = backends.built_store(_build_audited, "audited")  # both backends; each test on its own copy


def _bypass_append_only(conn):
    """What someone with owner rights would do first: drop the triggers that refuse UPDATE and DELETE."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_no_change ON audit"))
    else:
        conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_no_update"))
        conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_no_delete"))


def _sql(store, text, **params):
    """Change the trail behind the program's back."""
    with store.engine.begin() as conn:
        _bypass_append_only(conn)
        conn.execute(sa.text(text), params)


@pytest.mark.parametrize("statement", ["update audit set who = 'someone' where id = 3",
                                       "delete from audit where id = 3"])
def test_the_database_refuses_changes_to_the_trail(audited, statement):
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with audited.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert verify(audited).intact


def test_every_event_has_an_audit_entry_and_the_chain_is_intact(audited):
    events = audited.events("R1")
    entries = history(audited, "R1")
    assert [e.what for e in entries] == ["create_run"] + [e.kind for e in events]
    assert {e.who for e in entries} == {"tech1"}
    result = verify(audited)
    controls = 3  # the analytical run's two control results and its verdict, audited outside any patient run
    assert result.intact and result.entries == len(entries) + controls
    rows = 2 + len(events) + controls  # the run (its content and its state), its events, the controls, the verdict
    assert result.message() == (f"audit trail intact: {len(entries) + controls} entries; {rows} rows of the "
                                "record match the chain")


def test_history_reads_as_a_story(audited):
    lines = format_history(history(audited, "R1"))
    assert lines[0].startswith("2026-11-20 09:00:00Z  tech1")
    assert any("analyze" in line and "chloride=45 mmol/l" in line for line in lines)


def test_an_edited_entry_is_caught(audited):
    _sql(audited, "update audit set new = :v where id = 5", v='{"chloride":{"unit":"mmol/L","value":30}}')
    result = verify(audited)
    assert not result.intact and result.broken_id == 5 and "changed" in result.problem
    assert result.entries == 4


def test_an_edited_time_or_author_is_caught(audited):
    _sql(audited, "update audit set who = 'someone' where id = 3")
    assert verify(audited).broken_id == 3


def test_a_deleted_entry_is_caught(audited):
    _sql(audited, "delete from audit where id = 4")
    result = verify(audited)
    assert (result.intact, result.broken_id) == (False, 4)
    assert "entry 4" in result.expected and "entry 5" in result.found


def test_entries_cut_off_the_end_are_caught(audited):
    last = verify(audited).entries
    _sql(audited, "delete from audit where id = :id", id=last)
    result = verify(audited)
    assert not result.intact and "missing at the end" in result.problem


def test_reordered_entries_are_caught(audited):
    _sql(audited, "update audit set id = -1 where id = 3")
    _sql(audited, "update audit set id = 3 where id = 4")
    _sql(audited, "update audit set id = 4 where id = -1")
    assert (verify(audited).intact, verify(audited).broken_id) == (False, 3)


def test_a_relinked_entry_is_caught(audited):
    """Rewriting an entry and its own hash still breaks the next entry's link."""
    from sweattest.record.store.chain import entry_hash, entry_text

    with audited.engine.begin() as conn:
        _bypass_append_only(conn)
        row = conn.execute(sa.text("select * from audit where id = 2")).mappings().one()
        forged = entry_text(2, row["run_id"], "intruder", row["what"], row["at"], row["why"], row["old"], row["new"],
                            row["rows"])
        conn.execute(sa.text("update audit set who = 'intruder', hash = :h where id = 2"),
                     {"h": entry_hash(row["prev_hash"], forged)})
    result = verify(audited)
    assert result.broken_id == 3 and "does not link" in result.problem


def test_verify_command_exit_status(audited, capsys):
    assert main(["audit", "verify", "--db", audited.url]) == 0
    assert capsys.readouterr().out.startswith("audit trail intact: ")
    _sql(audited, "update audit set why = 'nothing happened' where id = 2")
    assert main(["audit", "verify", "--db", audited.url]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at entry 2" in out and "expected hash" in out


def test_show_command_prints_the_history(audited, capsys):
    with as_performer(audited.url) as actor:
        assert main(["audit", "show", "R1", "--db", audited.url, *actor]) == 0
    out = capsys.readouterr().out
    assert "run R1:" in out and "verify_patient" in out and "tech1" in out
    with as_performer(audited.url) as actor:
        assert main(["audit", "show", "nope", "--db", audited.url, *actor]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_two_stations_appending_at_once_keep_one_chain(store_url, clock):
    first = Store(store_url, clock)
    for run_id in ("A", "B"):
        first.create_run(run_id, accession=f"ST-{run_id}", method="macroduct", operator="tech1",
                         patient_mrn="M", created_at=START, order={},
                         protocol=load_protocol("macroduct"))
    errors = []

    def station(run_id):
        s = Store(store_url, clock)
        try:
            for i in range(40):
                s.append_event(run_id, kind="note", site=None, at=START, t=i, data={"actor": run_id, "i": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=station, args=(r,)) for r in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify(first)
    assert result.intact and result.entries == 2 + 80
    first.close()


@pytest.mark.parametrize("who, what, why, run_id", [
    ("tech1", "create_run", None, "R1"),
    ('qu"o\\te', "ünï\u00e9 \u2028 \t\n\x01", "because \ud83d\ude00", None),
])
def test_entry_text_is_the_canonical_json_of_the_entry(who, what, why, run_id):
    from sweattest.record.store.chain import canonical_json, entry_text

    old, new = {"a": [1, None, "x"]}, {"é": {"value": 1.5, "unit": "mA"}}
    entry = {"at": "2026-11-20T09:00:00.000000Z", "id": 7, "new": new, "old": old, "run_id": run_id,
             "what": what, "who": who, "why": why}
    text = entry_text(7, run_id, who, what, entry["at"], why, canonical_json(old), canonical_json(new))
    assert text == canonical_json(entry)
