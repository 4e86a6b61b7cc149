"""Which runs a QA question is about: date range (UTC dates, inclusive), operator, status, method, and the runs'
purposes (patient runs only unless others are named: ``sweattest.core.purpose``). The record's queries take one
and apply it in SQL."""

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
            query = query.where(runs.c.created_at >= midnight(self.date_from))
        if self.date_to:
            query = query.where(runs.c.created_at < midnight(self.date_to + timedelta(days=1)))
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

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as UTC instants: [start, end), either None when open."""
        return day_bounds(self.date_from, self.date_to)


def day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC dates, inclusive, as [start, end) instants; None where a side is open."""
    return (midnight(date_from) if date_from else None,
            midnight(date_to + timedelta(days=1)) if date_to else None)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
