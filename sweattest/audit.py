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
_COLUMNS = "id, run_id, who, what, at, why, old, new, prev_hash, hash"


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
    """Walk the whole chain in id order; stop at the first broken link and say what is wrong there."""
    with store.read() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
            sa.text(f"SELECT {_COLUMNS} FROM audit ORDER BY id"))
        return _walk(result.partitions(_BATCH))


def _walk(batches) -> Verification:  # noqa: ANN001 - iterator of row batches
    sha256, entry = hashlib.sha256, canonical_entry
    prev, expected = GENESIS, 1
    for batch in batches:
        for id_, run_id, who, what, at, why, old, new, prev_hash, digest in batch:
            if id_ != expected:
                return _broken(expected - 1, prev, id_ if id_ < expected else expected,
                               f"entry {expected} is missing: the entry after {expected - 1} is {id_} "
                               "(entries deleted or renumbered)")
            if prev_hash != prev:
                return _broken(expected - 1, prev, id_, f"entry {id_} does not link to entry {id_ - 1} "
                               "(entries deleted, inserted or reordered)")
            if sha256((prev + entry(id_, run_id, who, what, at, why, old, new)).encode()).hexdigest() != digest:
                return _broken(expected - 1, prev, id_, f"entry {id_} no longer matches its hash "
                               "(edited after it was written)")
            prev, expected = digest, expected + 1
    return Verification(entries=expected - 1, head_hash=prev)


def _broken(good: int, head: str, at: int, why: str) -> Verification:
    return Verification(entries=good, head_hash=head, broken_at=at, broken=why)


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
