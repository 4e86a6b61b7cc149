"""`qa qc-chart`: Levey-Jennings chart of one analyzer's control level, Westgard violations marked.

Mean and SD are the control lot's targets when every result carries them (as entered with the
result); otherwise they are computed from the results shown, and the chart says so.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from sweattest.errors import ValidationError
from sweattest.qa.westgard import is_rejection, violations, z_scores
from sweattest.store import Store
from sweattest.store.schema import qc_results

MIN_POINTS = 2


@dataclass(frozen=True)
class ChartData:
    analyzer: str
    level: str
    unit: str
    times: list[datetime]
    values: list[float]
    mean: float
    sd: float
    targets_from: str  # "lot targets" or "these results"
    rules: list[list[str]]


def chart_data(store: Store, analyzer: str, level: str, *, since: datetime | None = None,
               until: datetime | None = None) -> ChartData:
    query = (sa.select(qc_results).where(qc_results.c.analyzer == analyzer, qc_results.c.level == level)
             .order_by(qc_results.c.at, qc_results.c.id))
    if since is not None:
        query = query.where(qc_results.c.at >= since)
    if until is not None:
        query = query.where(qc_results.c.at < until)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    if len(rows) < MIN_POINTS:
        raise ValidationError(f"analyzer {analyzer!r} level {level!r} has {len(rows)} QC result(s) in this "
                              f"period; a chart needs at least {MIN_POINTS}")
    values = [r["value"] for r in rows]
    means = {r["target_mean"] for r in rows}
    sds = {r["target_sd"] for r in rows}
    if None not in means and None not in sds and len(means) == 1 and len(sds) == 1:
        mean, sd, source = means.pop(), sds.pop(), "lot targets"
    else:
        mean, sd, source = statistics.fmean(values), statistics.stdev(values), "these results"
    if sd <= 0:
        raise ValidationError(f"analyzer {analyzer!r} level {level!r}: the SD is zero; enter the lot's "
                              "target mean and SD with the QC results")
    return ChartData(analyzer, level, rows[0]["unit"], [r["at"] for r in rows], values, mean, sd, source,
                     violations(z_scores(values, mean, sd)))


def draw(data: ChartData, out: Path) -> None:
    """Write the chart as PNG (or any format matplotlib knows from the suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        ax.plot(data.times, data.values, "o-", color="#1f4e79", markersize=4, linewidth=1)
        for k, style in ((0, "-"), (1, ":"), (2, "--"), (3, "-.")):
            for sign in ((1,) if k == 0 else (1, -1)):
                y = data.mean + sign * k * data.sd
                ax.axhline(y, linestyle=style, color="black" if k == 0 else "grey", linewidth=0.8)
                label = "mean" if k == 0 else f"{'+' if sign > 0 else '-'}{k} SD"
                ax.annotate(f"{label} {y:.1f}", xy=(1.0, y), xycoords=("axes fraction", "data"),
                            fontsize=7, va="center")
        for t, v, rules in zip(data.times, data.values, data.rules, strict=True):
            if rules:
                colour = "red" if is_rejection(rules) else "orange"
                ax.plot([t], [v], "o", color=colour, markersize=9, fillstyle="none")
                ax.annotate(" ".join(rules), (t, v), textcoords="offset points", xytext=(0, 8), fontsize=7,
                            color=colour, ha="center")
        ax.set_title(f"Levey-Jennings: {data.analyzer}, level {data.level} "
                     f"(mean/SD from {data.targets_from})")
        ax.set_ylabel(data.unit)
        ax.set_xlabel("time (UTC)")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
