"""Migration 11: the one-row-per-reading table packed into ``reading_blocks``.

The readings are first checked against the chain (migration 8 chained them): tampered readings are never
re-hashed into a clean-looking chain; the migration stops and names the first rows that do not match. Then
consecutive readings of one run, site and kind become one block (each reading keeps its commit time), the
blocks are chained by one ``pack_readings`` entry, and ``readings`` is dropped.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from sweattest.core.errors import StoreError
from sweattest.record.store import guards, schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.pending_readings import block
from sweattest.record.store.rowhash import range_item, select_sql
from sweattest.record.store.verify_rows import check_ranged

_BATCH = 20_000


def pack_existing_readings(conn: sa.Connection) -> None:
    schema.reading_blocks.create(conn)
    schema.readings_pending.create(conn)
    count = _check_against_chain(conn)
    if count:
        _pack(conn, count)
    conn.exec_driver_sql("DROP TABLE readings")
    guards.create(conn, ("reading_blocks",), ("reading_blocks", "readings_pending"))


def _pack(conn: sa.Connection, count: int) -> None:
    """Consecutive readings of one run, site and kind become one block (a stimulation, usually)."""
    text = schema.readings.c.at.type.process_bind_param
    ids: list[int] = []
    current: tuple | None = None
    readings: list = []
    for row in conn.execute(sa.select(schema.readings).order_by(schema.readings.c.id)).mappings():
        key = (row["run_id"], row["site"], row["kind"])
        if key != current and readings:
            ids.append(_insert(conn, current, readings))
            readings = []
        current = key
        readings.append((text(row["at"], None), row["t"], row["data"]))
    if readings:
        ids.append(_insert(conn, current, readings))
    append_audit(conn, who="system", what="pack_readings", at=conn.info["migrating_at"],
                 new={"readings": count, "blocks": len(ids)}, rows=[range_item(conn, "reading_blocks", min(ids),
                                                                                max(ids))])


def _insert(conn: sa.Connection, key: tuple, readings: list) -> int:
    return conn.execute(schema.reading_blocks.insert().values(**block(*key, readings))).inserted_primary_key[0]


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
        raise StoreError(f"cannot pack the readings (migration 11): readings row {problem.row}: {problem.problem}; "
                         "the store is left as it was. Run `sweattest audit verify` and tell the laboratory "
                         "director")
    return count
