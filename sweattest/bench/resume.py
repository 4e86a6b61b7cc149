"""Crash recovery: find runs the program left unfinished and bring each back under control.

Outputs are forced off first; a site caught stimulating is aborted with the reason and the charge
recorded so far (never resumed); a collection resumes with the time left from the recorded start, or
ends at once (flagged as too long by the adequacy rule) when the maximum has passed; readings already
recorded are kept. Simulated runs record their scenario, so they resume on the same simulated bench.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sweattest.bench.config import LabConfig
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.simulated_run import RunResult, finish, on_bench
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.core.procedure.table import SITE_STATES
from sweattest.record.lease import Lease, acquire
from sweattest.record.runs import load_run_at

#: A run whose derived state comes before this one is unfinished: the runner still had work to do.
FIRST_DONE_STATE = "result_ready"


def unfinished_runs(store) -> list[dict]:
    done = SITE_STATES.index(FIRST_DONE_STATE)
    return [r for r in store.list_runs() if r["state"] in SITE_STATES and SITE_STATES.index(r["state"]) < done]


def last_recorded(store, run_id: str) -> datetime:
    """The latest time anything of the run was recorded: the process stopped after it."""
    times = [e.at for e in store.events(run_id)[-1:]]
    readings = store.readings(run_id)
    if readings:
        times.append(readings[-1]["at"])
    return max(times) if times else store.get_run(run_id)["created_at"]


def prepare_resume(store, run_id: str, *, speed: float | None = None, clock: Clock | None = None,
                   reporter: Reporter | None = None, operator_for: Callable[[SimulatedOperator], Any] | None = None,
                   lease: Lease | None = None):
    """The run's simulated bench and runner, brought back under control: outputs off and a site caught
    stimulating aborted before this returns; the rest is queued. ``operator_for`` wraps the simulated tech
    (the web UI puts its own operator in front). The run is leased first (``lease``, else taken now:
    ``RunLeased`` if a live process performs it); ``runner.lease`` is to be released when done.
    Returns (runner, bench, order, clock)."""
    lease = lease or acquire(store, run_id)
    try:
        run, order, seq = load_run_at(store, run_id)
        if "simulation" not in order:
            raise ValidationError(f"run {run_id} was performed on real instruments: resume it at its bench "
                                  "(sweattest serve), where the tech can check the patient and the devices")
        scenario = parse_scenario(order["simulation"], tuple(order["sites"]))
        clock = clock or VirtualClock(start=last_recorded(store, run_id), speed=speed)
        t_offset = (clock.utcnow() - store.get_run(run_id)["created_at"]).total_seconds()
        bench = simulated_bench(clock, run.protocol, scenario, tuple(order["sites"]))
    except BaseException:
        lease.release()
        raise
    try:
        simulated = SimulatedOperator(order["operator"], clock, bench, run.protocol, scenario)
        simulated.restore(run, t_offset)
        operator = operator_for(simulated) if operator_for else simulated
        runner = Runner(store=store, clock=clock, bench=bench, operator=operator, run=run, order=order,
                        reporter=reporter, t_offset=t_offset, lease=lease, seq=seq)
        runner.recover()
    except BaseException:
        bench.shutdown()
        lease.release()
        raise
    return runner, bench, order, clock


def resume_simulated(store, run_id: str, *, out_dir: Path, speed: float | None = None,
                     reporter: Reporter | None = None, clock: Clock | None = None,
                     config: LabConfig | None = None, lease: Lease | None = None) -> RunResult:
    runner, bench, order, clock = prepare_resume(store, run_id, speed=speed, clock=clock, reporter=reporter,
                                                 lease=lease)
    try:
        run = on_bench(bench, reporter, runner.run_until_results)
    finally:
        runner.lease.release()
    return finish(store, run, order, clock, out_dir, config)
