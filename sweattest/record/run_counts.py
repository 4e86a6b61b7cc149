"""Counts over the runs' QA columns, aggregated in SQL: tests and QNS tests per operator, month and age group;
each operator's tests, judged tests, QNS tests and tests with a skin reaction; when each patient was first
tested; when the patient tests of a period were made. Runs are chosen by a ``RunFilter``."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from sweattest.core.purpose import PATIENT
from sweattest.record.run_filter import RunFilter, day_bounds
from sweattest.record.skin_reactions import latest_reactions_query
from sweattest.record.store import schema

#: The columns of ``qns_counts``'s rows.
QNS_COUNT_COLUMNS = ("operator", "month", "age_group", "tests", "qns")


def qns_counts(store, where: RunFilter | None = None, *, by_operator: bool = True) -> list[tuple]:
    """(operator, month, age group, tests, QNS tests) of the runs with a measured sample (the operator is "all"
    unless ``by_operator``); the age group is None for a patient without a date of birth."""
    r = schema.runs
    month = r.c.month.label("month")
    group = r.c.age_group.label("age_group")
    operator = (r.c.operator if by_operator else sa.literal("all")).label("operator")
    query = (sa.select(operator, month, group, sa.func.count().label("tests"),
                       sa.func.sum(sa.case((r.c.qns, 1), else_=0)).label("qns"))
             .where(r.c.qns.is_not(None)).group_by(operator, month, group).order_by(operator, month, group))
    query = (where or RunFilter()).apply(query)
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query).all()]


def operator_counts(store, where: RunFilter) -> dict[str, tuple[int, int, int, int]]:
    """Operator -> (tests, judged, QNS tests, tests with a skin reaction) over the runs ``where`` chooses."""
    r, sr = schema.runs, schema.skin_reactions
    reacted = (sa.select(sr.c.run_id).where(sr.c.id.in_(latest_reactions_query()), sr.c.grade != "none"))
    query = (sa.select(r.c.operator, sa.func.count().label("tests"),
                       sa.func.sum(sa.case((r.c.qns.is_not(None), 1), else_=0)).label("judged"),
                       sa.func.sum(sa.case((r.c.qns, 1), else_=0)).label("qns"),
                       sa.func.sum(sa.case((r.c.run_id.in_(reacted), 1), else_=0)).label("reacted"))
             .group_by(r.c.operator).order_by(r.c.operator))
    query = where.apply(query)
    with store.engine.connect() as conn:
        return {row.operator: (int(row.tests), int(row.judged or 0), int(row.qns or 0), int(row.reacted or 0))
                for row in conn.execute(query)}


def first_tested(store, mrns: list[str], purposes: tuple[str, ...]) -> dict[str, str]:
    """MRN -> the time of the patient's first run of ``purposes`` (any date), as stored."""
    r = schema.runs
    first_run = (sa.select(r.c.patient_mrn, sa.func.min(r.c.created_at).label("first"))
                 .where(r.c.patient_mrn.in_(sa.bindparam("mrns", expanding=True))).group_by(r.c.patient_mrn))
    first_run = RunFilter(purposes=purposes).apply(first_run)
    mrns = sorted(set(mrns))
    firsts: dict[str, str] = {}
    with store.engine.connect() as conn:
        for i in range(0, len(mrns), 500):
            firsts.update(dict(conn.execute(first_run, {"mrns": mrns[i:i + 500]}).all()))
    return firsts


def patient_test_times(store, date_from: date | None = None, date_to: date | None = None) -> list[datetime]:
    """When each patient run of the period (UTC dates, inclusive) was started."""
    runs = schema.runs
    start, end = day_bounds(date_from, date_to)
    query = sa.select(runs.c.created_at).where(runs.c.purpose == PATIENT)
    if start is not None:
        query = query.where(runs.c.created_at >= start)
    if end is not None:
        query = query.where(runs.c.created_at < end)
    with store.engine.connect() as conn:
        return [created for (created,) in conn.execute(query)]
