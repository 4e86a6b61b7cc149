"""Patient facts the store keeps beside a run for QA: date of birth and the QNS age group.

QNS-rate targets split at 3 months of age (CFF 2007, sweat-testing sheet §2): ``<=3m`` when the run
was created on or before the day the patient turned 3 months, ``>3m`` after; ``None`` when the order
gives no date of birth.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime
from typing import Any

INFANT = "<=3m"
OLDER = ">3m"


def order_dob(order: dict[str, Any]) -> str | None:
    """The patient's date of birth (``YYYY-MM-DD``) from an order, or None if absent or unreadable."""
    patient = order.get("patient") if isinstance(order, dict) else None
    dob = patient.get("dob") if isinstance(patient, dict) else None
    if not isinstance(dob, str):
        return None
    try:
        return date.fromisoformat(dob).isoformat()
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def age_group(dob: str | None, at: datetime) -> str | None:
    if dob is None:
        return None
    return INFANT if at.date() <= add_months(date.fromisoformat(dob), 3) else OLDER
