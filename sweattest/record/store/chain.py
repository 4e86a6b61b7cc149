"""Appending to the hash-chained audit trail inside the caller's transaction.

Entry ``n`` has ``hash = SHA-256(prev_hash + canonical)`` where ``prev_hash`` is entry ``n-1``'s hash (64
zeros for the first) and ``canonical`` is the entry as compact JSON with sorted keys:
``{"at":…,"id":…,"new":…,"old":…,"rows":…,"run_id":…,"what":…,"who":…,"why":…}``. ``old`` and ``new`` are kept
as canonical JSON text, so checking an entry never re-encodes its values.

``rows`` (absent from entries written before migration 8) lists the content hashes of the rows the entry's
transaction wrote (``sweattest.record.store.rowhash``): ``[table, key, hash]`` for a row of ``runs`` or
``users``, ``[table, first id, last id, fold]`` for rows with integer ids. Readings have no entry of their
own: each write folds its ``readings_pending`` row into the head row (``readings_acc``, in the same
transaction); the next entry checks that fold, packs the rows into ``reading_blocks`` and chains those.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.pending_readings import seal
from sweattest.record.store.types import UTCDateTime

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode
_string = json.encoder.encode_basestring  # what _dumps does with a str (ensure_ascii=False), without its overhead
_sha256 = hashlib.sha256
_UTC = UTCDateTime()
#: The table whose writes are folded into the head rather than getting entries of their own; the next entry
#: seals them (``pending_readings.seal``).
FOLDED = "readings_pending"


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; anything JSON cannot hold is written as its text."""
    return _dumps(value)


def entry_text(entry_id: int, run_id: str | None, who: str, what: str, at_text: str, why: str | None,
               old_text: str, new_text: str, rows_text: str | None = None) -> str:
    """The canonical form of one entry (its fields as stored): the same text as ``canonical_json`` of the
    entry, built without re-encoding ``old`` and ``new`` (this runs once per entry in ``audit verify``)."""
    run = "null" if run_id is None else _string(run_id)
    reason = "null" if why is None else _string(why)
    rows = "" if rows_text is None else f'"rows":{rows_text},'
    return (f'{{"at":{_string(at_text)},"id":{entry_id},"new":{new_text},"old":{old_text},{rows}'
            f'"run_id":{run},"what":{_string(what)},"who":{_string(who)},"why":{reason}}}')


def entry_hash(prev_hash: str, text: str) -> str:
    return _sha256((prev_hash + text).encode("utf-8")).hexdigest()


def append_audit(conn: sa.Connection, *, who: str, what: str, at: datetime, run_id: str | None = None,
                 why: str | None = None, old: Any = None, new: Any = None, rows: list[list] | None = None) -> int:
    """Add one entry at the end of the chain; returns its id. Call inside the write's own transaction.
    ``rows``: the chain items of the rows this transaction wrote (``rowhash.keyed_item``, ``range_item``);
    readings folded since the last entry are sealed here too.

    The head row is updated first: on PostgreSQL that row lock serializes concurrent appends; on SQLite the
    single writer does (writes there begin IMMEDIATE).
    """
    head = schema.audit_head
    conn.execute(head.update().where(head.c.id == 1).values(last_id=head.c.last_id + 1))
    last_id, prev_hash, sealed, pending, acc = conn.execute(sa.select(
        head.c.last_id, head.c.last_hash, head.c.readings_from, head.c.readings_to, head.c.readings_acc
    ).where(head.c.id == 1)).one()
    items = list(rows or [])
    if acc is not None:
        items += seal(conn, sealed, pending, acc)
    at_text = _UTC.process_bind_param(at, None)
    old_text, new_text = canonical_json(old), canonical_json(new)
    rows_text = canonical_json(items) if items else None
    digest = entry_hash(prev_hash, entry_text(last_id, run_id, who, what, at_text, why, old_text, new_text,
                                              rows_text))
    conn.execute(schema.audit.insert().values(id=last_id, run_id=run_id, who=who, what=what, at=at, why=why,
                                              old=old_text, new=new_text, rows=rows_text, prev_hash=prev_hash,
                                              hash=digest))
    conn.execute(head.update().where(head.c.id == 1).values(last_hash=digest, readings_from=pending,
                                                            readings_acc=None))
    return last_id
