"""Validation reports under the audit chain: each signed report of ``sweattest validate`` is recorded as a
"validation" entry holding the version validated, the outcome and the report's SHA-256, so a report shown later
can be matched to the entry (hash the file, compare)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit

WHAT = "validation"


def record_validation(store, *, at: datetime, who: str, version: str, outcome: str, report_sha256: str,
                      report_name: str, failed: list[str]) -> int:
    """Append the "validation" entry; returns its id."""
    with store.writing() as conn:
        return append_audit(conn, who=who, what=WHAT, at=at, why=f"validation {outcome}",
                            new={"version": version, "outcome": outcome, "report_sha256": report_sha256,
                                 "report": report_name, "failed": failed})


def validations(store) -> list[dict[str, Any]]:
    """The recorded validations, oldest first: entry id, when, who, and what the entry holds."""
    a = schema.audit
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.id, a.c.at, a.c.who, a.c.new).where(a.c.what == WHAT)
                            .order_by(a.c.id)).all()
    return [{"entry": r.id, "at": r.at, "who": r.who} | json.loads(r.new) for r in rows]
