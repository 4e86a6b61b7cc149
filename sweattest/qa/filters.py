"""Filters shared by the QA queries: date range (UTC dates, inclusive), operator, status, method, and the runs'
purposes (patient runs only unless others are named: ``sweattest.core.purpose``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.purpose import PATIENT, PURPOSES, describe
from sweattest.record.store import schema


@dataclass(frozen=True)
class RunFilter:
    date_from: date | None = None
    date_to: date | None = None
    operator: str | None = None
    status: str | None = None
    method: str | None = None
    purposes: tuple[str, ...] = (PATIENT,)

    def apply(self, query: sa.Select) -> sa.Select:
        runs = schema.runs
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(f"--from {self.date_from} is after --to {self.date_to}")
        if self.date_from:
            query = query.where(runs.c.created_at >= _midnight(self.date_from))
        if self.date_to:
            query = query.where(runs.c.created_at < _midnight(self.date_to + timedelta(days=1)))
        for column, value in (("operator", self.operator), ("state", self.status), ("method", self.method)):
            if value:
                query = query.where(runs.c[column] == value)
        if set(self.purposes) != set(PURPOSES):
            query = query.where(runs.c.purpose.in_(self.purposes))
        return query

    @property
    def counted(self) -> str:
        """The runs counted, as a heading names them ("patient runs")."""
        return describe(self.purposes)


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


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
