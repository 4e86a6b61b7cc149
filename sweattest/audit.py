"""The audit trail as QA reads it: verify the hash chain, show one run's history.

Entries are written by the store and the services (``sweattest.store.chain.append_audit``) in the same
transaction as the change they record; nothing here writes. Chain format: docs/store.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.errors import ValidationError
from sweattest.store import schema
from sweattest.store.chain import entry_text
from sweattest.store.migrations import GENESIS_HASH

_COLUMNS = "id, run_id, who, what, at, why, old, new, prev_hash, hash"
_BATCH = 20_000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    run_id: str | None
    who: str
    what: str
    at: datetime
    why: str | None
    old: Any
    new: Any


@dataclass(frozen=True)
class Verification:
    """``intact`` with the number of entries, or the first broken link: which entry, what was expected
    there and what was found."""

    intact: bool
    entries: int
    broken_id: int | None = None
    problem: str = ""
    expected: str = ""
    found: str = ""

    def message(self) -> str:
        if self.intact:
            return f"audit trail intact: {self.entries} entries"
        return (f"audit trail BROKEN at entry {self.broken_id}: {self.problem} "
                f"(expected {self.expected}, found {self.found})")


def verify(store) -> Verification:
    """Walk the whole chain in id order; stop at the first entry that does not check.

    A tight loop over the driver's own cursor (server-side on PostgreSQL): one SHA-256 per entry, about
    four seconds per million entries; the detailed diagnosis runs only at a break.
    """
    with store.engine.connect() as conn:
        head_id, head_hash = conn.execute(sa.select(schema.audit_head.c.last_id, schema.audit_head.c.last_hash)
                                          ).one()
        raw = conn.connection.dbapi_connection
        sha256, text = hashlib.sha256, entry_text
        expected_id, prev = 1, GENESIS_HASH
        for rows in _batches(raw, server_side=conn.dialect.name == "postgresql"):
            for entry_id, run_id, who, what, at, why, old, new, prev_hash, digest in rows:
                computed = sha256((prev_hash + text(entry_id, run_id, who, what, at, why, old, new)).encode()
                                  ).hexdigest()
                if entry_id != expected_id or prev_hash != prev or computed != digest:
                    return _check(entry_id, expected_id, prev, prev_hash, computed, digest)
                expected_id, prev = entry_id + 1, digest
    last = expected_id - 1
    if (last, prev) != (head_id, head_hash):
        return Verification(False, last, last + 1, "entries are missing at the end of the trail",
                            f"last entry {head_id} with hash {head_hash[:16]}",
                            f"last entry {last} with hash {prev[:16]}")
    return Verification(True, last)


def _check(entry_id: int, expected_id: int, prev: str, prev_hash: str, computed: str,
           digest: str) -> Verification:
    n = expected_id - 1
    if entry_id != expected_id:
        return Verification(False, n, expected_id, "an entry is missing or out of order",
                            f"entry {expected_id}", f"entry {entry_id}")
    if prev_hash != prev:
        return Verification(False, n, entry_id, f"does not link to entry {entry_id - 1}",
                            f"previous hash {prev[:16]}", f"{prev_hash[:16]}")
    if computed != digest:
        return Verification(False, n, entry_id, "the entry was changed after it was written",
                            f"hash {computed[:16]}", f"{digest[:16]}")
    raise AssertionError("_check is called only for an entry that does not check")


def _batches(raw, *, server_side: bool) -> Iterator[list[tuple]]:
    cursor = raw.cursor(name="sweattest_audit_verify") if server_side else raw.cursor()
    try:
        cursor.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id")
        while rows := cursor.fetchmany(_BATCH):
            yield rows
    finally:
        cursor.close()


def history(store, run_id: str) -> list[AuditEntry]:
    """A run's audit entries, oldest first."""
    au = schema.audit
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(au).where(au.c.run_id == run_id).order_by(au.c.id)).mappings().all()
    if not rows and store.get_run(run_id) is None:
        raise ValidationError(f"no run {run_id!r} in the store; `sweattest qa runs` lists the runs")
    return [AuditEntry(r["id"], r["run_id"], r["who"], r["what"], r["at"], r["why"], json.loads(r["old"]),
                       json.loads(r["new"])) for r in rows]


def format_history(entries: list[AuditEntry]) -> list[str]:
    """One readable line per entry: UTC time, who, what, why, old -> new."""
    lines = []
    for e in entries:
        line = f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.who:<12} {e.what}"
        if e.why:
            line += f"  (why: {e.why})"
        change = _change(e.old, e.new)
        if change:
            line += f"  {change}"
        lines.append(line)
    return lines


def _change(old: Any, new: Any) -> str:
    if old is None:
        return "" if new in (None, {}) else _short(new)
    return f"{_short(old)} -> {_short(new)}"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            if isinstance(v, dict) and set(v) == {"value", "unit"}:
                v = f"{v['value']} {v['unit']}"
            parts.append(f"{k}={v}")
        return ", ".join(parts)
    return str(value)
