"""Checking and reading the audit trail: ``sweattest audit verify`` and ``sweattest audit show``.

The chain format is described in ``sweattest.store.auditlog`` and docs/store.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.store import Store
from sweattest.store.auditlog import GENESIS, canonical_entry
from sweattest.store.schema import audit

_BATCH = 20_000
#: prev_hash is not read in the walk: each hash is recomputed from the previous entry's stored hash,
#: and prev_hash is looked up only to explain a break.
_SELECT = "SELECT id, run_id, who, what, at, why, old, new, hash FROM audit ORDER BY id"


@dataclass(frozen=True)
class Verification:
    """Outcome of walking the chain: ``broken`` is None when every link holds."""

    entries: int
    head_hash: str
    broken_at: int | None = None
    broken: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(store: Store) -> Verification:
    """Walk the whole chain in id order; stop at the first broken link and say what is wrong there.

    Reads through the driver's own cursor (a server-side cursor on PostgreSQL) in a tight loop: about
    a million entries in a few seconds.
    """
    with store.read() as conn:
        raw = conn.connection.dbapi_connection
        postgres = conn.dialect.name == "postgresql"
        cursor = raw.cursor(name="sweattest_audit_verify") if postgres else raw.cursor()
        try:
            if postgres:
                cursor.itersize = _BATCH
            cursor.execute(_SELECT)
            result = _walk(cursor)
        finally:
            cursor.close()
        if result.broken_at is not None and result.broken is None:
            result = _explain(conn, result)
        return result


def _walk(rows) -> Verification:  # noqa: ANN001 - a DB-API cursor
    sha256, entry = hashlib.sha256, canonical_entry
    prev, expected = GENESIS, 1
    for id_, run_id, who, what, at, why, old, new, digest in rows:
        if id_ != expected:
            return Verification(expected - 1, prev, expected,
                                f"entry {expected} is missing: the entry after {expected - 1} is {id_} "
                                "(entries deleted or renumbered)")
        if sha256((prev + entry(id_, run_id, who, what, at, why, old, new)).encode()).hexdigest() != digest:
            return Verification(expected - 1, prev, id_)
        prev, expected = digest, expected + 1
    return Verification(entries=expected - 1, head_hash=prev)


def _explain(conn: sa.Connection, result: Verification) -> Verification:
    """Say whether the entry at the break was edited or no longer links to the one before."""
    stored_prev = conn.execute(sa.select(audit.c.prev_hash).where(audit.c.id == result.broken_at)).scalar()
    if stored_prev != result.head_hash:
        why = (f"entry {result.broken_at} does not link to entry {result.broken_at - 1} "
               "(entries deleted, inserted or reordered)")
    else:
        why = f"entry {result.broken_at} no longer matches its hash (edited after it was written)"
    return Verification(result.entries, result.head_hash, result.broken_at, why)


def history(store: Store, run_id: str) -> list[dict[str, Any]]:
    """A run's audit entries, oldest first, with old/new values decoded."""
    query = sa.select(audit).where(audit.c.run_id == run_id).order_by(audit.c.id)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [dict(r) | {"old": _json(r["old"]), "new": _json(r["new"])} for r in rows]


def format_entry(entry: dict[str, Any]) -> str:
    """One readable line: when (UTC), who, what, the change, and why."""
    at: datetime = entry["at"]
    parts = [f"{at:%Y-%m-%d %H:%M:%S}Z", f"#{entry['id']}", entry["who"], entry["what"]]
    change = _change(entry["old"], entry["new"])
    if change:
        parts.append(change)
    if entry["why"]:
        parts.append(f"because: {entry['why']}")
    return "  ".join(parts)


def _change(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return ", ".join(f"{k}: {_show(old.get(k))} -> {_show(new.get(k))}" for k in keys)
    if old is None and isinstance(new, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in sorted(new.items()))
    if old is None and new is None:
        return ""
    return f"{_show(old)} -> {_show(new)}"


def _show(value: Any) -> str:
    return "-" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
