"""Calibrations and calibration verifications of the instruments (analyzer, balance, inducer), by serial number:
date, who, kind, outcome, reference values and notes, and the next due date from the lab's interval for that
role (``[calibration]`` in the lab configuration; CLSI C34: per the analyzer's manual).

The calibration-due check at the start of each run reads the latest record of the instrument when there is
one (``latest``): a failed calibration or verification, or a passing one whose next due date is past, stops the
run from starting. An instrument with no record falls back to ``calibration_due`` of its configuration.
Append-only: a mistaken entry is followed by a corrected one (the latest counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.instruments import ROLES
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item

KINDS = ("calibration", "verification")
OUTCOMES = ("pass", "fail")


@dataclass(frozen=True)
class Calibration:
    id: int
    instrument: str
    role: str
    kind: str
    outcome: str
    performed_on: date
    interval_days: int
    next_due: date
    reference: str | None
    notes: str | None
    at: datetime
    who: str

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "instrument": self.instrument, "role": self.role, "kind": self.kind,
                "outcome": self.outcome, "performed_on": self.performed_on.isoformat(),
                "interval_days": self.interval_days, "next_due": self.next_due.isoformat(),
                "reference": self.reference, "notes": self.notes, "recorded_at": self.at.isoformat(), "by": self.who}


def add_calibration(store, *, instrument: str, role: str, kind: str, outcome: str, performed_on: date,
                    interval_days: int, who: str, reference: str | None = None,
                    notes: str | None = None) -> Calibration:
    """Record one calibration or verification; its next due date is ``performed_on`` + the interval."""
    at = store.clock.utcnow()
    instrument = (instrument or "").strip()
    if not instrument or len(instrument) > 80:
        raise ValidationError("instrument: give its serial number (1 to 80 characters)")
    if role not in ROLES:
        raise ValidationError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if kind not in KINDS:
        raise ValidationError(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    if outcome not in OUTCOMES:
        raise ValidationError(f"outcome {outcome!r}: use pass or fail")
    if performed_on > at.date():
        raise ValidationError(f"date {performed_on.isoformat()} is in the future; record a calibration once done")
    if isinstance(interval_days, bool) or not isinstance(interval_days, int) or not 1 <= interval_days <= 3660:
        raise ValidationError(f"calibration interval {interval_days!r} days: a whole number of days from 1 to 3660")
    if outcome == "fail" and not (notes or "").strip():
        raise ValidationError("a failed calibration needs a note: what failed and what is done about it")
    row = {"instrument": instrument, "role": role, "kind": kind, "outcome": outcome,
           "performed_on": performed_on.isoformat(), "interval_days": interval_days,
           "next_due": (performed_on + timedelta(days=interval_days)).isoformat(),
           "reference": (reference or "").strip() or None, "notes": (notes or "").strip() or None}
    with store.writing() as conn:
        new_id = conn.execute(schema.calibrations.insert().values(**row, at=at, who=who)).inserted_primary_key[0]
        append_audit(conn, who=who, what=f"{kind}_{outcome}", at=at, new=row,
                     rows=[range_item(conn, "calibrations", new_id, new_id)])
    return _calibration(row | {"id": int(new_id), "at": at, "who": who})


def calibrations(store, instrument: str | None = None, *, since: date | None = None,
                 until: date | None = None) -> list[Calibration]:
    """Records, newest first (by date performed, then as entered)."""
    t = schema.calibrations
    query = sa.select(t).order_by(t.c.performed_on.desc(), t.c.id.desc())
    if instrument is not None:
        query = query.where(t.c.instrument == instrument)
    if since is not None:
        query = query.where(t.c.performed_on >= since.isoformat())
    if until is not None:
        query = query.where(t.c.performed_on <= until.isoformat())
    with store.engine.connect() as conn:
        return [_calibration(r) for r in conn.execute(query).mappings()]


def latest(store, instrument: str) -> Calibration | None:
    """The instrument's latest calibration or verification (the one the calibration-due check reads)."""
    found = calibrations(store, instrument)
    return found[0] if found else None


def _calibration(row) -> Calibration:
    return Calibration(row["id"], row["instrument"], row["role"], row["kind"], row["outcome"],
                       date.fromisoformat(row["performed_on"]), row["interval_days"],
                       date.fromisoformat(row["next_due"]), row["reference"], row["notes"], row["at"], row["who"])
