"""Calendar age: the one age every age cut-off uses (range sets, eligibility, QNS age groups, the report).

Age is counted by the calendar, in years, months and days from the date of birth to the collection date
in the laboratory's time zone; never days / 30.44. A month's anniversary falls on the same day of the month;
in a month without that day (born on the 29th, 30th or 31st, or on 29 February) it falls on the last day of
the month: born 31 August, the patient is 6 months old on 28 February (29 February in a leap year); born
29 February 2024, 1 year old on 28 February 2025.

Which group the boundary day belongs to is set per cut-off, with its source, by ``Cutoff`` (listed in
docs/rules.md): "6 months or under" (CLSI C34-A3) puts the day the patient turns 6 months in the younger
group; "under 6 months" (ACB 2014) puts it in the older group.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sweattest.core.errors import ValidationError


@dataclass(frozen=True, order=True)
class CalendarAge:
    """Completed months (years are 12 of them) and the days since the last month's anniversary."""

    total_months: int
    days: int

    @property
    def years(self) -> int:
        return self.total_months // 12

    @property
    def months(self) -> int:
        return self.total_months % 12

    def text(self) -> str:
        """``5 months 30 days``, ``1 year 0 months 3 days``, ``12 days``."""
        parts = []
        if self.years:
            parts.append(_plural(self.years, "year"))
        if self.total_months:
            parts.append(_plural(self.months, "month"))
        parts.append(_plural(self.days, "day"))
        return " ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def add_months(born: date, months: int) -> date:
    """The anniversary ``months`` after ``born``: the same day of the month, else the month's last day."""
    index = born.year * 12 + born.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(born.day, last))


def calendar_age(born: date, on: date) -> CalendarAge:
    """The age on ``on`` of a patient born ``born`` (both calendar dates in the lab's time zone)."""
    if on < born:
        raise ValidationError(f"the date of birth {born.isoformat()} is after {on.isoformat()}: correct the date "
                              "of birth on the order")
    months = (on.year - born.year) * 12 + on.month - born.month
    if add_months(born, months) > on:
        months -= 1
    return CalendarAge(months, (on - add_months(born, months)).days)


def local_date(at: datetime, zone: tzinfo) -> date:
    """The calendar date of ``at`` (an aware time) in the lab's time zone."""
    if at.tzinfo is None:
        raise ValidationError("a collection time must carry a time zone (e.g. 2026-11-20T10:00:00Z)")
    return at.astimezone(zone).date()


def age_at(born: date, at: datetime, zone: tzinfo) -> CalendarAge:
    """The calendar age on the local date (in ``zone``) of the collection time ``at``."""
    return calendar_age(born, local_date(at, zone))


@dataclass(frozen=True)
class Cutoff:
    """An age cut-off of whole months; ``boundary_younger``: the day the patient reaches exactly ``months``
    months (0 days) belongs to the younger group ("N months or under"), else to the older ("under N months")."""

    months: int
    boundary_younger: bool
    source: str

    def younger(self, age: CalendarAge) -> bool:
        if age.total_months != self.months or age.days != 0:
            return age.total_months < self.months
        return self.boundary_younger
