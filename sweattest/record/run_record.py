"""The run record: everything known about a run, built once as a typed RunRecord (sweattest.record.run_record_model)
for JSON (sweattest.record.record_json), reports and LIMS files.

Version 2 adds per-site stimulation current, collection end, QC status, performed/reviewed by with times,
and the report's status (preliminary, final, corrected) with its version and corrections.
Version 3 keeps the one result (sweattest.core.rules.result) as values: per site the status, chloride
(whole mmol/L, comparator, text), category and HL7 flag, and the amounts as numbers in declared units; the
interpretation with the range set it used (name, age group, bands, source), ``repeat_recommended`` (never
blank) and ``withheld``. Reports and LIMS files format these values; they never parse a text of the record.
It also keeps the eligibility findings and override reasons, the time from collection to analysis per site
(flagged past the lab's limit), and the interpretation withheld, with the reason, when a block finding exists.
Later additions to version 3 (optional for readers): ``instruments`` (as the run's readiness check recorded
them, None: not recorded), and in ``method`` the analyzer's measuring range and the balance readability;
``resumed`` (each time the run was brought back after its process stopped: at, by, state_found) and in
``performed`` whether it was signed (``signed``); from the store (sweattest.record.stored_record):
``repeat_of`` (the run this one repeats, with the reason; None), ``earlier_tests`` (the patient's earlier
tests, oldest first) and ``modulator`` (the change from the pre-treatment chloride on a CFTR modulator; None).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sweattest.core.procedure.core import result
from sweattest.core.procedure.model import RunState, SiteRecord, Step
from sweattest.core.rules.adequacy import CRITERIA
from sweattest.core.rules.age import age_at, local_date
from sweattest.core.rules.analysis_delay import DelayLimit, check_delay, delay_minutes, limit_from_dict
from sweattest.core.rules.findings import Finding, Severity, withheld_because
from sweattest.core.rules.ranges import DEFAULT_RANGE_SET, RangeSet, range_set
from sweattest.core.rules.result import SiteResult, SweatResult
from sweattest.core.rules.sodium import check_sodium
from sweattest.core.units import Q_, format_quantity, magnitude_in, parse_quantity
from sweattest.record.record_json import RECORD_VERSION, parse_time
from sweattest.record.run_record_model import (
    AdequacyRule,
    Amounts,
    Analysis,
    Change,
    Chloride,
    Collection,
    Correction,
    Interpretation,
    Method,
    Performed,
    ReportStatus,
    Resumption,
    Reviewed,
    RunRecord,
    Shown,
    SiteEntry,
    Stimulation,
)
from sweattest.record.timeline import PROCEDURE_CLOCK, on_procedure_clock

__all__ = ["RECORD_VERSION", "RunRecord", "run_record"]
#: Display digits of a sample: a weight at the analytical balance's 0.01 mg, a coil volume at 0.1 uL.
SAMPLE_DIGITS = {"mg": 2, "uL": 1}
#: The readability of the analytical balance the weights are kept and shown at (SAMPLE_DIGITS["mg"]).
WEIGHT_READABILITY = "0.01 mg"
#: Runs started before the analysis limit was kept with the run are checked against the default (same day).
DEFAULT_DELAY = DelayLimit()
#: What a run started before eligibility was kept with it says about eligibility.
NO_ELIGIBILITY = {"findings": [], "overrides": []}
#: What the record and the report say of a stimulation by a stand-alone inducer.
STANDALONE_TRACE = "none: stand-alone inducer (its own current control), timed and confirmed by the tech"
#: QC status when no QC result is linked to the run's analytical run.
QC_NOT_RECORDED = {"status": "not_recorded", "detail": "no QC result is linked to this analytical run"}
#: A simulated analyzer runs no control material: the report says so rather than claiming QC passed.
SIMULATED_QC = {"status": "simulated"}


def run_record(run: RunState, order: dict[str, Any], *, generated_at, qc: dict[str, Any] | None = None,
               signatures: list[dict[str, Any]] | tuple = (), corrections: list[dict[str, Any]] | tuple = (),
               ranges: str = DEFAULT_RANGE_SET, withheld: str | None = None,
               instruments: dict[str, Any] | None = None) -> RunRecord:
    """The record of ``run``. ``signatures``: dicts with username, full_name, meaning, at (datetime);
    ``corrections``: the amendments applied to ``run`` (sweattest.record.amendable), oldest first;
    ``ranges``: the lab's range set (by name; chosen for the patient's age at collection). A block finding
    among the run's stored eligibility findings withholds the interpretation (``withheld``: another reason).
    ``instruments``: role -> instrument (sweattest.record.run_instruments), None when not recorded."""
    p = run.protocol
    simulated = "simulation" in order
    written = {s.site: s.steps for s in run.sites}  # each step as recorded, when it was written
    if simulated:  # a simulated run shows the procedure clock's times, marked as simulated
        run = on_procedure_clock(run)
    eligibility = dict(order.get("eligibility") or NO_ELIGIBILITY)
    withheld = withheld or withheld_because(Finding(f["code"], Severity(f["severity"]), f["message"],
                                                    f["source"]) for f in eligibility["findings"])
    delay = limit_from_dict(order["analysis"]) if "analysis" in order else DEFAULT_DELAY
    res = result(run, run_ranges(run, order, ranges, generated_at), withheld, **interpretation_rules(run, order))
    by_site = {s.site: s for s in res.sites}
    return RunRecord(
        run_id=run.run_id,
        state=run.state,
        generated_at=generated_at,
        # a simulated (demo, training) run must never pass for a patient result; its scenario stays in the store
        simulated=simulated,
        timeline=PROCEDURE_CLOCK if simulated else None,
        order={k: v for k, v in order.items() if k not in {"simulation", "eligibility", "analysis", "proficiency"}},
        # a proficiency-testing sample run blinded (provider, scheme, event, sample): never a patient result
        proficiency=order.get("proficiency"),
        eligibility=eligibility,
        method=Method(name=p.name, title=p.title, collection_device=p.device, collection_kind=p.collection_kind,
                      analysis=p.analysis_method, current=_shown(p.current, "current"),
                      duration=_shown(p.duration, "time"),
                      minimum_sample=_shown(p.minimum_sample, "mass" if p.gravimetric else "volume"),
                      # the lab's adequacy criterion as the run kept it, in words, with its source
                      adequacy=AdequacyRule(run.adequacy, CRITERIA[run.adequacy][0], CRITERIA[run.adequacy][1]),
                      max_collection_time=_shown(p.max_collection_time, "time"),
                      lower_limit=_shown(p.lower_limit, "concentration"),
                      upper_limit=_shown(p.upper_limit, "concentration"),
                      weight_readability=_shown(Q_(WEIGHT_READABILITY), "mass") if p.gravimetric else None),
        instruments=instruments,
        sites=tuple(_site(s, p, by_site[s.site], delay, written[s.site]) for s in run.sites),
        interpretation=_interpretation(res),
        reviewer=run.reviewer,
        qc=dict(qc) if qc else dict(SIMULATED_QC if "simulation" in order else QC_NOT_RECORDED),
        performed=_performed(run, order, signatures),
        reviewed=_reviewed(run, signatures),
        # each time the run was brought back after its process stopped (crash, power loss), outputs forced off
        resumed=tuple(Resumption(r.at, r.by, r.state_found) for r in run.resumptions),
        report=_report_status(run, corrections),
    )


def interpretation_rules(run: RunState, order: dict[str, Any]) -> dict[str, Any]:
    """The lab's settings the run kept when it started (``rules``) and, for a patient on a CFTR modulator
    started on or before the collection date, ``monitoring`` (the modulator's name)."""
    out: dict[str, Any] = {}
    kept = order.get("rules") or {}
    if "difference_limit" in kept:
        out["difference_limit"] = parse_quantity(kept["difference_limit"], "concentration", "rules.difference_limit")
    start = order.get("modulator_start")
    if start and order.get("cftr_modulator"):
        starts = [s.collection_started_at for s in run.sites if s.collection_started_at is not None]
        on = local_date(min(starts), lab_zone(order)).isoformat() if starts else None
        if on is None or on >= start:
            out["monitoring"] = order["cftr_modulator"]
    return out


def lab_zone(order: dict[str, Any]) -> ZoneInfo:
    """The lab's time zone as the run kept it when it started (its analysis limit), else UTC."""
    return ZoneInfo((order.get("analysis") or {}).get("timezone") or "UTC")


def run_ranges(run: RunState, order: dict[str, Any], name: str, generated_at) -> RangeSet:
    """The range set ``name`` for the patient's calendar age on the local date (the lab's time zone) of the
    first collection (else of the record)."""
    starts = [s.collection_started_at for s in run.sites if s.collection_started_at is not None]
    at = min(starts) if starts else generated_at
    return range_set(name, age_at(date.fromisoformat(order["patient"]["dob"]), at, lab_zone(order)))


def _interpretation(res: SweatResult) -> Interpretation:
    band = res.ranges.band(res.category) if res.category is not None else None
    return Interpretation(category=res.category, wording=res.wording, repeat_recommended=res.repeat_recommended,
                          withheld=res.withheld, findings=tuple(res.findings),
                          # the category in the range set's own words ("Normal" under C34-A3 over 6 months)
                          label=band.label if band else None, code=band.code if band else None,
                          monitoring=res.monitoring, current_guideline=res.current_guideline, ranges=res.ranges)


def _chloride(r: SiteResult) -> Chloride | None:
    c = r.chloride
    if c is None:
        return None
    return Chloride(c.status, None if c.value is None else int(c.value.to("mmol/L").magnitude), c.comparator,
                    c.text, c.repeat_required)


def _analysis(s: SiteRecord, limit: DelayLimit) -> tuple[Analysis | None, list[Finding]]:
    """When the site was analysed, how long after the end of collection, and a warning past the limit. The
    delay is the procedure's (``t``): a simulated run's sample waits on the simulated clock, whatever the
    time its records were written at."""
    ended, analysed = _step(s, "finish_collection"), _step(s, "analyze")
    if ended is None or analysed is None:
        return None, []
    waited = ended.at + timedelta(seconds=analysed.t - ended.t)
    return (Analysis(analysed.at, delay_minutes(ended.at, waited), limit.as_dict()),
            check_delay(ended.at, waited, limit, s.site))


def _site(s: SiteRecord, p, r: SiteResult, limit: DelayLimit, written: tuple[Step, ...]) -> SiteEntry:
    """One site's record; ``steps`` as they were written (the audit's times), the times shown beside them on
    the procedure clock for a simulated run (sweattest.record.timeline)."""
    analysis, late = _analysis(s, limit)
    adequacy = s.adequacy
    sample = adequacy.sample if adequacy is not None else (s.volume if s.volume is not None else None)
    unit = "mg" if p.gravimetric else "uL"
    digits = SAMPLE_DIGITS[unit]
    duration = (None if s.stimulation_ended_t is None or s.stimulation_started_t is None
                else round(s.stimulation_ended_t - s.stimulation_started_t, 1))
    finished = _step(s, "finish_collection")
    return SiteEntry(
        site=s.site, state=s.state, abort_reason=s.abort_reason, sample_id=s.sample_id, status=r.status,
        category=r.category, flag=r.flag,
        # numbers in the units named here, for file formats; the texts beside them are for display
        amounts=Amounts(sample=_m(sample, unit), sample_unit=unit, collection_min=_m(s.collection_time, "min"),
                        current_ma=_m(p.current, "mA"),
                        # the charge integral to 0.01 mA·min, as the inducer display and the report show it
                        charge_ma_min=None if s.charge is None else round(_m(s.charge, "mA*min"), 2),
                        analyzer_chloride_mmol_l=_m(s.analyzer_chloride, "mmol/L"),
                        sodium_mmol_l=_m(s.sodium, "mmol/L")),
        stimulation=Stimulation(current=_shown(p.current, "current"), charge=_shown(s.charge, "charge", 2),
                                trace=STANDALONE_TRACE if s.standalone_inducer else "recorded at 10 Hz",
                                duration_s=duration, started_at=_step_at(s, "start_stimulation"),
                                ended_at=_step_at(s, "finish_stimulation")),
        collection=Collection(started_at=s.collection_started_at, ended_at=finished.at if finished else None,
                              minutes=_shown(s.collection_time, "time", 1)),
        # texts at the instrument's precision, trailing zeros kept: 1012.40 mg on a 0.01 mg balance
        pre_weight=_fixed(s.pre_weight, unit, digits), post_weight=_fixed(s.post_weight, unit, digits),
        sample=_fixed(sample, unit, digits),
        adequate=None if adequacy is None else adequacy.adequate,
        sweat_rate_g_m2_min=None if adequacy is None else round(
            float(adequacy.sweat_rate.to("g/m**2/min").magnitude), 2),
        analyzer_chloride=_shown(s.analyzer_chloride, "concentration", 1),
        # the optional sweat sodium typed after the chloride: a plausibility check, never a result (None: not
        # measured)
        sodium=_shown(s.sodium, "concentration", 0),
        chloride=_chloride(r),
        analysis=analysis,
        findings=tuple(_findings(s) + late),
        steps=tuple(written),
    )


def _step(s: SiteRecord, event: str) -> Step | None:
    for st in reversed(s.steps):
        if st.event == event:
            return st
    return None


def _step_at(s: SiteRecord, event: str) -> datetime | None:
    st = _step(s, event)
    return None if st is None else st.at


def _last_step_at(run: RunState, events: set[str]) -> datetime | None:
    times = [st.at for s in run.sites for st in s.steps if st.event in events]
    return max(times) if times else None


def _signed(signatures, meaning: str) -> dict[str, Any] | None:
    found = [s for s in signatures if s["meaning"] == meaning]
    return found[-1] if found else None


def _performed(run: RunState, order: dict[str, Any], signatures) -> Performed:
    """Who performed the run, from the "performed" signature; before it, the order's operator, not signed."""
    sig = _signed(signatures, "performed")
    return Performed(by=sig["username"] if sig else order["operator"], name=sig.get("full_name") if sig else None,
                     signed=sig is not None, at=sig["at"] if sig else _last_step_at(run, {"release_result", "abort"}))


def _reviewed(run: RunState, signatures) -> Reviewed | None:
    sig = _signed(signatures, "reviewed")
    if sig is None and run.reviewer is None:
        return None
    return Reviewed(by=sig["username"] if sig else run.reviewer, name=sig.get("full_name") if sig else None,
                    at=sig["at"] if sig else _last_step_at(run, {"review"}))


def _report_status(run: RunState, corrections) -> ReportStatus:
    final = run.state == "reported"
    status = "corrected" if corrections else ("final" if final else "preliminary")
    return ReportStatus(status=status, version=1 + len(corrections), released_at=_last_step_at(run, {"report"}),
                        corrections=tuple(correction_of(c) for c in corrections))


def correction_of(c: dict[str, Any]) -> Correction:
    """An amendment as sweattest.record.amendable lists it, as the record keeps it."""
    return Correction(version=c["version"], at=parse_time(c["at"]) if isinstance(c["at"], str) else c["at"],
                      by=c["by"], reason=c["reason"],
                      changes=tuple(Change(ch["field"], ch["old"], ch["new"], ch.get("not_applied"))
                                    for ch in c["changes"]))


def _findings(s: SiteRecord) -> list:
    out = list(s.adequacy.findings) if s.adequacy is not None else []
    if s.chloride is not None:
        out.extend(s.chloride.findings)
    if s.sodium is not None:  # accepted by the core only beside a reportable chloride
        out.extend(check_sodium(s.site, s.sodium, s.chloride))
    return out


def _shown(q, kind: str, digits: int | None = None) -> Shown | None:
    """``q`` as the record shows it (``digits`` decimals at most, None: as it is): its text, and the quantity that
    text says (as the record's parser reads it back)."""
    if q is None:
        return None
    return _as_shown(format_quantity(q) if digits is None else format_quantity(q, digits), kind)


def _fixed(q, unit: str, digits: int) -> Shown | None:
    """``q`` in ``unit`` with exactly ``digits`` decimals (``100.00 mg``)."""
    if q is None:
        return None
    unit_text = format_quantity(q.to(unit)).split(" ", 1)[1]  # as displayed: µL, mg
    return _as_shown(f"{magnitude_in(q, unit):.{digits}f} {unit_text}", "mass" if unit == "mg" else "volume")


def _as_shown(text: str, kind: str) -> Shown:
    return Shown(parse_quantity(text, kind, "run record"), text)


def _m(q, unit: str) -> float | None:
    return None if q is None else magnitude_in(q, unit)
