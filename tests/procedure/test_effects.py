"""The effects of every transition, asserted as data (the list the runner is asked to carry out).

The core is pure: given a state and an event it returns the next state and the effects. Like a plan's
messages, the effects are the core's whole contract with the shell, so each allowed (state, event) pair of a
one-site run has its expected effect list here, and a bilateral run is walked step by step with the effects
of every step, the order of the two sites' stimulations included.
"""

from datetime import UTC, datetime

import pytest

from sweattest.core.procedure import apply, new_run
from sweattest.core.procedure import effects as fx
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.table import ACTIVE_STATES, TRANSITIONS
from sweattest.core.protocol import load_protocol
from sweattest.core.units import Q_
from tests.procedure.test_table import _data, _run_in

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T = 1800.0
LEFT, RIGHT = "left_forearm", "right_forearm"
#: t + the method's 30-minute collection (CLSI C34), in procedure seconds
DUE = T + 30 * 60

#: (state, event, collection kind or None for both) -> the effects of that transition in a one-site run
EXPECTED: dict[tuple[str, str, str | None], list[fx.Effect]] = {
    ("created", "verify_patient", None): [fx.CheckReadiness()],
    ("patient_verified", "check_ready", "volumetric"): [fx.Stimulate(LEFT, 1)],
    ("patient_verified", "check_ready", "gravimetric"): [fx.PreWeigh(LEFT)],
    ("ready", "pre_weigh", "gravimetric"): [fx.Stimulate(LEFT, 1)],
    ("ready", "start_stimulation", "volumetric"): [],
    ("pre_weighed", "start_stimulation", "gravimetric"): [],
    ("stimulating", "finish_stimulation", None): [fx.ApplyCollector(LEFT)],
    ("stimulation_done", "start_collection", None): [fx.StartTimer(LEFT, "collection", DUE, "finish_collection")],
    ("collecting", "finish_collection", "volumetric"): [fx.MeasureSample(LEFT, gravimetric=False)],
    ("collecting", "finish_collection", "gravimetric"): [fx.MeasureSample(LEFT, gravimetric=True)],
    ("collection_done", "measure_sample", None): [fx.Analyze(LEFT, "R1-1")],
    ("adequate", "analyze", None): [fx.ResultsReady()],
    ("result_ready", "review", None): [],
    ("result_ready", "enter_sodium", None): [],
    ("reviewed", "report", None): [fx.RunFinished()],
}
#: an abort ends a one-site run; stimulation is switched off, a collection's timer cancelled, first
ABORT_FIRST = {"stimulating": [fx.OutputOff(LEFT, 1)], "collecting": [fx.CancelTimer(LEFT, "collection")]}


def _expected(state: str, event: str, kind: str) -> list[fx.Effect]:
    if event == "abort":
        return ABORT_FIRST.get(state, []) + [fx.RunFinished()]
    for key in ((state, event, kind), (state, event, None)):
        if key in EXPECTED:
            return EXPECTED[key]
    raise AssertionError(f"no expected effects for {state} + {event} ({kind})")


_PAIRS = sorted({(t.source, t.event, t.only) for t in TRANSITIONS if t.event not in
                 {"judge_adequate", "judge_qns", "release_result"}}, key=str)


_KIND = {"macroduct": "volumetric", "gibson_cooke": "gravimetric"}
_CASES = [(method, state, event) for method, kind in _KIND.items() for state, event, only in _PAIRS
          if only in (None, kind)]


@pytest.mark.parametrize(("method", "state", "event"), _CASES)
def test_every_transition_yields_its_effects(method, state, event):
    run = _run_in(state, method)
    kind = run.protocol.collection_kind
    ev = Event(kind=event, at=AT, t=T, site=LEFT, data=_data(event, kind))
    _, effects = apply(run, ev)
    assert effects == _expected(state, event, kind)


def test_every_allowed_pair_has_an_expectation():
    for state, event, only in _PAIRS:
        for kind in ("volumetric", "gravimetric"):
            if only in (None, kind):
                assert _expected(state, event, kind) is not None
    assert {s for s, e, _ in _PAIRS if e == "abort"} == set(ACTIVE_STATES)


def test_a_qns_sample_is_released_without_analysis():
    run = _run_in("collection_done", "macroduct")
    new, effects = apply(run, Event(kind="measure_sample", at=AT, t=T, site=LEFT, data={"volume": Q_(9, "uL")}))
    assert new.sites[0].state == "result_ready"
    assert effects == [fx.ResultsReady()]


def _step(run, kind, t, site=None, **data):
    return apply(run, Event(kind=kind, at=AT, t=t, site=site, data=data))


def test_a_bilateral_macroduct_run_step_by_step():
    """One site stimulates at a time: the right arm's stimulation is asked for once the left's collector is
    on; each collection has its own timer; the result is ready only when both sites have theirs."""
    run = new_run("R1", load_protocol("macroduct"), [LEFT, RIGHT])
    steps = [
        (("verify_patient", 0.0, None, {}), [fx.CheckReadiness()]),
        (("check_ready", 10.0, None, {}), [fx.Stimulate(LEFT, 1)]),
        (("start_stimulation", 20.0, LEFT, {}), []),
        (("finish_stimulation", 320.0, LEFT, {"charge": Q_(7.5, "mA*min")}), [fx.ApplyCollector(LEFT)]),
        (("start_collection", 330.0, LEFT, {}),
         [fx.StartTimer(LEFT, "collection", 2130.0, "finish_collection"), fx.Stimulate(RIGHT, 2)]),
        (("start_stimulation", 340.0, RIGHT, {}), []),
        (("finish_stimulation", 640.0, RIGHT, {"charge": Q_(7.5, "mA*min")}), [fx.ApplyCollector(RIGHT)]),
        (("start_collection", 650.0, RIGHT, {}), [fx.StartTimer(RIGHT, "collection", 2450.0, "finish_collection")]),
        (("finish_collection", 2130.0, LEFT, {}), [fx.MeasureSample(LEFT, gravimetric=False)]),
        (("measure_sample", 2200.0, LEFT, {"volume": Q_(40, "uL")}), [fx.Analyze(LEFT, "R1-1")]),
        (("analyze", 2260.0, LEFT, {"chloride": Q_(25, "mmol/L")}), []),
        (("finish_collection", 2450.0, RIGHT, {}), [fx.MeasureSample(RIGHT, gravimetric=False)]),
        (("measure_sample", 2500.0, RIGHT, {"volume": Q_(38, "uL")}), [fx.Analyze(RIGHT, "R1-2")]),
        (("analyze", 2560.0, RIGHT, {"chloride": Q_(27, "mmol/L")}), [fx.ResultsReady()]),
        (("review", 2600.0, None, {"reviewer": "rev1"}), []),
        (("report", 2610.0, None, {}), [fx.RunFinished()]),
    ]
    for (kind, t, site, data), expected in steps:
        run, effects = _step(run, kind, t, site, **data)
        assert effects == expected, f"{kind} {site or ''} at t={t}"
    assert [s.state for s in run.sites] == ["reported", "reported"]


def test_a_fault_on_the_first_site_moves_the_stimulation_to_the_second():
    """Abort during the left arm's stimulation: output off on its channel, then the right arm is next."""
    run = new_run("R1", load_protocol("macroduct"), [LEFT, RIGHT])
    run, _ = _step(run, "verify_patient", 0.0)
    run, _ = _step(run, "check_ready", 10.0)
    run, _ = _step(run, "start_stimulation", 20.0, LEFT)
    run, effects = _step(run, "abort", 80.0, LEFT, reason="open circuit", charge=Q_(1.2, "mA*min"))
    assert effects == [fx.OutputOff(LEFT, 1), fx.Stimulate(RIGHT, 2)]


def test_a_gravimetric_run_pre_weighs_every_site_before_any_current():
    run = new_run("R1", load_protocol("gibson_cooke"), [LEFT, RIGHT])
    run, _ = _step(run, "verify_patient", 0.0)
    run, effects = _step(run, "check_ready", 10.0)
    assert effects == [fx.PreWeigh(LEFT), fx.PreWeigh(RIGHT)]
    run, effects = _step(run, "pre_weigh", 20.0, LEFT, weight=Q_(1012.4, "mg"))
    assert effects == []  # the right arm is not weighed yet: no current anywhere
    run, effects = _step(run, "pre_weigh", 30.0, RIGHT, weight=Q_(1010.1, "mg"))
    assert effects == [fx.Stimulate(LEFT, 1)]


def test_aborting_the_whole_run_while_one_site_collects():
    run = new_run("R1", load_protocol("macroduct"), [LEFT, RIGHT])
    for kind, t, site, data in [("verify_patient", 0.0, None, {}), ("check_ready", 10.0, None, {}),
                                ("start_stimulation", 20.0, LEFT, {}),
                                ("finish_stimulation", 320.0, LEFT, {"charge": Q_(7.5, "mA*min")}),
                                ("start_collection", 330.0, LEFT, {}), ("start_stimulation", 340.0, RIGHT, {})]:
        run, _ = _step(run, kind, t, site, **data)
    run, effects = _step(run, "abort", 400.0, None, reason="emergency stop", charge=Q_(0.9, "mA*min"))
    assert effects == [fx.CancelTimer(LEFT, "collection"), fx.OutputOff(RIGHT, 2), fx.RunFinished()]
