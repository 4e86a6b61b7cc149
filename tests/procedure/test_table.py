"""Every (state, event) pair of the transition table is either allowed and tested, or refused and tested."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sweattest.core.errors import ProcedureError
from sweattest.core.procedure import apply, new_run
from sweattest.core.procedure.diagram import mermaid
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.table import EVENTS, INTERNAL_EVENTS, SITE_STATES, TRANSITIONS, lookup
from sweattest.core.protocol import load_protocol
from sweattest.core.rules.adequacy import assess_volume, assess_weights
from sweattest.core.rules.chloride import site_chloride
from sweattest.core.units import Q_

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EXTERNAL = [e for e in EVENTS if e not in INTERNAL_EVENTS]
#: Internal events chain on: measure_sample -> judge_* (-> release_result for QNS); analyze -> release_result.
CHAINED = {("measure_sample", "volumetric"): "adequate", ("measure_sample", "gravimetric"): "adequate",
           ("analyze", "volumetric"): "result_ready", ("analyze", "gravimetric"): "result_ready"}


def _data(event: str, kind: str) -> dict:
    return {
        "pre_weigh": {"weight": Q_(1012.4, "mg")},
        "finish_stimulation": {"charge": Q_(7.0, "mA*min")},
        "measure_sample": {"volume": Q_(22, "uL")} if kind == "volumetric" else {"weight": Q_(1112.4, "mg")},
        "analyze": {"chloride": Q_(45 if kind == "volumetric" else 4.5, "mmol/L")},
        "abort": {"reason": "tech cancelled"},
        "review": {"reviewer": "rev1"},
        "enter_sodium": {"sodium": Q_(52, "mmol/L")},
    }.get(event, {})


def _run_in(state: str, method: str):
    protocol = load_protocol(method)
    run = new_run("R1", protocol, ["left_forearm"])
    thirty = Q_(30, "min")
    adequacy = (assess_weights(protocol, Q_(1012.4, "mg"), Q_(1112.4, "mg"), thirty) if protocol.gravimetric
                else assess_volume(protocol, Q_(22, "uL"), thirty))
    # from the chloride on, the site has one (an optional sodium is taken only beside a reportable chloride)
    analysed = state in ("analyzed", "result_ready", "reviewed", "reported")
    chloride = site_chloride(protocol, Q_(45 if not protocol.gravimetric else 10, "mmol/L"),
                             sweat_mass=adequacy.sample if protocol.gravimetric else None) if analysed else None
    site = replace(run.sites[0], state=state, pre_weight=Q_(1012.4, "mg"), collection_started_t=0.0,
                   collection_time=thirty, adequacy=adequacy, chloride=chloride)
    return run.with_site(site)


@pytest.mark.parametrize("method", ["macroduct", "gibson_cooke"])
@pytest.mark.parametrize("state", SITE_STATES)
@pytest.mark.parametrize("event", EXTERNAL)
def test_every_state_event_pair(method, state, event):
    run = _run_in(state, method)
    kind = run.protocol.collection_kind
    row = lookup(state, event, kind)
    ev = Event(kind=event, at=AT, t=1800.0, site="left_forearm", data=_data(event, kind))
    if row is None:
        with pytest.raises(ProcedureError) as err:
            apply(run, ev)
        assert err.value.state == state and err.value.event == event
        assert f"cannot {event} when left_forearm is {state}" in str(err.value)
    else:
        new, _ = apply(run, ev)
        assert new.sites[0].state == CHAINED.get((event, kind), row.target)
        assert new.sites[0].steps[0].source == state


def test_internal_events_cannot_be_sent_from_outside():
    run = _run_in("sample_measured", "macroduct")
    for kind in INTERNAL_EVENTS:
        with pytest.raises(ProcedureError, match="unknown event"):
            apply(run, Event(kind=kind, at=AT, t=0, site="left_forearm"))


def test_abort_is_allowed_from_every_active_state_only():
    aborts = {t.source for t in TRANSITIONS if t.event == "abort"}
    assert aborts == set(SITE_STATES) - {"reported", "aborted"}


def test_abort_needs_a_reason():
    run = _run_in("collecting", "macroduct")
    with pytest.raises(Exception, match="reason is required"):
        apply(run, Event(kind="abort", at=AT, t=0, site="left_forearm", data={}))


def test_diagram_is_generated_from_the_table():
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    for t in TRANSITIONS:
        assert f"{t.source} --> {t.target}" in text
