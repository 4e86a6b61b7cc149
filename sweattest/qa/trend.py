"""Month-by-month trends for the QA dashboards: the QNS rate (all operators, against the CFF 2007 targets)
and the turnaround time from start to report (median and 90th percentile), one row per month (UTC)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sweattest.qa.qns import qns_rate
from sweattest.qa.runs import runs_frame
from sweattest.record.run_filter import RunFilter


def qns_trend(store, where: RunFilter | None = None) -> list[dict[str, Any]]:
    """Per month: tests with a sample, QNS tests, rate in %, and whether an age group broke its target."""
    frame = qns_rate(store, where, by_operator=False)
    out = []
    for month, rows in frame.groupby("month", sort=True):
        tests, qns = int(rows["tests"].sum()), int(rows["qns"].sum())
        out.append({"month": month, "tests": tests, "qns": qns, "rate_pct": round(100.0 * qns / tests, 1),
                    "breach": bool(rows["breach"].any())})
    return out


def turnaround_trend(store, where: RunFilter | None = None) -> list[dict[str, Any]]:
    """Per month of the start: runs, runs reported, median and 90th percentile hours from start to report."""
    runs = runs_frame(store, where)
    if runs.empty:
        return []
    runs["month"] = runs["started_at"].dt.strftime("%Y-%m")
    return [{"month": month} | turnaround_figures(rows) for month, rows in runs.groupby("month", sort=True)]


def turnaround_figures(runs: pd.DataFrame) -> dict[str, Any]:
    """Runs, runs reported, median and 90th percentile hours from start to report of ``runs`` (``runs_frame``)."""
    hours = ((runs["reported_at"] - runs["started_at"]).dt.total_seconds() / 3600.0).dropna()
    return {"runs": len(runs), "reported": int(hours.size), "median_h": _round(hours.median()),
            "p90_h": _round(hours.quantile(0.9))}


def _round(value) -> float | None:
    return None if pd.isna(value) else round(float(value), 1)
