"""Migration 14: the one-row-per-reading table packed into ``reading_blocks``.

The readings are first checked against the chain (migration 8 chained them): tampered readings are never
re-hashed into a clean-looking chain; the migration stops and names the first rows that do not match. Then
consecutive readings of one write (same run, site, kind and commit time) become one block, the blocks are
folded into the chain and sealed by one ``pack_readings`` entry, and ``readings`` is dropped.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from sweattest.core.errors import StoreError
from sweattest.record.store import guards, schema
from sweattest.record.store.chain import append_audit, fold_readings, lock_head
from sweattest.record.store.packing import pack
from sweattest.record.store.rowhash import select_sql
from sweattest.record.store.verify_rows import check_ranged

_BATCH = 5_000


def pack_existing_readings(conn: sa.Connection) -> None:
    schema.reading_blocks.create(conn)
    count = _check_against_chain(conn)
    if count:
        _pack(conn, count)
    conn.exec_driver_sql("DROP TABLE readings")
    guards.create(conn, ("reading_blocks",), ("reading_blocks",))


def _pack(conn: sa.Connection, count: int) -> None:
    lock_head(conn)
    blocks = 0
    pending: list[dict] = []
    current: tuple | None = None
    readings: list[tuple[float, dict]] = []
    rows = conn.execute(sa.select(schema.readings).order_by(schema.readings.c.id)).mappings()
    for row in rows:
        key = (row["run_id"], row["site"], row["kind"], row["at"])
        if key != current and readings:
            pending.append(_block(current, readings))
            readings = []
        current = key
        readings.append((row["t"], row["data"]))
        if len(pending) >= _BATCH:
            blocks += _insert(conn, pending)
    if readings:
        pending.append(_block(current, readings))
    blocks += _insert(conn, pending)
    fold_readings(conn)
    append_audit(conn, who="system", what="pack_readings", at=conn.info["migrating_at"],
                 new={"readings": count, "blocks": blocks})


def _block(key: tuple, readings: list[tuple[float, dict]]) -> dict:
    run_id, site, kind, at = key
    return {"run_id": run_id, "site": site, "kind": kind, "at": at, "t_first": readings[0][0],
            "t_last": readings[-1][0], "n": len(readings), "data": pack(readings)}


def _insert(conn: sa.Connection, pending: list[dict]) -> int:
    if pending:
        conn.execute(schema.reading_blocks.insert(), pending)
    n = len(pending)
    pending.clear()
    return n


def _check_against_chain(conn: sa.Connection) -> int:
    """The number of readings, after checking each chained range of them; ``StoreError`` at the first that
    does not match."""
    ranges = []
    for entry_id, text in conn.execute(sa.text("SELECT id, rows FROM audit WHERE rows LIKE :pattern"),
                                       {"pattern": '%"readings"%'}):
        ranges += [(lo, hi, fold, entry_id) for table, lo, hi, fold in
                   (item for item in json.loads(text) if item[0] == "readings")]
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.execute(select_sql("readings", conn.dialect.name))
        batches = iter(lambda: cursor.fetchmany(_BATCH), [])
        count, problem = check_ranged("readings", batches, sorted(ranges), None, None)
    finally:
        cursor.close()
    if problem is not None:
        raise StoreError(f"cannot pack the readings (migration 14): readings row {problem.row}: {problem.problem}; "
                         "the store is left as it was. Run `sweattest audit verify` and tell the laboratory "
                         "director")
    return count
