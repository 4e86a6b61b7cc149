"""Levey-Jennings chart of one analyzer's control level by date: mean and ±1/2/3 SD lines, Westgard violations
marked as each analytical run's verdict recorded them when it was made (``sweattest.record.qc_verdicts``). One
chart is one series: an analyzer, a purpose (patient unless asked), a level and a lot."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sweattest.core.errors import ValidationError
from sweattest.core.purpose import PATIENT
from sweattest.outputs.files import write_atomic
from sweattest.record.analytical_qc import series_rows
from sweattest.record.qc_lots import judging
from sweattest.record.qc_verdicts import standing_verdicts


@dataclass(frozen=True)
class ChartPoint:
    at: object
    value: float
    qc_run: str
    violations: tuple[str, ...]  # Westgard codes of the analytical run this control belongs to
    rejected: bool


def chart_points(store, analyzer: str, level: str, lot: str | None = None,
                 purpose: str = PATIENT) -> tuple[list[ChartPoint], dict]:
    """The level's controls on the chosen lot (default: the latest) in one series (the patient series unless
    ``purpose`` says otherwise) and that lot's target; each point with its analytical run's recorded verdict."""
    mine = [r for r in series_rows(store, analyzer, purpose) if r["level"] == level]
    if not mine:
        raise ValidationError(f"no QC results for analyzer {analyzer!r} level {level!r}; record QC first")
    lot = lot or mine[-1]["lot"]
    last = next((r for r in reversed(mine) if r["lot"] == lot), None)
    if last is None:
        raise ValidationError(f"no {level} QC results on lot {lot!r} for analyzer {analyzer!r}")
    judge = judging(store, analyzer)
    points = [_point(r, verdicts) for verdicts in [standing_verdicts(store, sorted({r["qc_run"] for r in mine}))]
              for r in mine if r["lot"] == lot]
    target = judge.target(last)  # the lot record's targets (the lab's own once established)
    return points, {"lot": lot, "mean": target.mean.to("mmol/L").magnitude, "sd": target.sd.to("mmol/L").magnitude}


def _point(row: dict, verdicts: dict) -> ChartPoint:
    found = verdicts.get(row["qc_run"])
    if found is None:
        return ChartPoint(row["at"], row["value"], row["qc_run"], (), False)
    codes = tuple(c for c in found.codes if c.startswith("westgard"))
    return ChartPoint(row["at"], row["value"], row["qc_run"], codes, found.rejected)


def rule_name(code: str) -> str:
    """``westgard_2_2s_across`` -> ``2-2s across``: the rule as a Levey-Jennings chart names it."""
    name = code.removeprefix("westgard_").replace("_across", " across").replace("_", "-")
    return name.replace("r-", "R-").replace("10-x", "10x")


def render_chart(points: list[ChartPoint], target: dict, title: str, out: Path, zone=None) -> Path:
    """The chart as a PNG at ``out``; dates in ``zone`` (a ZoneInfo; default UTC)."""
    return write_atomic(out, chart_png(points, target, title, zone))


def chart_png(points: list[ChartPoint], target: dict, title: str, zone=None) -> bytes:
    """The chart as PNG bytes; dates in ``zone`` (a ZoneInfo; default UTC)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    mean, sd = target["mean"], target["sd"]
    fig = Figure(figsize=(10, 5), dpi=100)
    ax = fig.add_subplot()
    xs = [p.at for p in points]
    ax.plot(xs, [p.value for p in points], marker="o", color="black", linewidth=1, label="control")
    ax.axhline(mean, color="green", linewidth=1.5, label=f"mean {mean:g}")
    for k, color in ((1, "#88aa88"), (2, "orange"), (3, "red")):
        for sign in (1, -1):
            ax.axhline(mean + sign * k * sd, color=color, linestyle="--", linewidth=1,
                       label=f"±{k} SD" if sign == 1 else None)
    for x, p in zip(xs, points, strict=True):
        if p.violations:
            ax.plot(x, p.value, marker="o", markersize=12, fillstyle="none",
                    color="red" if p.rejected else "orange")
            ax.annotate(", ".join(rule_name(c) for c in p.violations), (x, p.value),
                        textcoords="offset points", xytext=(0, 10), ha="center", fontsize=7,
                        color="red" if p.rejected else "orange")
    ax.set_title(title)
    ax.set_xlabel(f"date ({zone.key if zone is not None else 'UTC'})")
    if len(set(xs)) == 1:  # one day of QC: a week around it, not years
        ax.set_xlim(xs[0] - timedelta(days=3), xs[0] + timedelta(days=3))
    locator = mdates.AutoDateLocator(tz=zone, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    fig.autofmt_xdate()
    ax.set_ylabel("chloride (mmol/L)")
    values = [p.value for p in points]  # a control beyond 4 SD stays on the chart
    ax.set_ylim(min([mean - 4 * sd, *(v - sd for v in values)]), max([mean + 4 * sd, *(v + sd for v in values)]))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)  # outside: never over a point
    fig.subplots_adjust(right=0.86)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
