"""QNS rate per operator and month, split at patient age 3 months (CFF 2007 targets).

A run counts once (a test = a patient visit) when its result has been recorded (``runs.qns`` is not
null); it is QNS when every site was QNS. Targets (CFF 2007, sweat-testing sheet §2): at most 5 % for
patients over 3 months, at most 10 % for patients 3 months or younger. The aggregation runs in SQL
over the ``ix_runs_qa`` index, so a million runs take well under a second.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from sweattest.store import Store
from sweattest.store.patient import INFANT, OLDER
from sweattest.store.schema import runs

SRC = "CFF 2007 (sweat-testing sheet §2: QNS <= 5 % over 3 months, <= 10 % at 3 months or younger)"
TARGETS = {OLDER: 0.05, INFANT: 0.10}
COLUMNS = ["operator", "month", "age_group", "tests", "qns", "rate", "target", "breach"]


def qns_counts(store: Store, *, since: datetime | None = None, until: datetime | None = None,
               operator: str | None = None) -> pd.DataFrame:
    month = runs.c.created_month.label("month")
    query = (sa.select(runs.c.operator, month, runs.c.age_group, sa.func.count().label("tests"),
                       sa.func.sum(sa.case((runs.c.qns, 1), else_=0)).label("qns"))
             .where(runs.c.qns.is_not(None))
             .group_by(runs.c.operator, runs.c.created_month, runs.c.age_group))
    if since is not None:
        query = query.where(runs.c.created_at >= since)
    if until is not None:
        query = query.where(runs.c.created_at < until)
    if operator is not None:
        query = query.where(runs.c.operator == operator)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["operator", "month", "age_group", "tests", "qns"])


def qns_rate(store: Store, **filters) -> pd.DataFrame:  # noqa: ANN003 - same filters as qns_counts
    """Tests, QNS count, rate, target and breach per operator, month and age group."""
    frame = qns_counts(store, **filters)
    frame["age_group"] = frame["age_group"].fillna("unknown")
    frame["tests"] = frame["tests"].astype(int)
    frame["qns"] = frame["qns"].astype(int)
    frame["rate"] = frame["qns"] / frame["tests"]
    frame["target"] = frame["age_group"].map(TARGETS)
    frame["breach"] = frame["rate"] > frame["target"]
    return frame.sort_values(["month", "operator", "age_group"]).reset_index(drop=True)[COLUMNS]


def format_rates(frame: pd.DataFrame) -> str:
    """Readable table; breaches marked with '!' and 'BREACH'."""
    if frame.empty:
        return "no runs with a recorded result in this period\n"
    lines = [f"{'month':<8} {'operator':<14} {'age':<8} {'tests':>6} {'QNS':>5} {'rate':>7} {'target':>7}"]
    for row in frame.itertuples(index=False):
        target = "-" if pd.isna(row.target) else f"<={row.target:.0%}"
        mark = "  ! BREACH" if row.breach else ""
        lines.append(f"{row.month:<8} {row.operator:<14} {row.age_group:<8} {row.tests:>6} {row.qns:>5} "
                     f"{row.rate:>7.1%} {target:>7}{mark}")
    lines.append(f"targets: {SRC}")
    return "\n".join(lines) + "\n"
