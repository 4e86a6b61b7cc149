"""``apply(run, event)``: the pure heart of the procedure. No I/O, no clock; rules are pure functions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sweattest.core.errors import ProcedureError, ValidationError
from sweattest.core.procedure import effects as fx
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import SITES, Resumption, RunState, SiteRecord
from sweattest.core.procedure.table import EVENTS, INTERNAL_EVENTS, RECORD_EVENTS, lookup
from sweattest.core.protocol import Protocol
from sweattest.core.rules.adequacy import MINIMUM_SAMPLE, assess_volume, assess_weights, check_criterion
from sweattest.core.rules.chloride import site_chloride
from sweattest.core.rules.interpretation import interpret
from sweattest.core.rules.ranges import CFF_2017, RangeSet
from sweattest.core.rules.result import SiteOutcome, SweatResult
from sweattest.core.rules.sodium import check_sodium
from sweattest.core.units import Q_, require

#: Events that, without a site, apply to every site in a state that allows them.
_RUN_WIDE = frozenset({"verify_patient", "check_ready", "review", "report", "abort"})


def new_run(run_id: str, protocol: Protocol, sites: list[str] | tuple[str, ...],
            adequacy: str = MINIMUM_SAMPLE) -> RunState:
    """A run before its first event; ``adequacy``: the lab's adequacy criterion (sweattest.core.rules.adequacy),
    kept with the run when it starts."""
    if not sites:
        raise ValidationError("sites: a run needs at least one collection site")
    if len(set(sites)) != len(sites):
        raise ValidationError("sites: a site is listed twice; never pool sweat from one site twice")
    for site in sites:
        if site not in SITES:
            raise ValidationError(f"sites: unknown site {site!r}; use one of {', '.join(SITES)} "
                                  "(never stimulate across the chest or the head)")
    records = tuple(SiteRecord(site=s, channel=i + 1, sample_id=f"{run_id}-{i + 1}")
                    for i, s in enumerate(sites))
    return RunState(run_id=run_id, protocol=protocol, sites=records, adequacy=check_criterion(adequacy))


def apply(run: RunState, event: Event) -> tuple[RunState, list[fx.Effect]]:
    """The next state and the effects to carry out, or ``ProcedureError`` if the event is not allowed."""
    if event.kind in RECORD_EVENTS:
        if event.kind == "resume":
            found = str(event.data.get("state_found", run.state))
            run = replace(run, resumptions=run.resumptions + (Resumption(event.at, event.actor, found),))
        return run, []
    if event.kind in INTERNAL_EVENTS or event.kind not in EVENTS:
        raise ProcedureError(f"unknown event {event.kind!r}", state=run.state, event=event.kind)
    targets = _targets(run, event)
    effects: list[fx.Effect] = []
    for record in targets:
        run, more = _step(run, record, event)
        effects.extend(more)
    effects.extend(_after(run, event, targets))
    return run, effects


def replay(run: RunState, events: list[Event]) -> RunState:
    """Rebuild a run's state from its accepted events."""
    for event in events:
        run, _ = apply(run, event)
    return run


def _targets(run: RunState, event: Event) -> list[SiteRecord]:
    kind = run.protocol.collection_kind
    if event.site is not None:
        try:
            record = run.site(event.site)
        except KeyError:
            raise ProcedureError(f"cannot {event.kind}: site {event.site!r} is not part of run {run.run_id}",
                                 state=run.state, event=event.kind) from None
        if lookup(record.state, event.kind, kind) is None:
            raise ProcedureError(f"cannot {event.kind} when {record.site} is {record.state}",
                                 state=record.state, event=event.kind)
        return [record]
    if event.kind not in _RUN_WIDE:
        raise ProcedureError(f"cannot {event.kind} without naming a site", state=run.state, event=event.kind)
    open_sites = [s for s in run.sites if not s.final]
    allowed = [s for s in open_sites if lookup(s.state, event.kind, kind) is not None]
    if not allowed or (event.kind in {"verify_patient", "check_ready"} and len(allowed) != len(open_sites)):
        raise ProcedureError(f"cannot {event.kind} when the run is {run.state}", state=run.state,
                             event=event.kind)
    return allowed


def _step(run: RunState, record: SiteRecord, event: Event) -> tuple[RunState, list[fx.Effect]]:
    p = run.protocol
    row = lookup(record.state, event.kind, p.collection_kind)
    assert row is not None
    d = event.data
    changes: dict = {}
    effects: list[fx.Effect] = []
    if event.kind == "abort":
        reason = str(d.get("reason") or "").strip()
        if not reason:
            raise ValidationError("abort: a reason is required")
        changes = {"abort_reason": reason}
        if "charge" in d:
            changes["charge"] = require(d["charge"], "charge", "abort.charge")
        if record.state == "stimulating":
            effects.append(fx.OutputOff(record.site, record.channel))
        if record.state == "collecting":
            effects.append(fx.CancelTimer(record.site, "collection"))
    elif event.kind == "pre_weigh":
        changes = {"pre_weight": require(d["weight"], "mass", "pre_weigh.weight")}
    elif event.kind == "start_stimulation":
        changes = {"stimulation_started_t": event.t}
    elif event.kind == "finish_stimulation":
        changes = {"stimulation_ended_t": event.t}
        if "standalone" in d:  # a stand-alone inducer has no current trace, so no measured charge
            changes["standalone_inducer"] = True
        else:
            changes["charge"] = require(d.get("charge"), "charge", "finish_stimulation.charge")
    elif event.kind == "start_collection":
        changes = {"collection_started_t": event.t, "collection_started_at": event.at}
    elif event.kind == "finish_collection":
        minutes = (event.t - (record.collection_started_t or event.t)) / 60.0
        changes = {"collection_time": Q_(round(minutes, 4), "min")}
    elif event.kind == "enter_sodium":
        sodium = require(d.get("sodium"), "concentration", "enter_sodium.sodium")
        reportable = record.chloride if record.chloride is not None and record.chloride.reportable else None
        check_sodium(record.site, sodium, reportable)  # refused without a reportable chloride beside it
        changes = {"sodium": sodium}
    elif event.kind == "review":
        run = replace(run, reviewer=str(d.get("reviewer", event.actor)))
    record = record.moved(row.target, event.kind, event.at, event.t, **changes)
    if event.kind == "measure_sample":
        record = _measured(p, record, event, run.adequacy)
    elif event.kind == "analyze":
        record = _analyzed(p, record, event)
    if record.state == "adequate":
        effects.append(fx.Analyze(record.site, record.sample_id or record.site))
    return run.with_site(record), effects


def _measured(p: Protocol, record: SiteRecord, event: Event, criterion: str) -> SiteRecord:
    """Sample in: decide adequacy by the lab's criterion (the minimum sample, CLSI C34; CFF 2007; or the sweat
    rate, Macroduct 3710; ACB 2014)."""
    d = event.data
    minutes = record.collection_time or Q_(0, "min")
    if p.gravimetric:
        post = require(d["weight"], "mass", "measure_sample.weight")
        adequacy = assess_weights(p, record.pre_weight, post, minutes, criterion)
        record = replace(record, post_weight=post, adequacy=adequacy)
    else:
        volume = require(d["volume"], "volume", "measure_sample.volume")
        adequacy = assess_volume(p, volume, minutes, criterion)
        record = replace(record, volume=volume, adequacy=adequacy)
    if adequacy.adequate:
        return record.moved("adequate", "judge_adequate", event.at, event.t)
    qns = record.moved("qns", "judge_qns", event.at, event.t)
    return qns.moved("result_ready", "release_result", event.at, event.t)


def _analyzed(p: Protocol, record: SiteRecord, event: Event) -> SiteRecord:
    measured = require(event.data["chloride"], "concentration", "analyze.chloride")
    report = site_chloride(p, measured, sweat_mass=record.adequacy.sample if p.gravimetric else None)
    record = replace(record, analyzer_chloride=measured, chloride=report)
    return record.moved("result_ready", "release_result", event.at, event.t)


def _after(run: RunState, event: Event, targets: list[SiteRecord]) -> list[fx.Effect]:
    """Effects that follow from the whole run's new state (sequencing across sites)."""
    out: list[fx.Effect] = []
    kind = event.kind
    if kind == "verify_patient":
        out.append(fx.CheckReadiness())
    elif kind == "check_ready":
        if run.protocol.gravimetric:
            out.extend(fx.PreWeigh(s.site) for s in run.sites if s.state == "ready")
        else:
            out.extend(_next_stimulation(run))
    elif kind == "pre_weigh":
        if not any(s.state == "ready" for s in run.sites):
            out.extend(_next_stimulation(run))
    elif kind == "finish_stimulation":
        out.append(fx.ApplyCollector(event.site or ""))
    elif kind == "start_collection":
        site = run.site(event.site or "")
        due = event.t + run.protocol.max_collection_time.to("s").magnitude
        out.append(fx.StartTimer(site.site, "collection", float(due), "finish_collection"))
        out.extend(_next_stimulation(run))
    elif kind == "finish_collection":
        out.append(fx.MeasureSample(event.site or "", run.protocol.gravimetric))
    elif kind == "abort" and any(t.state in {"stimulating", "stimulation_done"} for t in targets):
        out.extend(_next_stimulation(run))
    if kind in {"measure_sample", "analyze", "abort"}:
        out.extend(_results(run))
    if kind == "report" and run.finished:
        out.append(fx.RunFinished())
    return out


def _next_stimulation(run: RunState) -> list[fx.Effect]:
    """One site stimulates at a time, in the order the sites were listed."""
    if any(s.state == "stimulating" for s in run.sites):
        return []
    start_state = "pre_weighed" if run.protocol.gravimetric else "ready"
    if any(s.state in {"ready", "patient_verified", "created"} and s.state != start_state for s in run.sites):
        return []
    for s in run.sites:
        if s.state == start_state:
            return [fx.Stimulate(s.site, s.channel)]
    return []


def _results(run: RunState) -> list[fx.Effect]:
    if not all(s.state in {"result_ready", "aborted"} for s in run.sites):
        return []
    if all(s.state == "aborted" for s in run.sites):
        return [fx.RunFinished()]
    return [fx.ResultsReady()]


def result(run: RunState, ranges: RangeSet = CFF_2017, withheld: str | None = None, **rules: Any) -> SweatResult:
    """The run's one result from its sites (aborted sites included, as aborted), interpreted with ``ranges``;
    ``withheld``: why a block withholds the interpretation; ``rules``: the lab's settings and the patient's
    modulator (``interpretation.interpret``: ``difference_limit``, ``monitoring``)."""
    outcomes = [SiteOutcome(site=s.site, adequacy=s.adequacy, chloride=s.chloride, aborted=s.state == "aborted")
                for s in run.sites]
    return interpret(outcomes, ranges, withheld=withheld, **rules)
