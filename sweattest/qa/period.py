"""Date ranges for QA queries: whole UTC days, ``since`` inclusive and ``until`` inclusive."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sweattest.errors import ValidationError


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{option}: {text!r} is not a date; use YYYY-MM-DD") from None


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of ``since``, start of the day after ``until``) as aware UTC datetimes."""
    if since and until and until < since:
        raise ValidationError(f"--until {until} is before --since {since}; swap them")
    start = datetime.combine(since, time(0), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), UTC) if until else None
    return start, end


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """First instant of ``YYYY-MM`` and of the next month (UTC)."""
    try:
        first = datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(f"--month: {month!r} is not a month; use YYYY-MM") from None
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt
