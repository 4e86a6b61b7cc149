"""Faults in a whole simulated run: the faulted site ends aborted with its reason, the other site's run is
unaffected, and nothing already recorded is lost (scenario faults as `sweattest run --simulate` takes them)."""

from __future__ import annotations

import copy

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store

PHASES = {"ramp_up": 8, "hold": 150, "ramp_down": 292}
#: Faults of one channel's load: the other channel's site goes on untouched.
LOAD_FAULTS = ("open_circuit", "high_impedance")
#: Faults of the whole inducer: no site may be stimulated with it; each aborts with its reason.
DEVICE_FAULTS = ("garbled", "no_response", "disconnect")


def _perform(tmp_path, faults, method="macroduct"):
    order_doc = copy.deepcopy(DEMO_ORDER) | {"method": method}
    scenario_doc = copy.deepcopy(DEMO_SCENARIO) | {"faults": faults}
    order = parse_order(order_doc)
    store = open_store(str(tmp_path / "runs.db"))
    try:
        result = perform_simulated_run(order, parse_scenario(scenario_doc, order.sites), store=store,
                                       clock=VirtualClock(), out_dir=tmp_path / "out")
        events = store.events(result.run.run_id)
    finally:
        store.close()
    return result, events


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("kind", LOAD_FAULTS)
def test_a_load_fault_aborts_its_site_only(tmp_path, kind, phase):
    fault = {"device": "inducer", "site": "left_forearm", "kind": kind, "at_s": PHASES[phase]}
    result, events = _perform(tmp_path, [fault])
    left, right = result.run.sites
    assert left.state == "aborted" and left.abort_reason
    assert left.charge is not None and left.charge.to("mA*min").magnitude < 7.0
    [abort] = [e for e in events if e.kind == "abort"]
    assert abort.site == "left_forearm" and abort.data["code"] in {
        "open_circuit", "compliance_voltage", "lost_communication", "current_deviation"}
    assert right.state == "result_ready" and right.chloride.text is not None  # the other site is unaffected
    assert result.record.interpretation.category == "intermediate"


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("kind", DEVICE_FAULTS)
def test_a_broken_inducer_stops_the_site_and_stimulates_no_other(tmp_path, kind, phase):
    fault = {"device": "inducer", "site": "left_forearm", "kind": kind, "at_s": PHASES[phase]}
    result, events = _perform(tmp_path, [fault])
    left, right = result.run.sites
    aborts = {e.site: e.data for e in events if e.kind == "abort"}
    assert aborts["left_forearm"]["code"] == "lost_communication"
    assert 0 < left.charge.to("mA*min").magnitude < 7.0  # what was delivered before the link broke
    # the off sequence could not be read back: the inducer is latched faulty and never switched on again
    assert aborts["left_forearm"]["inducer_faulty"] and "declared faulty" in aborts["left_forearm"]["reason"]
    assert right.state == "aborted" and aborts["right_forearm"]["code"] == "inducer_faulty"
    assert "not stimulated: the inducer was declared faulty" in aborts["right_forearm"]["reason"]
    assert right.charge is None or right.charge.magnitude == 0  # never switched on
    assert result.files  # the record is still written, and says what to do (CLSI C34: an aborted test is repeated)
    interp = result.record.interpretation
    assert (interp.category, interp.repeat_recommended) == (None, True)
    assert interp.wording == "No result: the test was aborted; repeat the test."


def test_an_analyzer_error_code_is_retried_once_then_succeeds(tmp_path):
    result, events = _perform(tmp_path, [{"device": "chloridometer", "kind": "E03"}])
    assert [s.state for s in result.run.sites] == ["result_ready", "result_ready"]


def test_a_silent_analyzer_aborts_the_analysis_with_the_reason_and_keeps_the_sample(tmp_path):
    result, events = _perform(tmp_path, [{"device": "chloridometer", "kind": "silent"}])
    for site in result.run.sites:
        assert site.state == "aborted" and "chloride analysis failed" in site.abort_reason
        assert site.adequacy is not None and site.adequacy.adequate  # the measured sample stays recorded
    assert [e.kind for e in events].count("measure_sample") == 2


@pytest.mark.parametrize("kind, words", [("unstable", "did not become stable"), ("overload", "overload"),
                                         ("underload", "underload")])
def test_balance_faults_abort_the_weighing_with_a_clear_reason(tmp_path, kind, words):
    result, _ = _perform(tmp_path, [{"device": "balance", "kind": kind}], method="gibson_cooke")
    for site in result.run.sites:
        assert site.state == "aborted" and "pre-weighing failed" in site.abort_reason
        assert words in site.abort_reason.lower()


def test_a_result_for_another_sample_is_never_recorded_for_this_site(tmp_path, monkeypatch):
    from sweattest.bench.simulation.world import SimulatedOperator

    load = SimulatedOperator.load_analyzer

    def mixed_up(self, site, sample_id):  # the right forearm's vial is swapped with another patient's
        load(self, site, "R-OTHER-PATIENT" if site == "right_forearm" else sample_id)

    monkeypatch.setattr(SimulatedOperator, "load_analyzer", mixed_up)
    result, events = _perform(tmp_path, [])
    left, right = result.run.sites
    assert left.state == "result_ready" and left.chloride is not None
    assert right.state == "aborted" and right.chloride is None
    assert "the chloridometer reported sample 'R-OTHER-PATIENT', expected" in right.abort_reason
    assert not any(e.kind == "analyze" and e.site == "right_forearm" for e in events)


def test_a_balance_reading_beyond_what_a_gauze_can_hold_is_refused_and_kept(tmp_path):
    # CLSI C34 Appendix A: a gauze yields tens to a few hundred mg; 20 g/m2/min on 25.8 cm2 for 30 min would be
    # about 1550 mg: an instrument error, refused naming the 500 mg limit, weighed again, then the site aborted
    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["sites"]["left_forearm"]["sweat_rate_g_m2_min"] = 20
    order = parse_order(copy.deepcopy(DEMO_ORDER) | {"method": "gibson_cooke"})
    store = open_store(str(tmp_path / "runs.db"))
    try:
        result = perform_simulated_run(order, parse_scenario(scenario, order.sites), store=store,
                                       clock=VirtualClock(), out_dir=tmp_path / "out")
        events = store.events(result.run.run_id)
    finally:
        store.close()
    left, right = result.run.sites
    assert left.state == "aborted" and "above the 500 mg maximum (CLSI C34 Appendix A" in left.abort_reason
    assert right.state == "result_ready"
    refused = [e for e in events if e.kind == "measure_sample" and e.site == "left_forearm"]
    assert len(refused) == 2 and not any(e.accepted for e in refused)  # both readings kept, marked refused
    assert all("500 mg maximum" in e.data["refused"] for e in refused)
    assert result.record.interpretation.repeat_recommended is True
