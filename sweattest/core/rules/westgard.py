"""The Westgard multirule, as Westgard defines each rule, over the z-scores of an analytical run's controls and
the runs before it in the same series (one analyzer, one purpose).

Sources: Westgard JO, Barry PL, Hunt MR, Groth T. A multi-rule Shewhart chart for quality control in clinical
chemistry. Clin Chem 1981;27:493-501; westgard.com, "Westgard Rules and Multirules" (R-4s within a run only,
to tell random error from a shift between runs; 4-1s and 10x within a material across runs and across materials
within and across runs); CLSI C34 (1-2s warning; 1-3s, 2-2s, R-4s, 4-1s, 10x rejection).

- 1-2s: a control beyond mean ± 2 SD: a warning to inspect the other rules (when no rule of the run rejects).
- 1-3s: a control beyond mean ± 3 SD.
- 2-2s: two controls beyond the same 2 SD limit: within a run, any two of its controls (any lots, any levels);
  across runs, the same level in two consecutive runs (``westgard_2_2s_across``).
- R-4s: within a run only: one control beyond +2 SD and another beyond -2 SD.
- 4-1s: four consecutive controls beyond the same 1 SD limit: within one level across runs, and across the
  levels within and across runs.
- 10x: ten consecutive controls on the same side of the mean, counted the same ways.

"Beyond 2 SD" means |z| > 2: a control exactly at mean + 2 SD does not trip 1-2s. The controls of one run have
no order among themselves (a run is judged on all its controls at once): a run's controls beyond a limit count as
consecutive with those of the run before it when every control of that series in the later run is beyond it.
An across-run rule is tripped only by a window that includes the current run: an earlier rejection is that run's
own verdict, recorded when it was made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sweattest.core.errors import ConfigError
from sweattest.core.rules.findings import Finding, Severity

SRC_WESTGARD = ("Westgard JO et al., Clin Chem 1981;27:493-501 (multirule: 1-2s warning; 1-3s 2-2s R-4s 4-1s "
                "10x rejection), as cited by CLSI C34")
#: The rules a lab may use, by their usual names.
RULES = ("1-2s", "1-3s", "2-2s", "R-4s", "4-1s", "10x")
DEFAULT_REJECT = ("1-3s", "2-2s", "R-4s", "4-1s", "10x")
DEFAULT_WARN = ("1-2s",)
_WHAT = {
    "westgard_1_3s": ("1-3s", "a control is beyond 3 SD"),
    "westgard_2_2s": ("2-2s", "two controls of the run beyond the same 2 SD limit"),
    "westgard_2_2s_across": ("2-2s", "one level beyond the same 2 SD limit in two consecutive runs"),
    "westgard_r_4s": ("R-4s", "one control beyond +2 SD and another beyond -2 SD in the run"),
    "westgard_4_1s": ("4-1s", "four consecutive controls beyond the same 1 SD limit"),
    "westgard_10_x": ("10x", "ten consecutive controls on the same side of the mean"),
    "westgard_1_2s": ("1-2s", "a control is beyond 2 SD; inspect the other rules and the trend"),
}

Z = tuple[str, float]  # (level, z-score)


@dataclass(frozen=True)
class WestgardRules:
    """The rules in use (the lab's ``[qc]`` configuration): those that reject a run, those that warn."""

    reject: tuple[str, ...] = DEFAULT_REJECT
    warn: tuple[str, ...] = DEFAULT_WARN

    def severity(self, rule: str) -> Severity | None:
        if rule in self.reject:
            return Severity.BLOCK
        if rule in self.warn:
            return Severity.WARN
        return None

    def describe(self) -> str:
        warn = f"; warning {', '.join(self.warn)}" if self.warn else ""
        return f"reject {', '.join(self.reject) or 'none'}{warn}"

    def as_dict(self) -> dict[str, list[str]]:
        return {"reject": list(self.reject), "warn": list(self.warn)}


def parse_rules(section: dict, where: str) -> WestgardRules:
    """``[qc] reject = ["1-3s", ...]`` and ``warn = ["1-2s"]``: each a list of known rules, none in both."""
    chosen = {}
    for key, default in (("reject", DEFAULT_REJECT), ("warn", DEFAULT_WARN)):
        value = section.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: [qc] {key} = {value!r}: a list of rules in quotes, e.g. "
                              f"[{', '.join(repr(r) for r in default)}]")
        unknown = [v for v in value if v not in RULES]
        if unknown:
            raise ConfigError(f"{where}: [qc] {key}: unknown rule {unknown[0]!r}; use any of {', '.join(RULES)}")
        chosen[key] = tuple(dict.fromkeys(value))
    both = [r for r in chosen["reject"] if r in chosen["warn"]]
    if both:
        raise ConfigError(f"{where}: [qc] rule {both[0]} is both in reject and in warn; put it in one")
    if not chosen["reject"]:
        raise ConfigError(f"{where}: [qc] reject is empty: a QC procedure needs at least one rejection rule "
                          "(CLSI C34; Westgard: 1-3s for random error and 2-2s or 4-1s for systematic error)")
    return WestgardRules(**chosen)


def judge(current: list[Z], earlier: Sequence[list[Z]], rules: WestgardRules) -> list[Finding]:
    """Findings of the run whose controls are ``current``, with ``earlier`` runs of the series (oldest first)."""
    zs = [z for _, z in current]
    runs = [*earlier, current]
    tripped: list[str] = []
    if any(abs(z) > 3 for z in zs):
        tripped.append("westgard_1_3s")
    if sum(z > 2 for z in zs) >= 2 or sum(z < -2 for z in zs) >= 2:
        tripped.append("westgard_2_2s")
    if any(z > 2 for z in zs) and any(z < -2 for z in zs):
        tripped.append("westgard_r_4s")
    if not any(rules.severity(_WHAT[c][0]) for c in tripped) and any(abs(z) > 2 for z in zs):
        tripped.append("westgard_1_2s")
    levels = list(dict.fromkeys(level for level, _ in current))
    per_level = [[[z for lv, z in run if lv == level] for run in runs] for level in levels]
    every = [[z for _, z in run] for run in runs]
    if any(_streak(series, 1) >= 4 for series in [every, *per_level]):
        tripped.append("westgard_4_1s")
    if any(_streak(series, 0) >= 10 for series in [every, *per_level]):
        tripped.append("westgard_10_x")
    if any(_spans_runs(series, 2) for series in per_level):
        tripped.append("westgard_2_2s_across")
    return _findings(tripped, rules)


def _findings(codes: Iterable[str], rules: WestgardRules) -> list[Finding]:
    out = []
    for code in codes:
        rule, what = _WHAT[code]
        severity = rules.severity(rule)
        if severity is Severity.BLOCK:
            out.append(Finding(code, severity, f"QC rejected by Westgard {rule}: {what}", SRC_WESTGARD))
        elif severity is Severity.WARN:
            out.append(Finding(code, severity, f"QC warning (Westgard {rule}): {what}", SRC_WESTGARD))
    return out


def _streak(series: list[list[float]], limit: float) -> int:
    """The longest count of consecutive controls beyond the same ``limit`` (above or below) that ends in the last
    run of ``series``: the last run's controls beyond it, then the runs before while each was beyond it whole."""
    return max(_count(series, limit, 1), _count(series, limit, -1))


def _count(series: list[list[float]], limit: float, side: int) -> int:
    total = 0
    for run in reversed(series):
        beyond = sum(side * z > limit for z in run)
        total += beyond
        if beyond < len(run) or (run is series[-1] and beyond == 0):
            break
    return total


def _spans_runs(series: list[list[float]], limit: float) -> bool:
    """The 2 SD streak ending in the last run reaches into an earlier run (2-2s across runs)."""
    last, before = series[-1], [run for run in series[:-1] if run]
    if not last or not before:
        return False
    return any(all(side * z > limit for z in last) and any(side * z > limit for z in before[-1])
               for side in (1, -1))
