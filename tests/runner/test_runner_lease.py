"""A runner works only on the run as stored and under its lease: when another process changed the run or
took it over, the runner stops with every output off and writes no further event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.runner.readings import BACKLOG_S
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import RunTakenOver
from sweattest.core.procedure import new_run
from sweattest.record.lease import Lease
from sweattest.record.store.store import open_store

OTHER = "bench-b:202:bbbb2222"


class TakeOverAt(Reporter):
    """Another station takes the run over 60 s into the first site's stimulation (as if this one had been
    silent for its lease's time to live)."""

    def __init__(self, store):
        self.store = store
        self.seen: list[tuple[str, float]] = []
        self.messages: list[str] = []
        self.taken_at: float | None = None

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s):
        self.seen.append((site, t))
        if t >= 60.0 and self.taken_at is None:
            later = self.store.clock.utcnow() + timedelta(hours=1)
            assert self.store.take_lease("R1", OTHER, later + timedelta(seconds=15), later)
            self.taken_at = t

    def message(self, text):
        self.messages.append(text)


@pytest.fixture
def bench_run(tmp_path):
    clock = VirtualClock()
    order = parse_order(DEMO_ORDER)
    scenario = parse_scenario(DEMO_SCENARIO, order.sites)
    store = open_store(str(tmp_path / "runs.db"), clock)
    lease = Lease(store, "R1", owner="bench-a:101:aaaa1111", ttl_s=15)
    store.create_run("R1", accession=order.accession, method=order.method, operator="tech1",
                     patient_mrn=order.patient.mrn, created_at=clock.utcnow(), order=order.as_dict(),
                     protocol=order.protocol, lease=lease.for_new_run())
    bench = simulated_bench(clock, order.protocol, scenario, order.sites)
    reporter = TakeOverAt(store)
    runner = Runner(store=store, clock=clock, bench=bench, run=new_run("R1", order.protocol, order.sites),
                    operator=SimulatedOperator("tech1", clock, bench, order.protocol, scenario),
                    order=order.as_dict() | {"pilocarpine_lot": {"lot": "PG1", "expires": order.pilocarpine_expires}},
                    reporter=reporter, lease=lease)
    yield store, bench, runner, reporter
    bench.close()
    store.close()


def test_a_runner_whose_run_another_process_changed_writes_nothing(bench_run):
    store, _bench, runner, _ = bench_run
    store.append_event("R1", kind="abort", site=None, at=store.clock.utcnow(), t=0.0,  # the other writer
                       data={"actor": "tech2", "reason": "wrong patient"})
    with pytest.raises(RunTakenOver, match="run R1 was changed by another process"):
        runner.feed("verify_patient", data={"mrn": "MRN1"})
    assert [e.kind for e in store.events("R1")] == ["abort"]


def test_a_runner_that_lost_its_lease_while_stimulating_stops_with_the_output_off(bench_run):
    store, bench, runner, reporter = bench_run
    runner.feed("verify_patient", data={"mrn": "MRN1"})
    with pytest.raises(RunTakenOver, match="run R1 is being performed by bench-b:202 .*this station stops"):
        runner.run_until_results()
    simulator = bench.inducer.driver.port.simulator
    assert not any(simulator.output_state(ch) for ch in (1, 2))
    stimulated = [t for site, t in reporter.seen if site == "left_forearm"]
    # noticed at its next renewal (every 5 s), made by the readings writer; on an instant clock the loop may run
    # ahead of that thread by up to the writer's backlog before it waits for it
    assert max(stimulated) < reporter.taken_at + 5.0 + BACKLOG_S + 1.0
    assert not any(site == "right_forearm" for site, _ in reporter.seen)
    assert [e.kind for e in store.events("R1")] == ["verify_patient", "check_ready",
                                                    "start_stimulation"]  # no abort written over the other's
    assert any("this station stops working on it" in m for m in reporter.messages)
    assert store.get_run("R1")["lease_owner"] == OTHER
