"""Proficiency testing at the QA desk: the lab's result of each PT sample (from its blinded run), its grade
against the provider's acceptable range, each event's outcome, the failed events still waiting for their
corrective action, and the evidence pack's section.

Grading: a sample is *acceptable* when the lab's chloride lies within the provider's acceptable range, bounds
included (the range the provider reports: CAP evaluates against its peer-group range, UK NEQAS against its
target and limits); a sample without a numeric result (no run, QNS, below the measuring range, not reportable)
is *unacceptable*, as providers grade a result not returned. An event is *passed* only when every one of its
samples is acceptable. This is stricter than the CLIA event score of 80 % for regulated analytes (42 CFR
493.851); sweat chloride has no CLIA criterion of its own, and the CAP checklist (COM.01700, PT result evaluation)
asks that every unacceptable result be investigated and corrected, so one is enough to fail the event and
call for a corrective action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.qa.pack_section import PackSection
from sweattest.record import proficiency as pt
from sweattest.record.proficiency import ACCEPTABLE, UNACCEPTABLE, pt_runs
from sweattest.record.run_filter import RunFilter
from sweattest.record.stored_record import stored_record

SOURCE = ("event passed only when every sample is acceptable (stricter than CLIA's 80 %, 42 CFR 493.851; "
          "every unacceptable result investigated, CAP COM.01700)")
PASSED, FAILED, NOT_GRADED = "passed", "failed", "not graded"


@dataclass(frozen=True)
class LabResult:
    run_id: str | None
    value: float | None  # mmol/L; None: no numeric result
    note: str  # what the result is, or why there is none


def lab_result(store, sample_id: str, clock) -> LabResult:
    """The lab's result of a PT sample: the chloride of the first site of its run with a reported value."""
    runs = pt_runs(store, sample_id)
    if not runs:
        return LabResult(None, None, "not run")
    run_id = runs[0]
    try:
        record = stored_record(store, run_id, clock)
    except SweatTestError as exc:
        return LabResult(run_id, None, f"cannot be read: {exc}")
    for site in record.sites:
        chloride = site.chloride
        if chloride and chloride.value_mmol_l is not None and not chloride.comparator:
            return LabResult(run_id, float(chloride.value_mmol_l), f"{chloride.text} mmol/L ({site.site})")
    texts = [site.chloride.text if site.chloride else str(site.status) for site in record.sites]
    return LabResult(run_id, None, f"no numeric result ({', '.join(texts)})")


def grade(value: float | None, low: float, high: float) -> str:
    """The grading rule (module docstring)."""
    return ACCEPTABLE if value is not None and low <= value <= high else UNACCEPTABLE


def grade_event(store, event_code: str, clock, *, who: str) -> list[dict[str, Any]]:
    """Grade every sample of the event against its latest targets and record the grading; returns the rows."""
    event, targets = pt.event_targets(store, event_code)
    samples = list(targets)
    if not samples:
        raise ValidationError(f"PT event {event_code} has no samples; add them with `sweattest pt sample add`")
    missing = [s for s, t in targets.items() if t is None]
    if missing:
        raise ValidationError(f"PT event {event_code}: no targets yet for {', '.join(missing)}; enter the "
                              "provider's ranges with `sweattest pt targets` first. Nothing was graded")
    grades = []
    for sample_id in samples:
        result, t = lab_result(store, sample_id, clock), targets[sample_id]
        grades.append({"sample_id": sample_id, "run_id": result.run_id, "result": result.value, "low": t["low"],
                       "high": t["high"], "grade": grade(result.value, t["low"], t["high"])})
    pt.add_grades(store, event, grades, who=who)
    return grades


def _latest_grading(store, event: int) -> list[dict[str, Any]]:
    rows = pt.rows(store, "pt_grades", event_id=event)
    if not rows:
        return []
    last = max(r["at"] for r in rows)
    return [r for r in rows if r["at"] == last]


def events(store) -> list[dict[str, Any]]:
    """Every event, oldest first: its samples, outcome of its latest grading and its corrective actions."""
    out = []
    for ev in pt.rows(store, "pt_events"):
        grading = _latest_grading(store, ev["id"])
        actions = pt.rows(store, "pt_corrective_actions", event_id=ev["id"])
        outcome = NOT_GRADED if not grading else (PASSED if all(g["grade"] == ACCEPTABLE for g in grading)
                                                  else FAILED)
        graded_at = max((g["at"] for g in grading), default=None)
        open_action = outcome == FAILED and not any(a["at"] >= graded_at for a in actions)
        out.append(ev | {"samples": [s["sample_id"] for s in pt.rows(store, "pt_samples", event_id=ev["id"])],
                         "grades": grading, "outcome": outcome, "graded_at": graded_at, "actions": actions,
                         "needs_action": open_action})
    return out


def awaiting_corrective_action(store) -> list[dict[str, Any]]:
    """Failed events with no corrective action recorded since their grading: the QA desk shows them."""
    return [e for e in events(store) if e["needs_action"]]


def samples_of(store, event: dict[str, Any], clock) -> list[dict[str, Any]]:
    """An event's samples with their lab result, latest targets and latest grade."""
    grades = {g["sample_id"]: g for g in event["grades"]}
    targets = pt.sample_targets(store, event["samples"])
    return [{"sample_id": s, "result": lab_result(store, s, clock), "targets": targets[s], "grade": grades.get(s)}
            for s in event["samples"]]


def pack_section(store, where: RunFilter) -> PackSection:
    """PT results of the events received in the pack's period: one row per graded sample."""
    rows = []
    notes = [f"Grading: within the provider's acceptable range, bounds included; {SOURCE}."]
    for ev in events(store):
        received = date.fromisoformat(ev["received_on"])
        if (where.date_from and received < where.date_from) or (where.date_to and received > where.date_to):
            continue
        if not ev["grades"]:
            notes.append(f"{ev['provider']} {ev['event_code']}: not graded yet (due {ev['due_on']}).")
        for g in ev["grades"]:
            rows.append((ev["provider"], ev["scheme"], ev["event_code"], ev["received_on"], g["sample_id"],
                         g["result"], g["low"], g["high"], g["grade"], ev["outcome"]))
        if ev["needs_action"]:
            notes.append(f"{ev['provider']} {ev['event_code']} failed: no corrective action recorded yet.")
        for a in ev["actions"]:
            notes.append(f"{ev['provider']} {ev['event_code']} corrective action {a['done_on']} by {a['done_by']}: "
                         f"found {a['found']}; done {a['done']}.")
    return PackSection(key="proficiency_testing", title="Proficiency testing",
                       columns=("provider", "scheme", "event", "received", "sample", "result_mmol_l", "low_mmol_l",
                                "high_mmol_l", "grade", "event_outcome"),
                       rows=tuple(rows), notes=tuple(notes))
