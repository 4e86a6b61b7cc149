"""A whole run on an inducer whose output relay does not open: the site is aborted (or finished) with the
truthful reason, the inducer is declared faulty, the other site is never stimulated, and the tech gets an alarm
that stays until acknowledged (the acknowledgement is audited with who and when)."""

from __future__ import annotations

import copy

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.core.procedure import new_run
from sweattest.record.alarms import acknowledge, inducer_alarms
from sweattest.record.audit import history
from sweattest.record.skin_reactions import run_skin_reactions
from sweattest.record.store.store import open_store

STUCK_OFF = "setpoint 0 confirmed; output NOT confirmed off (OUTP1? read 1 twice)"
POWER_SWITCH = "Switch the inducer off at its power switch now and remove the electrodes from the patient"


class Alarms(Reporter):
    def __init__(self):
        self.alarms: list[tuple[str | None, str]] = []

    def alarm(self, site, text):
        self.alarms.append((site, text))


def _run(tmp_path, faults):
    clock = VirtualClock()
    order = parse_order(DEMO_ORDER)
    scenario = parse_scenario(copy.deepcopy(DEMO_SCENARIO) | {"faults": faults}, order.sites)
    store = open_store(str(tmp_path / "runs.db"), clock)
    store.create_run("R1", accession=order.accession, method=order.method, operator="tech1",
                     patient_mrn=order.patient.mrn, created_at=clock.utcnow(), order=order.as_dict(),
                     protocol=order.protocol)
    bench = simulated_bench(clock, order.protocol, scenario, order.sites)
    reporter = Alarms()
    runner = Runner(store=store, clock=clock, bench=bench, run=new_run("R1", order.protocol, order.sites),
                    operator=SimulatedOperator("tech1", clock, bench, order.protocol, scenario),
                    order=order.as_dict() | {"pilocarpine_lot": {"lot": "PG1", "expires": order.pilocarpine_expires}},
                    reporter=reporter)
    try:
        runner.feed("verify_patient", data={"mrn": order.patient.mrn})
        run = runner.run_until_results()
        received = list(bench.inducer.driver.port.simulator.received)
    finally:
        bench.close()
    return run, store, clock, reporter, received


def test_a_fault_with_a_stuck_relay_aborts_the_site_latches_the_inducer_and_alarms_until_acknowledged(tmp_path):
    faults = [{"device": "inducer", "kind": "stuck_relay", "site": "left_forearm", "at_s": 60},
              {"device": "inducer", "kind": "open_circuit", "site": "left_forearm", "at_s": 150}]
    run, store, clock, reporter, received = _run(tmp_path, faults)
    try:
        left, right = run.sites
        assert left.state == "aborted" and left.abort_reason.startswith("open circuit 150.")
        assert f"Off check: {STUCK_OFF}. The inducer is declared faulty. {POWER_SWITCH}" in left.abort_reason
        assert right.state == "aborted" and right.abort_reason.startswith(
            "not stimulated: the inducer was declared faulty earlier (off not confirmed: " + STUCK_OFF)
        assert "OUTP2 ON" not in received  # the next site's channel was never switched on
        [(site, text)] = reporter.alarms
        assert site == "left_forearm" and POWER_SWITCH in text
        [alarm] = inducer_alarms(store, "R1")
        assert alarm.site == "left_forearm" and not alarm.acknowledged and not alarm.output_off
        with pytest.raises(ValidationError, match="left forearm: choose how its skin looks"):
            acknowledge(store, "R1", alarm.seq, "tech1", clock.utcnow())  # the faulted site's skin first
        with pytest.raises(ValidationError, match="a burn is an adverse event"):
            acknowledge(store, "R1", alarm.seq, "tech1", clock.utcnow(), skin=("burn", ""))
        assert run_skin_reactions(store, "R1") == {}  # nothing written by a refused acknowledgment
        acknowledge(store, "R1", alarm.seq, "tech1", clock.utcnow(), skin=("erythema", ""))
        [alarm] = inducer_alarms(store, "R1")
        assert alarm.acknowledged_by == "tech1" and alarm.acknowledged_at == clock.utcnow()
        [entry] = [e for e in history(store, "R1") if e.what == "acknowledge_alarm"]
        assert entry.who == "tech1" and entry.new == {"event": alarm.seq, "site": "left_forearm", "skin": "erythema"}
        assert run_skin_reactions(store, "R1")["left_forearm"].grade == "erythema"
        assert "right_forearm" not in run_skin_reactions(store, "R1")  # never stimulated: no skin to check
        with pytest.raises(ValidationError, match="already acknowledged by tech1"):
            acknowledge(store, "R1", alarm.seq, "tech2", clock.utcnow(), skin=("none", ""))
    finally:
        store.close()


def test_a_relay_that_stays_closed_at_the_normal_end_alarms_and_says_so(tmp_path):
    faults = [{"device": "inducer", "kind": "stuck_relay", "site": "left_forearm", "at_s": 200}]
    run, store, _, reporter, received = _run(tmp_path, faults)
    try:
        left, right = run.sites
        [finish] = [e for e in store.events("R1") if e.kind == "finish_stimulation"]
        assert finish.data["output_off_confirmed"] is False and finish.data["inducer_faulty"] is True
        assert finish.data["off_check"] == STUCK_OFF
        assert finish.data["reason"].startswith("stimulation completed, but the inducer is not confirmed safe. "
                                                f"Off check: {STUCK_OFF}.")
        assert left.state == "result_ready"  # the full dose was delivered: the sweat is collected as usual
        assert right.state == "aborted" and "declared faulty" in right.abort_reason
        assert "OUTP2 ON" not in received
        assert reporter.alarms[0][0] == "left_forearm" and POWER_SWITCH in reporter.alarms[0][1]
        assert [a.site for a in inducer_alarms(store, "R1")] == ["left_forearm"]
    finally:
        store.close()
