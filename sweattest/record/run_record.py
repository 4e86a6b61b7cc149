"""The run record: everything known about a run, as plain data for JSON, reports and LIMS files.

Version 2 adds per-site stimulation current, collection end, QC status, performed/reviewed by with times,
and the report's status (preliminary, final, corrected) with its version and corrections. Version 3 adds the
eligibility findings and override reasons, the time from collection to analysis per site (flagged past the
lab's limit), and an interpretation withheld, with the reason, when a block finding exists for the run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sweattest.core.jsonable import to_jsonable
from sweattest.core.procedure.core import interpretation
from sweattest.core.procedure.model import RunState, SiteRecord
from sweattest.core.rules.analysis_delay import DelayLimit, check_delay, delay_minutes, limit_from_dict
from sweattest.core.rules.findings import Finding, Severity, withheld_because
from sweattest.core.units import format_quantity

RECORD_VERSION = 3
#: Runs started before the analysis limit was kept with the run are checked against the default (same day).
DEFAULT_DELAY = DelayLimit()
#: What a run started before eligibility was kept with it says about eligibility.
NO_ELIGIBILITY = {"findings": [], "overrides": []}
#: QC status when no QC result is linked to the run's analytical run.
QC_NOT_RECORDED = {"status": "not_recorded", "detail": "no QC result is linked to this analytical run"}
#: A simulated analyzer runs no control material: the report says so rather than claiming QC passed.
SIMULATED_QC = {"status": "simulated"}


def run_record(run: RunState, order: dict[str, Any], *, generated_at, qc: dict[str, Any] | None = None,
               signatures: list[dict[str, Any]] | tuple = (), corrections: list[dict[str, Any]] | tuple = ()
               ) -> dict[str, Any]:
    """The record of ``run``. ``signatures``: dicts with username, full_name, meaning, at (datetime);
    ``corrections``: the amendments applied to ``run`` (sweattest.outputs.report.amendments), oldest first."""
    p = run.protocol
    interp = interpretation(run)
    eligibility = dict(order.get("eligibility") or NO_ELIGIBILITY)
    withheld = withheld_because(Finding(f["code"], Severity(f["severity"]), f["message"], f["source"])
                                for f in eligibility["findings"])
    delay = limit_from_dict(order["analysis"]) if "analysis" in order else DEFAULT_DELAY
    return {
        "record_version": RECORD_VERSION,
        "run_id": run.run_id,
        "state": run.state,
        "generated_at": generated_at.isoformat(),
        # a simulated (demo, training) run must never pass for a patient result; its scenario stays in the store
        "simulated": "simulation" in order,
        "order": {k: v for k, v in order.items() if k not in {"simulation", "eligibility", "analysis"}},
        "eligibility": eligibility,
        "method": {"name": p.name, "title": p.title, "collection_device": p.device,
                   "collection_kind": p.collection_kind, "analysis": p.analysis_method,
                   "current": format_quantity(p.current), "duration": format_quantity(p.duration),
                   "minimum_sample": format_quantity(p.minimum_sample),
                   "max_collection_time": format_quantity(p.max_collection_time)},
        "sites": [_site(s, p, delay) for s in run.sites],
        "interpretation": _withheld(withheld) if withheld is not None else None if interp is None else {
            "category": interp.category, "wording": interp.wording,
            "repeat_recommended": interp.repeat_recommended,
            "findings": [f.to_dict() for f in interp.findings]},
        "reviewer": run.reviewer,
        "qc": dict(qc) if qc else dict(SIMULATED_QC if "simulation" in order else QC_NOT_RECORDED),
        "performed": _performed(run, order, signatures),
        "reviewed": _reviewed(run, signatures),
        "report": _report_status(run, corrections),
    }


#: What the record and the report say of a stimulation by a stand-alone inducer.
STANDALONE_TRACE = "none: stand-alone inducer (its own current control), timed and confirmed by the tech"


def _withheld(reason: str) -> dict[str, Any]:
    """No interpretation category beside a block: why, and that the test is to be repeated."""
    return {"category": None, "wording": None, "withheld": reason, "repeat_recommended": True, "findings": []}


def _analysis(s: SiteRecord, limit: DelayLimit) -> tuple[dict[str, Any] | None, list[Finding]]:
    """When the site was analysed, how long after the end of collection, and a warning past the limit."""
    ended, analysed = _step_time(s, "finish_collection"), _step_time(s, "analyze")
    if ended is None or analysed is None:
        return None, []
    return ({"at": analysed.isoformat(), "delay_min": delay_minutes(ended, analysed), "limit": limit.as_dict()},
            check_delay(ended, analysed, limit, s.site))


def _site(s: SiteRecord, p, limit: DelayLimit) -> dict[str, Any]:
    analysis, late = _analysis(s, limit)
    adequacy = s.adequacy
    chloride = s.chloride
    sample = adequacy.sample if adequacy is not None else (s.volume if s.volume is not None else None)
    duration = (None if s.stimulation_ended_t is None or s.stimulation_started_t is None
                else round(s.stimulation_ended_t - s.stimulation_started_t, 1))
    return {
        "site": s.site,
        "state": s.state,
        "abort_reason": s.abort_reason,
        "sample_id": s.sample_id,
        "stimulation": {"current": format_quantity(p.current), "charge": _q(s.charge, 2),
                        "trace": STANDALONE_TRACE if s.standalone_inducer else "recorded at 10 Hz",
                        "duration_s": duration,
                        "started_at": _step_at(s, "start_stimulation"),
                        "ended_at": _step_at(s, "finish_stimulation")},
        "collection": {"started_at": s.collection_started_at.isoformat() if s.collection_started_at else None,
                       "ended_at": _step_at(s, "finish_collection"),
                       "minutes": _q(s.collection_time, 1)},
        "pre_weight": _q(s.pre_weight, 1), "post_weight": _q(s.post_weight, 1),
        "sample": _q(sample, 1),
        "adequate": None if adequacy is None else adequacy.adequate,
        "sweat_rate_g_m2_min": None if adequacy is None else round(
            float(adequacy.sweat_rate.to("g/m**2/min").magnitude), 2),
        "analyzer_chloride": _q(s.analyzer_chloride, 1),
        "chloride": None if chloride is None else {
            "value_mmol_l": round(float(chloride.value.to("mmol/L").magnitude), 2),
            "reportable": chloride.text, "repeat_required": chloride.repeat_required},
        "analysis": analysis,
        "findings": to_jsonable([f.to_dict() for f in _findings(s) + late]),
        "steps": [{"from": st.source, "event": st.event, "to": st.target, "at": st.at.isoformat(), "t": st.t}
                  for st in s.steps],
    }


def _step_time(s: SiteRecord, event: str) -> datetime | None:
    for st in reversed(s.steps):
        if st.event == event:
            return st.at
    return None


def _step_at(s: SiteRecord, event: str) -> str | None:
    for st in reversed(s.steps):
        if st.event == event:
            return st.at.isoformat()
    return None


def _last_step_at(run: RunState, events: set[str]) -> str | None:
    times = [st.at for s in run.sites for st in s.steps if st.event in events]
    return max(times).isoformat() if times else None


def _signed(signatures, meaning: str) -> dict[str, Any] | None:
    found = [s for s in signatures if s["meaning"] == meaning]
    return found[-1] if found else None


def _performed(run: RunState, order: dict[str, Any], signatures) -> dict[str, Any]:
    sig = _signed(signatures, "performed")
    return {"by": sig["username"] if sig else order["operator"],
            "name": sig.get("full_name") if sig else None,
            "at": _iso(sig["at"]) if sig else _last_step_at(run, {"release_result", "abort"})}


def _reviewed(run: RunState, signatures) -> dict[str, Any] | None:
    sig = _signed(signatures, "reviewed")
    if sig is None and run.reviewer is None:
        return None
    return {"by": sig["username"] if sig else run.reviewer,
            "name": sig.get("full_name") if sig else None,
            "at": _iso(sig["at"]) if sig else _last_step_at(run, {"review"})}


def _report_status(run: RunState, corrections) -> dict[str, Any]:
    final = run.state == "reported"
    status = "corrected" if corrections else ("final" if final else "preliminary")
    return {"status": status, "version": 1 + len(corrections),
            "released_at": _last_step_at(run, {"report"}), "corrections": [dict(c) for c in corrections]}


def _iso(at) -> str:
    return at.isoformat() if isinstance(at, datetime) else str(at)


def _findings(s: SiteRecord) -> list:
    out = list(s.adequacy.findings) if s.adequacy is not None else []
    if s.chloride is not None:
        out.extend(s.chloride.findings)
    return out


def _q(q, digits: int) -> str | None:
    return None if q is None else format_quantity(q, digits)
