"""Refused actions of a person on a run that never became an event of the run (a confirmation refused before
the runner took it: a stale prompt, a measured value from someone other than the run's operator), and tests
cancelled at the bench before they became a run (an identity or eligibility check failed): recorded in the
audit trail with who tried, where, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sweattest.record.store.chain import append_audit


def record_refusal(store, run_id: str, *, who: str, station: str, what: str, why: str,
                   details: dict[str, Any] | None = None) -> None:
    with store.writing() as conn:
        append_audit(conn, run_id=run_id, who=who, what=f"{what} (refused)", at=store.clock.utcnow(), why=why,
                     new={"station": station, **(details or {})})


def record_cancelled_test(store, *, who: str, at: datetime, why: str, accession: str | None, step: str) -> None:
    """A test cancelled at the bench at ``step`` (no run was made): audited as ``cancel_test``."""
    with store.writing() as conn:
        append_audit(conn, who=who, what="cancel_test", at=at, why=why, new={"accession": accession, "step": step})
