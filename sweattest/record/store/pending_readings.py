"""Readings between two audit entries: written to ``readings_pending`` (one row per write, folded into the
head row in the write's own transaction), then sealed by the next entry: checked against the head's fold,
packed into one ``reading_blocks`` row per run, site and kind, and removed from ``readings_pending``. A
stimulation's readings thus end as one row per site (a few tens of kB), each committed within a second of
being taken and under the chain all along.
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

import sqlalchemy as sa

from sweattest.core.errors import TamperError
from sweattest.record.store import schema
from sweattest.record.store.packing import Reading, pack, unpack
from sweattest.record.store.rowhash import fold, range_item, read_rows

_UTC_TEXT = schema.reading_blocks.c.at.type
#: zlib level of a pending row (a second of readings, short-lived: the next audit entry packs them again at the
#: sealed blocks' level, 9), written every second of a stimulation.
PENDING_LEVEL = 1


def block(run_id: str, site: str | None, kind: str, readings: list[Reading], level: int = 9,
          at: datetime | None = None) -> dict:
    """The row holding ``readings`` (in the order taken) of one run, site and kind (zlib ``level``); ``at``:
    when the last of them was committed, if the caller has it as a datetime (else read from its text)."""
    at = _UTC_TEXT.process_result_value(readings[-1][0], None) if at is None else at
    return {"run_id": run_id, "site": site, "kind": kind, "at": at,
            "t_first": readings[0][1], "t_last": readings[-1][1], "n": len(readings),
            "data": pack(readings, level)}


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
    blocks = [block(run_id, site, kind, [reading for r in group for reading in unpack(r[8])])
              for (run_id, site, kind), group in groupby(sorted(rows, key=_key), key=_key)]
    if not blocks:
        return []
    ids = [conn.execute(schema.reading_blocks.insert().values(**b)).inserted_primary_key[0] for b in blocks]
    conn.execute(pending.delete().where(pending.c.id > after, pending.c.id <= upto))
    return [range_item(conn, "reading_blocks", min(ids), max(ids))]
