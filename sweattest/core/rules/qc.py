"""Quality control of the chloride analyzer: control levels, Westgard rules, release gate, calibration.

Sources:
- CLSI C34; CLIA: at least two levels of control (normal and abnormal, about 40 and 100 mmol/L) each
  analytical run; target mean and SD per control lot.
- Westgard multirule (as cited by CLSI C34): 1-2s warning; 1-3s, 2-2s, R-4s rejection within a run;
  4-1s and 10-x rejection across runs (and 2-2s across runs within one level).
- CLSI C34: patient results are released only when QC is in control.
- CLSI C34: calibration check with a NaCl standard per the analyzer's manual; the interval is set per
  analyzer.

"Beyond 2s" means |z| > 2: a control exactly at mean + 2 SD does not trip 1-2s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.westgard import SRC_WESTGARD as SRC_WESTGARD
from sweattest.core.rules.westgard import WestgardRules, judge
from sweattest.core.units import Quantity, require

SRC_LEVELS = "CLSI C34; CLIA (two control levels each analytical run)"
SRC_RELEASE = "CLSI C34 (patient results released only when QC is in control)"
SRC_HOLD = ("CLSI C34; CLIA 42 CFR 493.1282 (a rejected run: corrective action recorded and QC in control again "
            "before patient results are released)")
SRC_CALIBRATION = "CLSI C34 (calibration check with a NaCl standard per the analyzer's manual)"
REQUIRED_LEVELS = 2


@dataclass(frozen=True)
class ControlLot:
    """Target mean and SD of one control material lot at one level (e.g. "normal", "abnormal")."""

    level: str
    lot: str
    mean: Quantity
    sd: Quantity


@dataclass(frozen=True)
class ControlResult:
    level: str
    lot: str
    value: Quantity


@dataclass(frozen=True)
class QCRun:
    """The control results of one analytical run on one analyzer, in measurement order."""

    run_id: str
    analyzer: str
    results: tuple[ControlResult, ...]


@dataclass(frozen=True)
class RunQC:
    """The QC verdict of one analytical run."""

    run_id: str
    levels: tuple[str, ...]
    rejected: bool
    findings: tuple[Finding, ...]


def z_scores(run: QCRun, targets: Mapping[str, ControlLot]) -> list[tuple[str, float]]:
    """(level, z) for each control of ``run``; ``targets`` maps a lot number to its target."""
    out = []
    for r in run.results:
        target = targets.get(r.lot)
        if target is None:
            raise ValidationError(f"QC run {run.run_id}: control lot {r.lot!r} has no target mean and SD; "
                                  "enter the lot's targets first")
        if target.level != r.level:
            raise ValidationError(f"QC run {run.run_id}: lot {r.lot!r} is a {target.level} control, "
                                  f"not {r.level}")
        value = require(r.value, "concentration", f"QC {r.level} control").to("mmol/L").magnitude
        mean = require(target.mean, "concentration", f"lot {r.lot} mean").to("mmol/L").magnitude
        sd = require(target.sd, "concentration", f"lot {r.lot} SD").to("mmol/L").magnitude
        if sd <= 0:
            raise ValidationError(f"lot {r.lot}: SD must be above 0 mmol/L")
        out.append((r.level, round((value - mean) / sd, 9)))
    return out


def evaluate_run(run: QCRun, targets: Mapping[str, ControlLot], history: Sequence[QCRun] = (),
                 rules: WestgardRules | None = None) -> RunQC:
    """Westgard multirule on every control of ``run`` (all lots, both levels, in any order) with the earlier runs
    of the same series (one analyzer, one purpose; oldest first) in ``history``, by the lab's ``rules``."""
    rules = rules or WestgardRules()
    current = z_scores(run, targets)
    earlier = [z_scores(past, targets) for past in history if past.analyzer == run.analyzer]
    findings = judge(current, earlier, rules)
    levels = tuple(dict.fromkeys(level for level, _ in current))
    if len(levels) < REQUIRED_LEVELS:
        findings.append(Finding("qc_levels_missing", Severity.BLOCK, f"QC run {run.run_id} has "
                                f"{len(levels)} control level(s); two levels are required", SRC_LEVELS))
    rejected = any(f.severity is Severity.BLOCK for f in findings)
    return RunQC(run.run_id, levels, rejected, tuple(findings))


def can_release(run_qc: RunQC | None) -> list[Finding]:
    """Findings that keep the patient results of an analytical run from being final (empty: release)."""
    if run_qc is None:
        return [Finding("qc_missing", Severity.BLOCK, "no QC for this analytical run: run both control "
                        "levels before results can be final", SRC_RELEASE)]
    if run_qc.rejected:
        rules = ", ".join(f.code for f in run_qc.findings if f.severity is Severity.BLOCK)
        return [Finding("qc_rejected", Severity.BLOCK, f"QC of run {run_qc.run_id} is rejected ({rules}): "
                        "fix the analyzer, rerun QC and re-analyse the samples", SRC_RELEASE)]
    return []


def release_held(run_qc: RunQC | None, *, corrected: bool, passed_since: bool, overridden: bool) -> list[Finding]:
    """The release gate of an analytical run with its hold: a rejected run releases its results only when a
    corrective action is recorded and a later run passed QC after it, or when the hold is overridden (a separate
    signed act with its reason). Empty: release."""
    if run_qc is None or not run_qc.rejected or overridden or (corrected and passed_since):
        return can_release(run_qc) if run_qc is None or not run_qc.rejected else []
    blocks = ", ".join(f.code for f in run_qc.findings if f.severity is Severity.BLOCK)
    todo = ("run QC again and have it pass (the corrective action is recorded)" if corrected else
            "record the corrective action (sweattest qc correct), then run QC again and have it pass")
    return [Finding("qc_rejected", Severity.BLOCK, f"QC of run {run_qc.run_id} is rejected ({blocks}): {todo}; "
                    "or a reviewer or QA overrides the hold with a reason (sweattest qc override)", SRC_HOLD)]


def calibration_due(last_calibrated: date, interval: Quantity) -> date:
    days = require(interval, "time", "calibration interval").to("day").magnitude
    if days <= 0:
        raise ValidationError("calibration interval must be above 0 days")
    return last_calibrated + timedelta(days=int(days))


def check_calibration(analyzer: str, last_calibrated: date, interval: Quantity, on: date) -> list[Finding]:
    """The analyzer's calibration is due on last + interval; after that day analysis is blocked."""
    due = calibration_due(last_calibrated, interval)
    if on > due:
        return [Finding("calibration_overdue", Severity.BLOCK, f"analyzer {analyzer}: calibration was due "
                        f"{due.isoformat()}; calibrate before analysing", SRC_CALIBRATION)]
    if on == due:
        return [Finding("calibration_due", Severity.WARN, f"analyzer {analyzer}: calibration is due today",
                        SRC_CALIBRATION)]
    return []


