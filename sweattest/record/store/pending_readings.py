"""Readings between two audit entries: written to ``readings_pending`` (one row per write, folded into the
head row in the write's own transaction), then sealed by the next entry: checked against the head's fold,
packed into one ``reading_blocks`` row per run, site and kind, and removed from ``readings_pending``. A
stimulation's readings thus end as one row per site (a few tens of kB), each committed within a second of
being taken and under the chain all along.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from itertools import groupby

import sqlalchemy as sa

from sweattest.core.errors import TamperError
from sweattest.record.store import schema
from sweattest.record.store.packing import SEALED_LEVEL, Reading, merge, pack
from sweattest.record.store.rowhash import fold, range_item, read_rows, select_sql

_UTC_TEXT = schema.reading_blocks.c.at.type
#: zlib level of a pending row (a second of readings, short-lived: the next audit entry packs them again at the
#: sealed blocks' level), written every second of a stimulation.
PENDING_LEVEL = 1


def block(run_id: str, site: str | None, kind: str, readings: list[Reading], level: int = SEALED_LEVEL,
          at: datetime | None = None) -> dict:
    """The row holding ``readings`` (in the order taken) of one run, site and kind (zlib ``level``); ``at``:
    when the last of them was committed, if the caller has it as a datetime (else read from its text)."""
    at = _UTC_TEXT.process_result_value(readings[-1][0], None) if at is None else at
    return {"run_id": run_id, "site": site, "kind": kind, "at": at,
            "t_first": readings[0][1], "t_last": readings[-1][1], "n": len(readings),
            "data": pack(readings, level)}


@cache
def _statements(dialect: str) -> tuple[str, str, str, str]:
    """``write``'s SQL in the driver's own parameter style: lock the head (returning its pending fold), insert,
    read the new rows back as ``audit verify`` reads them, fold them into the head."""
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ("run_id", "site", "kind", "at", "t_first", "t_last", "n", "data")
    return ('UPDATE audit_head SET last_id = last_id WHERE id = 1 RETURNING readings_to, readings_acc',
            f'INSERT INTO readings_pending ({", ".join(columns)}) VALUES ({", ".join([mark] * len(columns))})',
            select_sql("readings_pending", dialect, f"WHERE id > {mark}"),
            f"UPDATE audit_head SET readings_to = {mark}, readings_acc = {mark} WHERE id = 1")


def write(db, dialect: str, blocks: list[dict]) -> None:
    """Insert ``blocks`` (from ``block``) into ``readings_pending`` and fold them into the head, inside the
    caller's write transaction on ``db``, the driver's connection, in four statements on its cursor (a
    stimulation writes every second; this keeps each write cheap): the head row's lock (a no-op update, so the
    rows' ids follow the order they are folded in) returning its pending fold, the insert, the new rows read
    back as ``audit verify`` reads them, and their fold into the head (the next audit entry seals them). The
    driver's errors are raised as they are; the caller rolls back."""
    lock, insert, select, set_fold = _statements(dialect)
    to_text = _UTC_TEXT.process_bind_param
    values = [(b["run_id"], b["site"], b["kind"], to_text(b["at"], None), b["t_first"], b["t_last"], b["n"],
               b["data"]) for b in blocks]
    cursor = db.cursor()
    try:
        cursor.execute(lock)
        pending, acc = cursor.fetchone()
        cursor.executemany(insert, values)
        cursor.execute(select, (pending,))
        rows = [tuple(r) for r in cursor.fetchall()]
        if rows:
            cursor.execute(set_fold, (rows[-1][0], fold(rows, acc or "")))
    finally:
        cursor.close()


def _sealed(run_id: str, site: str | None, kind: str, rows: list[tuple]) -> dict:
    """The reading block of one run, site and kind made of its pending ``rows`` (in the order written)."""
    return {"run_id": run_id, "site": site, "kind": kind, "at": _UTC_TEXT.process_result_value(rows[-1][4], None),
            "t_first": rows[0][5], "t_last": rows[-1][6], "n": sum(r[7] for r in rows),
            "data": merge([r[8] for r in rows])}


def _key(row: tuple) -> tuple:
    return row[1], row[2], row[3]  # run_id, site, kind


def seal(conn: sa.Connection, after: int, upto: int, acc: str) -> list[list]:
    """Pack the pending rows ``after`` < id <= ``upto`` (whose fold the head holds as ``acc``) into reading
    blocks; returns the chain item of the blocks. Rows that do not match the fold are never packed."""
    rows = read_rows(conn, "readings_pending", "id > :after AND id <= :upto", after=after, upto=upto)
    if fold(rows) != acc:
        raise TamperError(f"the readings waiting to be sealed (readings_pending rows {after + 1}-{upto}) do not "
                          "match the chain's head: they were changed in the database. Nothing was recorded; run "
                          "`sweattest audit verify` and tell the laboratory director")
    pending = schema.readings_pending
    blocks = [_sealed(run_id, site, kind, list(group))
              for (run_id, site, kind), group in groupby(sorted(rows, key=_key), key=_key)]
    if not blocks:
        return []
    ids = [conn.execute(schema.reading_blocks.insert().values(**b)).inserted_primary_key[0] for b in blocks]
    conn.execute(pending.delete().where(pending.c.id > after, pending.c.id <= upto))
    return [range_item(conn, "reading_blocks", min(ids), max(ids))]
