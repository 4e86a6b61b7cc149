"""Readings are stored compactly (one packed row per write), read back exactly as taken, and a store that
kept one row per reading is packed when it is opened, on both backends."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sweattest.core.errors import StoreError
from sweattest.record.audit import verify
from sweattest.record.store import migrations, schema
from sweattest.record.store.packing import merge, pack, unpack
from sweattest.record.store.store import Store
from tests.store import backends
from tests.store.backends import START

store_url, clock = backends.store_url, backends.clock  # both backends


def _sample(t, i):
    return {"t": t, "setpoint_ma": 1.5, "current_ma": 1.4999 + i / 10_000, "voltage_v": 13.275,
            "charge_ma_min": 3.50001 + i * 0.0025}


AT = "2026-11-20T09:00:01.000000Z"
AT2 = "2026-11-20T09:00:02.000000Z"


@pytest.mark.parametrize("readings", [
    [(AT if i <= 5 else AT2, round(i / 10, 1), _sample(round(i / 10, 1), i)) for i in range(1, 11)],
    [(AT, 0.1, {"t": 0.1, "a": 1}), (AT, 0.2, {"b": None, "c": [1, "é"]}), (AT2, 0.35, {})],  # mixed fields
])
def test_a_packed_block_reads_back_exactly(readings):
    assert unpack(pack(readings)) == readings


SECONDS = [[(AT if i <= 15 else AT2, round(i / 10, 1), _sample(round(i / 10, 1), i)) for i in range(k, k + 10)]
           for k in (1, 11, 21)]


@pytest.mark.parametrize("parts", [
    SECONDS,  # three seconds of one stimulation, the second one committed over two times
    [SECONDS[0], [(AT2, 2.5, {"t": 2.5, "other": 1})]],  # the fields change
    [SECONDS[0], [(AT2, 9.0, _sample(2.0, 3))]],  # a reading whose time is not its own t
])
def test_sealing_seconds_into_one_block_keeps_every_reading_as_packing_them_together_does(parts):
    together = [reading for part in parts for reading in part]
    merged = merge([pack(part, 1) for part in parts])
    assert merged == pack(together)
    assert unpack(merged) == together


def test_a_stimulation_is_one_row_per_site_once_sealed_and_every_reading_reads_back(store_url, clock):
    from sweattest.core.protocol import load_protocol

    store = Store(store_url, clock)
    try:
        store.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="M",
                         created_at=START, order={}, protocol=load_protocol("macroduct"))
        taken = []
        for write in range(4):  # two writes a second, as the bench commits them
            at = START + timedelta(seconds=(write + 1) / 2)
            rows = [{"site": "left_forearm", "kind": "stimulation_sample", "at": at, "t": (5 * write + i) / 10,
                     "data": _sample((5 * write + i) / 10, i)} for i in range(1, 6)]
            store.append_readings("R1", rows)
            taken += rows
        assert store.readings("R1") == taken  # readable as soon as committed
        assert verify(store).intact
        store.append_event("R1", kind="note", site=None, at=START + timedelta(seconds=3), t=3, data={})
        assert store.readings("R1", site="left_forearm", kind="stimulation_sample") == taken
        with store.engine.connect() as conn:
            counts = [conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in ("reading_blocks", "readings_pending")]
        assert counts == [1, 0]
        assert verify(store).intact
    finally:
        store.close()


def test_a_changed_reading_waiting_to_be_sealed_is_caught_and_never_sealed(store_url, clock):
    from sweattest.core.errors import TamperError
    from sweattest.core.protocol import load_protocol

    store = Store(store_url, clock)
    try:
        store.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="M",
                         created_at=START, order={}, protocol=load_protocol("macroduct"))
        store.append_readings("R1", [{"site": "left_forearm", "kind": "stimulation_sample", "at": START, "t": 0.1,
                                      "data": _sample(0.1, 1)}])
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE readings_pending SET t_last = 9"))
        result = verify(store)
        assert (result.intact, result.table, result.row) == (False, "readings_pending", "1 (run R1)")
        with pytest.raises(TamperError, match=r"readings_pending rows 1-1\) do not match the chain.s head"):
            store.append_event("R1", kind="note", site=None, at=START, t=1, data={})
        assert store.events("R1") == []  # nothing recorded
    finally:
        store.close()


def _old_store(store_url, clock, monkeypatch, upto):
    """A store as version ``upto`` of the schema left it, with a run, an event and six readings written in
    three commits (one row each), as the bench wrote them before migration 11."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:7])
        store = Store(store_url, clock)
    with store.engine.begin() as conn:
        conn.execute(schema.runs.insert().values(run_id="R1", accession="ST-1", method="macroduct", operator="tech1",
                                                 patient_mrn="MRN1", created_at=START, state="created",
                                                 updated_at=START, order_json={"accession": "ST-1"}))
        conn.execute(schema.events.insert().values(run_id="R1", seq=1, kind="start_stimulation", site="left_forearm",
                                                   at=START, t=1.0, data={"actor": "tech1"}, accepted=True))
        conn.execute(schema.readings.insert(), [
            {"run_id": "R1", "site": "left_forearm", "kind": "stimulation_sample",
             "at": START + timedelta(seconds=1 + (i - 1) // 2), "t": i / 10, "data": _sample(i / 10, i)}
            for i in range(1, 7)])
    store.close()
    if upto > 7:
        with monkeypatch.context() as m:
            m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
            Store(store_url, clock).close()


def test_an_old_store_is_packed_and_chained_when_opened(store_url, clock, monkeypatch):
    _old_store(store_url, clock, monkeypatch, upto=7)
    store = Store(store_url, clock)
    try:
        readings = store.readings("R1", site="left_forearm", kind="stimulation_sample")
        assert [(r["t"], r["data"]) for r in readings] == [(i / 10, _sample(i / 10, i)) for i in range(1, 7)]
        assert [r["at"] for r in readings][::2] == [START + timedelta(seconds=s) for s in (1, 2, 3)]
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM reading_blocks")).scalar_one() == 1  # one per site
            assert "readings" not in sa.inspect(conn).get_table_names()
        result = verify(store)
        assert result.intact and result.rows == 2 + 1 + 1  # the run (its content, its state), its event, one block
        with store.engine.connect() as conn:
            whats = conn.execute(sa.text("SELECT what FROM audit ORDER BY id")).scalars().all()
        # runs, events, readings; then packed; then the run chained again with its purpose; then its state
        assert whats == ["chain_existing_rows"] * 3 + ["pack_readings", "chain_run_purposes", "chain_existing_rows"]
    finally:
        store.close()


def test_old_readings_that_do_not_match_the_chain_are_not_packed(store_url, clock, monkeypatch):
    _old_store(store_url, clock, monkeypatch, upto=8)
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])
        store = Store(store_url, clock)
    with store.engine.begin() as conn:  # owner rights: guard dropped, a reading changed
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER readings_no_change ON readings"))
        else:
            conn.execute(sa.text("DROP TRIGGER readings_no_update"))
        conn.execute(sa.text("UPDATE readings SET t = 9 WHERE id = 4"))
    store.close()
    with pytest.raises(StoreError, match=r"cannot pack the readings \(migration 11\): readings row 1-6"):
        Store(store_url, clock)
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])
        store = Store(store_url, clock)
    with store.engine.connect() as conn:  # left as it was
        assert conn.execute(sa.text("SELECT count(*) FROM readings")).scalar_one() == 6
    store.close()
