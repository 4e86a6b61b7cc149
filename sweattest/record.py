"""The run record: everything known about a run, as plain data for JSON, reports and LIMS files."""

from __future__ import annotations

from typing import Any

from sweattest.jsonable import to_jsonable
from sweattest.procedure.core import interpretation
from sweattest.procedure.model import RunState, SiteRecord
from sweattest.units import format_quantity

RECORD_VERSION = 1


def run_record(run: RunState, order: dict[str, Any], *, generated_at) -> dict[str, Any]:
    p = run.protocol
    interp = interpretation(run) if any(s.adequacy is not None for s in run.sites) else None
    return {
        "record_version": RECORD_VERSION,
        "run_id": run.run_id,
        "state": run.state,
        "generated_at": generated_at.isoformat(),
        "order": order,
        "method": {"name": p.name, "title": p.title, "collection_device": p.device,
                   "collection_kind": p.collection_kind, "analysis": p.analysis_method,
                   "current": format_quantity(p.current), "duration": format_quantity(p.duration),
                   "minimum_sample": format_quantity(p.minimum_sample),
                   "max_collection_time": format_quantity(p.max_collection_time)},
        "sites": [_site(s) for s in run.sites],
        "interpretation": None if interp is None else {
            "category": interp.category, "wording": interp.wording,
            "repeat_recommended": interp.repeat_recommended,
            "findings": [f.to_dict() for f in interp.findings]},
        "reviewer": run.reviewer,
    }


def _site(s: SiteRecord) -> dict[str, Any]:
    adequacy = s.adequacy
    chloride = s.chloride
    sample = adequacy.sample if adequacy is not None else (s.volume if s.volume is not None else None)
    return {
        "site": s.site,
        "state": s.state,
        "abort_reason": s.abort_reason,
        "sample_id": s.sample_id,
        "stimulation": {"charge": _q(s.charge, 2),
                        "duration_s": (None if s.stimulation_ended_t is None or s.stimulation_started_t is None
                                       else round(s.stimulation_ended_t - s.stimulation_started_t, 1))},
        "collection": {"started_at": s.collection_started_at.isoformat() if s.collection_started_at else None,
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
        "findings": to_jsonable([f.to_dict() for f in _findings(s)]),
        "steps": [{"from": st.source, "event": st.event, "to": st.target, "at": st.at.isoformat(), "t": st.t}
                  for st in s.steps],
    }


def _findings(s: SiteRecord) -> list:
    out = list(s.adequacy.findings) if s.adequacy is not None else []
    if s.chloride is not None:
        out.extend(s.chloride.findings)
    return out


def _q(q, digits: int) -> str | None:
    return None if q is None else format_quantity(q, digits)
