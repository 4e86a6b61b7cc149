"""The QA commands' dates and months as people type them (the runs they choose: ``sweattest.record.run_filter``)."""

from __future__ import annotations

from datetime import date

from sweattest.core.errors import ValidationError


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{option} {text!r}: use a date such as 2026-11-01") from None


def parse_month(text: str) -> tuple[date, date]:
    """First and last day of YYYY-MM."""
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValidationError(f"--month {text!r}: use YYYY-MM, such as 2026-11") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)

