"""Approvals of the accreditation evidence pack under the audit chain: a QA user's e-signature with meaning
"approved", recorded with the period, the pack's file name and the SHA-256 of its PDF, so a pack shown later can
be matched to the entry (hash the file, compare)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit

WHAT = "qa_pack_approved"
MEANING = "approved"
#: Who signs the pack as approved: the QA desk's own role (not the reviewer who releases results).
SIGNERS = ("qa",)


def record_approval(store, *, at: datetime, who: str, full_name: str, date_from: date, date_to: date,
                    pdf_sha256: str, pdf_name: str) -> int:
    """Append the approval entry; returns its id."""
    with store.writing() as conn:
        return append_audit(conn, who=who, what=WHAT, at=at, why=f"evidence pack {date_from} to {date_to}",
                            new={"meaning": MEANING, "full_name": full_name, "from": date_from.isoformat(),
                                 "to": date_to.isoformat(), "pdf_sha256": pdf_sha256, "pdf": pdf_name})


def approvals(store) -> list[dict[str, Any]]:
    """The recorded pack approvals, oldest first: entry id, when, who, and what the entry holds."""
    a = schema.audit
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.id, a.c.at, a.c.who, a.c.new).where(a.c.what == WHAT)
                            .order_by(a.c.id)).all()
    return [{"entry": r.id, "at": r.at, "who": r.who} | json.loads(r.new) for r in rows]
