"""QNS rate per operator and month, split at the patient age of 3 months (CFF 2007 targets).

Counted per test (run): a test is QNS when every site with a measured sample was QNS. Runs without a
measured sample (aborted before collection) are not counted. Aggregated in SQL over the runs' QA columns.
"""

from __future__ import annotations

import pandas as pd

from sweattest.record.run_counts import QNS_COUNT_COLUMNS, qns_counts
from sweattest.record.run_filter import RunFilter
from sweattest.record.store.derived import INFANT, OLDER

#: CFF 2007 (LeGrys et al., J Pediatr 2007;151:85-89): QNS rate at most 5 % over 3 months of age, 10 % up to 3 months.
QNS_TARGETS = {OLDER: 5.0, INFANT: 10.0}
SOURCE = "CFF 2007 (LeGrys et al., J Pediatr 2007;151:85-89)"
UNKNOWN_AGE = "unknown"
QNS_COLUMNS = ("operator", "month", "age_group", "tests", "qns", "rate_pct", "target_pct", "breach")


def qns_rate(store, where: RunFilter | None = None, *, by_operator: bool = True) -> pd.DataFrame:
    """One row per (operator, month, age group): tests, QNS tests, rate in %, target in %, breach."""
    rows = qns_counts(store, where, by_operator=by_operator)
    frame = pd.DataFrame(rows, columns=list(QNS_COUNT_COLUMNS))
    frame["age_group"] = frame["age_group"].fillna(UNKNOWN_AGE)  # no date of birth
    frame["qns"] = frame["qns"].astype(int)
    frame["rate_pct"] = (100.0 * frame["qns"] / frame["tests"]).round(1)
    frame["target_pct"] = frame["age_group"].map(QNS_TARGETS)
    frame["breach"] = frame["rate_pct"] > frame["target_pct"]
    return frame


def format_qns(frame: pd.DataFrame, counted: str = "patient runs") -> str:
    if frame.empty:
        return f"no tests with a measured sample match ({counted})\n"
    width = max(14, *(len(str(name)) for name in frame["operator"]))  # the longest name sets the column
    lines = [f"QNS rate per test of {counted}; targets {SOURCE}: <= 5 % over 3 months, <= 10 % up to 3 months",
             f"{'operator':<{width}} {'month':<8} {'age':<8} {'tests':>7} {'QNS':>6} {'rate':>7} {'target':>7}"]
    for row in frame.itertuples(index=False):
        target = "-" if pd.isna(row.target_pct) else f"{row.target_pct:.0f} %"
        mark = "  BREACH" if row.breach else ""
        lines.append(f"{row.operator:<{width}} {row.month:<8} {row.age_group:<8} {row.tests:>7} {row.qns:>6} "
                     f"{row.rate_pct:>5.1f} % {target:>7}{mark}")
    return "\n".join(lines) + "\n"
