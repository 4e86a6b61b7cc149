"""`qa summary --month YYYY-MM`: runs, outcomes, QNS rate, repeats and turnaround for one month.

- runs: runs started in the month; reported / aborted / unfinished by their state.
- QNS rate: QNS runs over runs with a recorded result (see ``qa.qns``).
- repeats: runs whose patient already had a run in the 30 days before (a repeat collection).
- turnaround: start of the run to its end (reported or aborted), median and 90th percentile, minutes.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pandas as pd

from sweattest.qa.period import month_bounds
from sweattest.qa.runs import run_table
from sweattest.store import Store

REPEAT_WINDOW = timedelta(days=30)


def month_summary(store: Store, month: str) -> dict[str, Any]:
    start, end = month_bounds(month)
    window = run_table(store, since=start - REPEAT_WINDOW, until=end)
    frame = window[window["started_at"] >= start]
    with_result = frame[frame["qns"].notna()]
    qns = int(with_result["qns"].sum()) if len(with_result) else 0
    minutes = [(f - s).total_seconds() / 60 for s, f in zip(frame["started_at"], frame["finished_at"], strict=True)
               if f is not None and not pd.isna(f)]
    return {
        "month": month,
        "runs": len(frame),
        "reported": int((frame["status"] == "reported").sum()),
        "aborted": int((frame["status"] == "aborted").sum()),
        "unfinished": int((~frame["status"].isin(["reported", "aborted"])).sum()),
        "with_result": len(with_result),
        "qns": qns,
        "qns_rate": round(qns / len(with_result), 4) if len(with_result) else None,
        "repeats": _repeats(window, start),
        "corrected": int((frame["result_status"] == "corrected").sum()),
        "turnaround_median_min": round(float(pd.Series(minutes).median()), 1) if minutes else None,
        "turnaround_p90_min": round(float(pd.Series(minutes).quantile(0.9)), 1) if minutes else None,
    }


def _repeats(window: pd.DataFrame, start) -> int:  # noqa: ANN001
    count = 0
    for _, group in window.groupby("patient_mrn"):
        times = list(group["started_at"])
        count += sum(1 for a, b in pairwise(times) if b >= start and b - a <= REPEAT_WINDOW)
    return count


def format_summary(summary: dict[str, Any]) -> str:
    rate = "-" if summary["qns_rate"] is None else f"{summary['qns_rate']:.1%}"
    tat = ("-" if summary["turnaround_median_min"] is None else
           f"median {summary['turnaround_median_min']} min, 90th percentile {summary['turnaround_p90_min']} min")
    return "\n".join([
        f"QA summary for {summary['month']} (UTC)",
        f"  runs started       {summary['runs']} (reported {summary['reported']}, aborted "
        f"{summary['aborted']}, unfinished {summary['unfinished']})",
        f"  QNS rate           {rate} ({summary['qns']} of {summary['with_result']} with a result)",
        f"  repeats            {summary['repeats']} (same patient within 30 days)",
        f"  corrected results  {summary['corrected']}",
        f"  turnaround         {tat}",
    ]) + "\n"
