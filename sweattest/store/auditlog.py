"""Appending to the audit trail: an append-only, SHA-256 hash-chained table.

Entry ``n`` stores ``hash = SHA-256(prev_hash + canonical)`` where ``prev_hash`` is entry ``n-1``'s hash
(64 zeros for entry 1) and ``canonical`` is the canonical JSON (sorted keys, no spaces, UTF-8) of
``{"at", "id", "new", "old", "run_id", "what", "who", "why"}``; ``at`` is the stored UTC text and
``old``/``new`` are JSON values. Ids are consecutive from 1, so a deleted entry leaves a gap, an edited
one no longer matches its hash, and a moved one breaks the link to its neighbour.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import Any

import sqlalchemy as sa

from sweattest.store.schema import audit
from sweattest.store.types import UTCDateTime
from sweattest.store.values import canonical_json, check_plain_json, check_time

GENESIS = "0" * 64

_AUDIT_LOCK_KEY = 0x5357_4155  # PostgreSQL: one appender at a time keeps ids consecutive
_AT = UTCDateTime()


def canonical_entry(id_: int, run_id: str | None, who: str, what: str, at_text: str, why: str | None,
                    old_text: str | None, new_text: str | None) -> str:
    """Canonical JSON of one entry from its stored text (``old_text``/``new_text`` are canonical JSON).

    Equal to ``canonical_json`` of the entry as a dict, built without re-parsing, so a million entries
    verify in seconds.
    """
    return (f'{{"at":{encode_basestring(at_text)},"id":{id_},"new":{new_text or "null"},'
            f'"old":{old_text or "null"},"run_id":{_text(run_id)},"what":{encode_basestring(what)},'
            f'"who":{encode_basestring(who)},"why":{_text(why)}}}')


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append_audit(conn: sa.Connection, *, who: str, what: str, at: datetime, run_id: str | None = None,
                 why: str | None = None, old: Any = None, new: Any = None) -> int:
    """Append one entry inside the caller's transaction (so it commits with the change it records)."""
    check_time(at, "audit time")
    old_text = None if old is None else canonical_json(check_plain_json(old, "old value"))
    new_text = None if new is None else canonical_json(check_plain_json(new, "new value"))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    last = conn.execute(sa.select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
    id_, prev = (1, GENESIS) if last is None else (last.id + 1, last.hash)
    at_text = _AT.process_bind_param(at, conn.dialect)
    digest = entry_hash(prev, canonical_entry(id_, run_id, who, what, at_text, why, old_text, new_text))
    conn.execute(audit.insert().values(id=id_, run_id=run_id, who=who, what=what, at=at, why=why,
                                       old=old_text, new=new_text, prev_hash=prev, hash=digest))
    return id_


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)
