"""`qa summary --month YYYY-MM`: runs, QNS rate, repeats and turnaround time for one month."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sweattest.core.purpose import PATIENT
from sweattest.qa.filters import parse_month
from sweattest.qa.qns import qns_rate
from sweattest.qa.runs import runs_frame
from sweattest.record.run_counts import first_tested
from sweattest.record.run_filter import RunFilter


def month_summary(store, month: str, purposes: tuple[str, ...] = (PATIENT,)) -> dict[str, Any]:
    """The month's figures over the runs of ``purposes`` (patient runs unless others are named)."""
    first, last = parse_month(month)
    where = RunFilter(date_from=first, date_to=last, purposes=purposes)
    runs = runs_frame(store, where)
    rates = qns_rate(store, where, by_operator=False)
    tests, qns = int(rates["tests"].sum()), int(rates["qns"].sum())
    tat = (runs["reported_at"] - runs["started_at"]).dropna().dt.total_seconds() / 3600.0
    return {
        "month": month,
        "counted": where.counted,
        "runs": len(runs),
        "by_status": {k: int(v) for k, v in runs["status"].value_counts().sort_index().items()},
        "tests_with_sample": tests,
        "qns_tests": qns,
        "qns_rate_pct": round(100.0 * qns / tests, 1) if tests else None,
        "repeats": _repeats(store, runs, where),
        "turnaround_hours_median": _round(tat.median()),
        "turnaround_hours_p90": _round(tat.quantile(0.9)),
        "reported": int(tat.size),
    }


def _repeats(store, runs: pd.DataFrame, where: RunFilter) -> int:
    """Runs of the month whose patient already had an earlier run (any month, of the same purposes)."""
    if runs.empty:
        return 0
    firsts = first_tested(store, list(runs["patient_mrn"]), where.purposes)
    first_at = pd.to_datetime(runs["patient_mrn"].map(firsts), utc=True, format="%Y-%m-%dT%H:%M:%S.%fZ")
    return int((runs["started_at"] > first_at).sum())


def _round(value) -> float | None:
    return None if pd.isna(value) else round(float(value), 2)


def format_summary(s: dict[str, Any]) -> str:
    rate = "-" if s["qns_rate_pct"] is None else f"{s['qns_rate_pct']:.1f} %"
    status = ", ".join(f"{k} {v}" for k, v in s["by_status"].items()) or "none"
    tat = ("-" if s["turnaround_hours_median"] is None
           else f"median {s['turnaround_hours_median']:.1f} h, 90th percentile {s['turnaround_hours_p90']:.1f} h")
    return (f"month {s['month']} ({s['counted']})\n"
            f"runs:        {s['runs']} ({status})\n"
            f"QNS rate:    {rate} ({s['qns_tests']} of {s['tests_with_sample']} tests with a sample)\n"
            f"repeats:     {s['repeats']} (patients tested before)\n"
            f"turnaround:  {tat} from start to report ({s['reported']} reported)\n")
