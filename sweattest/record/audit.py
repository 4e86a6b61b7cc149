"""The audit trail as QA reads it: verify the hash chain, show one run's history, list the amendments of a period.

Entries are written by the store and the services (``sweattest.record.store.chain.append_audit``) in the same
transaction as the change they record; nothing here writes. Chain format: docs/store.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.record.store import guards, schema
from sweattest.record.store.chain import entry_text
from sweattest.record.store.migrations import GENESIS_HASH
from sweattest.record.store.verify_rows import ChainItems, check_rows

_COLUMNS = "id, run_id, who, what, at, why, old, new, rows, hash"
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
    """``intact`` with the number of entries and rows checked, or the first thing that does not check: an
    entry of the chain (``broken_id``), a row of the record (``table`` and ``row``) or a missing guard, with
    what was expected there and what was found."""

    intact: bool
    entries: int
    broken_id: int | None = None
    problem: str = ""
    expected: str = ""
    found: str = ""
    table: str | None = None
    row: str | None = None
    rows: int = 0

    def message(self) -> str:
        if self.intact:
            return (f"audit trail intact: {self.entries} entries; {self.rows} rows of the record match the "
                    "chain")
        if self.table is not None:
            where = f"{self.table} row {self.row}"
        elif self.broken_id is not None:
            where = f"entry {self.broken_id}"
        else:
            where = "the database guards"
        return f"audit trail BROKEN at {where}: {self.problem} (expected {self.expected}, found {self.found})"


def verify(store) -> Verification:
    """Walk the whole chain in id order, then every chained row of the record against it, in one read
    snapshot; stop at the first entry, guard or row that does not check."""
    options = {"isolation_level": "REPEATABLE READ"} if store.engine.dialect.name == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as conn:
        head = schema.audit_head.c
        head_row = conn.execute(sa.select(
            head.last_id, head.last_hash, head.readings_from, head.readings_to, head.readings_acc)).first()
        if head_row is None:
            return Verification(False, 0, None, "the head row was removed (where the chain ends is unknown)",
                                "one row", "none", "audit_head", "1")
        head_id, head_hash, *pending = head_row
        raw = conn.connection.dbapi_connection
        items = ChainItems()
        db_error = conn.dialect.dbapi.Error
        try:
            expected_id, prev = _walk(raw, items)
        except db_error as exc:
            return Verification(False, 0, None, "the trail cannot be read as written (its table was altered)",
                                "the trail's columns", _first_line(exc), "audit", "(all)")
        if isinstance(prev, Verification):
            return prev
        last = expected_id - 1
        if (last, prev) != (head_id, head_hash):
            return Verification(False, last, last + 1, "entries are missing at the end of the trail",
                                f"last entry {head_id} with hash {head_hash[:16]}",
                                f"last entry {last} with hash {prev[:16]}")
        missing = guards.missing(conn)
        if missing:
            return Verification(False, last, None, "guards were removed from the database (owner rights were "
                                "used behind the program's back)", "triggers " + ", ".join(missing), "none")
        planted = guards.foreign(conn)
        if planted:
            return Verification(False, last, None, "triggers that are not the program's guards are on the record "
                                "(planted, or a guard re-created to do nothing, behind the program's back)",
                                "the program's guards only", "triggers " + ", ".join(planted))
        rows, problem = check_rows(raw, conn.dialect.name, items, tuple(pending), db_error)
    if problem is not None:
        return Verification(False, last, None, problem.problem, problem.expected, problem.found,
                            problem.table, problem.row, rows)
    return Verification(True, last, rows=rows)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def head(store) -> tuple[int, str]:
    """The chain's head: the last entry's id and hash. Kept outside the database (printed on reports, noted
    elsewhere), it catches even a forgery that rewrites the chain from some entry to its end."""
    with store.engine.connect() as conn:
        return tuple(conn.execute(sa.select(schema.audit_head.c.last_id, schema.audit_head.c.last_hash)).one())


def _walk(raw, items: ChainItems) -> tuple[int, str | Verification]:
    """(next expected id, last hash), or the first broken link; the row items the entries carry go into
    ``items``. This runs once per entry over millions of entries: the fast path hashes with the previous
    entry's hash and reads ``prev_hash`` only to explain a mismatch."""
    expected_id, prev = 1, GENESIS_HASH
    sha, text, add = hashlib.sha256, entry_text, items.add
    for rows in _batches(raw):
        for entry_id, run_id, who, what, at, why, old, new, chained, digest in rows:
            computed = sha((prev + text(entry_id, run_id, who, what, at, why, old, new, chained)).encode()
                           ).hexdigest()
            if entry_id != expected_id or computed != digest:
                prev_hash = _prev_hash(raw, entry_id)
                computed = sha((prev_hash + text(entry_id, run_id, who, what, at, why, old, new, chained)
                                ).encode()).hexdigest()
                return expected_id, _check(entry_id, expected_id, prev, prev_hash, computed, digest)
            if chained is not None:
                add(entry_id, chained)
            expected_id, prev = entry_id + 1, digest
    return expected_id, prev


def _prev_hash(raw, entry_id: int) -> str:
    cursor = raw.cursor()
    try:
        cursor.execute(f"SELECT prev_hash FROM audit WHERE id = {int(entry_id)}")
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def _check(entry_id: int, expected_id: int, prev: str, prev_hash: str, computed: str,
           digest: str) -> Verification | None:
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
    return None


def _batches(raw) -> Iterator[list[tuple]]:
    cursor = raw.cursor()
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


def amendments(store, where) -> list[tuple[AuditEntry, str]]:
    """(entry, accession) of every amendment of a final result made in the period of ``where`` (a ``RunFilter``:
    its dates are the amendment's, its other conditions the run's), oldest first."""
    a, r = schema.audit, schema.runs
    query = (sa.select(a).add_columns(r.c.accession.label("accession"))
             .select_from(a.join(r, r.c.run_id == a.c.run_id)).where(a.c.what == "amend").order_by(a.c.id))
    start, end = where.bounds
    if start is not None:
        query = query.where(a.c.at >= start)
    if end is not None:
        query = query.where(a.c.at < end)
    query = replace(where, date_from=None, date_to=None).apply(query)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [(AuditEntry(r["id"], r["run_id"], r["who"], r["what"], r["at"], r["why"], json.loads(r["old"]),
                        json.loads(r["new"])), r["accession"]) for r in rows]


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
