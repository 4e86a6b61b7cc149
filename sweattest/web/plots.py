"""Charts as SVG coordinates, drawn server-side for the QA pages: the stimulation trace (current and target
against time; the bench page draws the same chart live in the browser, static/bench.js) and the monthly bars
of the QA dashboards."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 640, 220, 34


def trace_svg(rows: list[dict[str, Any]], target_ma: float, duration_s: float) -> dict[str, Any]:
    """Polyline points for current and setpoint, plus the axes' scale, for ``trace.svg.html``."""
    t_max = max([duration_s] + [float(r["t"]) for r in rows]) or 1.0
    i_max = max([target_ma * 1.25] + [float(r["current_ma"]) for r in rows]) or 1.0
    step = max(1, len(rows) // 400)  # at most ~400 points on screen

    def xy(t: float, i: float) -> str:
        x = PAD + (WIDTH - 2 * PAD) * t / t_max
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * i / i_max
        return f"{x:.1f},{y:.1f}"

    picked = rows[::step] + rows[-1:] if rows else []
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD,
            "current": " ".join(xy(float(r["t"]), float(r["current_ma"])) for r in picked),
            "setpoint": " ".join(xy(float(r["t"]), float(r["setpoint_ma"])) for r in picked),
            "target_y": HEIGHT - PAD - (HEIGHT - 2 * PAD) * target_ma / i_max,
            "t_max_min": round(t_max / 60.0, 1), "i_max": round(i_max, 2), "target_ma": target_ma}


def bars(values: list[tuple[str, float]], unit: str, limits: list[float] = ()) -> dict[str, Any]:
    """A month-by-month bar chart for the ``bar_chart`` macro (macros.html): one bar per (label, value), dashed lines at
    ``limits`` (targets), the scale from 0 to the largest of them."""
    top = max([v for _, v in values] + list(limits) + [1.0]) * 1.1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    slot = inner_w / max(len(values), 1)
    bar = min(slot * 0.7, 60.0)

    def y(v: float) -> float:
        return round(HEIGHT - PAD - inner_h * v / top, 1)

    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "unit": unit, "top": round(top, 1),
            "bars": [{"label": label, "value": v, "x": round(PAD + (i + 0.5) * slot - bar / 2, 1),
                      "w": round(bar, 1), "y": y(v), "h": round(HEIGHT - PAD - y(v), 1),
                      "mid": round(PAD + (i + 0.5) * slot, 1)}
                     for i, (label, v) in enumerate(values)],
            "limits": [{"value": v, "y": y(v)} for v in limits]}
