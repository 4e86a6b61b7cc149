"""Westgard rules on one control level's series, point by point, for the Levey-Jennings chart.

Rules (CLSI C34, sweat-testing sheet §3): 1-2s warning; 1-3s, 2-2s, R-4s, 4-1s, 10-x rejection.
"Beyond 2s" means |z| > 2, as in ``sweattest.rules.qc``. On a single-level series, R-4s is read across
consecutive points (one above +2 SD, the next below -2 SD or the reverse). Each rule is marked on the
point that completes it.
"""

from __future__ import annotations

from collections.abc import Sequence

WARNING = "1-2s"
REJECTION = ("1-3s", "2-2s", "R-4s", "4-1s", "10-x")


def z_scores(values: Sequence[float], mean: float, sd: float) -> list[float]:
    return [(v - mean) / sd for v in values]


def violations(zs: Sequence[float]) -> list[list[str]]:
    """For each point, the rules it trips (empty list: in control)."""
    return [_point(zs, i) for i in range(len(zs))]


def _point(zs: Sequence[float], i: int) -> list[str]:
    z = zs[i]
    found = []
    if abs(z) > 3:
        found.append("1-3s")
    elif abs(z) > 2:
        found.append(WARNING)
    if i >= 1:
        prev = zs[i - 1]
        if (z > 2 and prev > 2) or (z < -2 and prev < -2):
            found.append("2-2s")
        if (z > 2 and prev < -2) or (z < -2 and prev > 2):
            found.append("R-4s")
    if _same_side(zs[max(0, i - 3):i + 1], 4, 1.0):
        found.append("4-1s")
    if _same_side(zs[max(0, i - 9):i + 1], 10, 0.0):
        found.append("10-x")
    return found


def _same_side(window: Sequence[float], n: int, limit: float) -> bool:
    return len(window) == n and (all(z > limit for z in window) or all(z < -limit for z in window))


def is_rejection(rules: Sequence[str]) -> bool:
    return any(r in REJECTION for r in rules)
