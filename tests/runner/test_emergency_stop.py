"""Emergency stop from the bench: the stimulating site stops with its output off, no other site starts."""

from __future__ import annotations

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import VirtualClock
from sweattest.core.procedure import new_run
from sweattest.record.store.store import open_store


class StopAfter(Reporter):
    """Presses the emergency stop 60 s into the first site's stimulation."""

    def __init__(self):
        self.runner = None
        self.seen: list[tuple[str, float]] = []

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s):
        self.seen.append((site, t))
        if t >= 60.0 and self.runner.stop_reason is None:
            self.runner.request_stop("emergency stop by tech1")


def test_emergency_stop_aborts_the_site_with_output_off_and_starts_no_other(tmp_path):
    clock = VirtualClock()
    order = parse_order(DEMO_ORDER)
    scenario = parse_scenario(DEMO_SCENARIO, order.sites)
    store = open_store(str(tmp_path / "runs.db"), clock)
    store.create_run("R1", accession=order.accession, method=order.method, operator="tech1",
                     patient_mrn=order.patient.mrn, created_at=clock.utcnow(), order=order.as_dict(),
                     protocol=order.protocol)
    bench = simulated_bench(clock, order.protocol, scenario, order.sites)
    reporter = StopAfter()
    runner = Runner(store=store, clock=clock, bench=bench, run=new_run("R1", order.protocol, order.sites),
                    operator=SimulatedOperator("tech1", clock, bench, order.protocol, scenario),
                    order=order.as_dict() | {"pilocarpine_lot": {"lot": "PG1", "expires": order.pilocarpine_expires}},
                    reporter=reporter)
    reporter.runner = runner
    try:
        runner.feed("verify_patient", data={"mrn": order.patient.mrn})
        run = runner.run_until_results()
        simulator = bench.inducer.driver.port.simulator
        assert not any(simulator.output_state(ch) for ch in (1, 2))
    finally:
        bench.close()
    left, right = run.sites
    assert left.state == right.state == "aborted"
    assert left.abort_reason.startswith("emergency stop by tech1")
    assert right.abort_reason == "emergency stop by tech1"
    assert max(t for site, t in reporter.seen if site == "left_forearm") < 60.2
    assert not any(site == "right_forearm" for site, _ in reporter.seen)
    codes = [e.data.get("code") for e in store.events("R1") if e.kind == "abort"]
    assert codes == ["emergency_stop", "emergency_stop"]
    assert [e.data.get("output_off_confirmed") for e in store.events("R1") if e.kind == "abort"][0] is True
