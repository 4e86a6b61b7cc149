"""Reads of patient data in bulk (a worklist, a list or export of runs, an evidence pack), recorded in the audit
trail: who read what, when, and how much. A single run read on a screen is not recorded; a list of patients is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sweattest.record.store.chain import append_audit


def record_bulk_read(store, *, who: str, what: str, rows: int, at: datetime, detail: dict[str, Any] | None = None,
                     station: str | None = None) -> None:
    """One audit entry ``read <what>`` by ``who``: the rows read and the filters or format (``detail``)."""
    new = {"rows": rows} | (detail or {}) | ({"station": station} if station else {})
    with store.writing() as conn:
        append_audit(conn, who=who, what=f"read {what}", at=at, new=new)
