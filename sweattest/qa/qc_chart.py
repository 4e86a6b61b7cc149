"""Levey-Jennings chart of one analyzer's control level by date: mean and ±1/2/3 SD lines, Westgard violations
marked (rules from ``sweattest.core.rules.qc``, evaluated run by run with the runs before as history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Severity
from sweattest.core.rules.qc import ControlResult, QCRun, evaluate_run
from sweattest.core.units import Q_
from sweattest.outputs.files import write_atomic
from sweattest.record.qc_lots import Judging, judging


@dataclass(frozen=True)
class ChartPoint:
    at: object
    value: float
    qc_run: str
    violations: tuple[str, ...]  # Westgard codes of the analytical run this control belongs to
    rejected: bool


def chart_points(store, analyzer: str, level: str, lot: str | None = None) -> tuple[list[ChartPoint], dict]:
    """The level's controls on the chosen lot (default: the latest) and that lot's target."""
    rows = [r for lv in _levels(store, analyzer) for r in store.qc_results(analyzer, lv)]
    mine = [r for r in rows if r["level"] == level]
    if not mine:
        raise ValidationError(f"no QC results for analyzer {analyzer!r} level {level!r}; record QC first")
    lot = lot or mine[-1]["lot"]
    last = next((r for r in reversed(mine) if r["lot"] == lot), None)
    if last is None:
        raise ValidationError(f"no {level} QC results on lot {lot!r} for analyzer {analyzer!r}")
    judge = judging(store, analyzer)
    verdicts = _westgard(analyzer, rows, judge)
    points = [ChartPoint(r["at"], r["value"], r["qc_run"], *verdicts.get(r["qc_run"], ((), False)))
              for r in mine if r["lot"] == lot]
    target = judge.target(last)  # the lot record's targets (the lab's own once established)
    return points, {"lot": lot, "mean": target.mean.to("mmol/L").magnitude, "sd": target.sd.to("mmol/L").magnitude}


def _levels(store, analyzer: str) -> list[str]:
    return qc_choices(store).get(analyzer, [])


def qc_choices(store) -> dict[str, list[str]]:
    """Analyzer -> its control levels, as recorded in the QC results (sorted)."""
    import sqlalchemy as sa

    from sweattest.record.store import schema

    qc = schema.qc_results
    out: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for analyzer, level in conn.execute(sa.select(qc.c.analyzer, qc.c.level).distinct()
                                            .order_by(qc.c.analyzer, qc.c.level)):
            out.setdefault(analyzer, []).append(level)
    return out


def rule_name(code: str) -> str:
    """``westgard_2_2s_across`` -> ``2-2s across``: the rule as a Levey-Jennings chart names it."""
    name = code.removeprefix("westgard_").replace("_across", " across").replace("_", "-")
    return name.replace("r-", "R-")


def _westgard(analyzer: str, rows: list[dict], judge: Judging) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Each analytical run's Westgard codes, judged by the lot records' targets; results on a provisional lot
    are not judged."""
    rows = sorted((r for r in rows if judge.judged(r)), key=lambda r: (r["at"], r["id"]))
    targets = {r["lot"]: judge.target(r) for r in rows}
    runs: dict[str, list[ControlResult]] = {}
    for r in rows:
        runs.setdefault(r["qc_run"], []).append(ControlResult(r["level"], r["lot"], Q_(r["value"], "mmol/L")))
    history: list[QCRun] = []
    out = {}
    for run_id, results in runs.items():
        run = QCRun(run_id, analyzer, tuple(results))
        verdict = evaluate_run(run, targets, history)
        codes = tuple(f.code for f in verdict.findings if f.code.startswith("westgard"))
        out[run_id] = (codes, any(f.severity is Severity.BLOCK and f.code.startswith("westgard")
                                  for f in verdict.findings))
        history.append(run)
    return out


def render_chart(points: list[ChartPoint], target: dict, title: str, out: Path, zone=None) -> Path:
    """The chart as a PNG at ``out``; dates in ``zone`` (a ZoneInfo; default UTC)."""
    return write_atomic(out, chart_png(points, target, title, zone))


def chart_png(points: list[ChartPoint], target: dict, title: str, zone=None) -> bytes:
    """The chart as PNG bytes; dates in ``zone`` (a ZoneInfo; default UTC)."""
    import io

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
