"""The runs of a bench station: started through the run service, each in a ``BenchSession`` (its runner
thread), the runs a stop left unfinished resumed at start-up, the ticker that refreshes their timers, and the
stand-down. The station's process runs it (``sweattest.bench.station.process``); tests on a virtual clock may
run it in their own process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sweattest.bench.live_view import RunView, ViewReporter
from sweattest.bench.order import Order
from sweattest.bench.resume_notice import resume_notice
from sweattest.bench.service import RunService
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.station.prompts import WebOperator
from sweattest.bench.station.session import BenchSession
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ProcedureError, RunLeased, ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.purpose import TRAINING
from sweattest.record.holder import this_station
from sweattest.record.repeats import RepeatOf
from sweattest.record.runs import load_run

log = logging.getLogger(__name__)

#: How often (wall seconds) the station's ticker refreshes the timers and timing alarms of every live run.
TICK_S = 0.25


class BenchManager:
    """Starts runs through the run service and finds their live sessions. With ``simulate`` the instruments
    are the training simulators; otherwise those of the lab configuration."""

    def __init__(self, store, clock: Clock, *, simulate: bool, pace: float | None = 30.0,
                 config: LabConfig | None = None):
        self.store = store
        self.clock = clock
        self.simulate = simulate
        self.pace = pace  # training runs: how much faster than real time (None: as fast as possible)
        self.service = RunService(store, config)
        self.sessions: dict[str, BenchSession] = {}
        #: why an unfinished run was left alone at start-up (another live process holds it), by run id
        self.left_alone: dict[str, str] = {}
        self.zone = (config or LabConfig()).zone
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self, order: Order, scenario_doc: dict[str, Any] | None, operator_name: str,
              station: str | None = None, repeat: RepeatOf | None = None) -> str:
        """Create the run (written ahead), then run it in a thread. Returns the run id. ``repeat``: the run it
        repeats, as the tech declared it."""
        scenario = parse_scenario(scenario_doc, order.sites) if self.simulate and scenario_doc is not None else None
        if self.simulate and scenario is None:
            raise ValidationError("training: pick a scenario for the simulated instruments")
        view, reporter = self._view(order.protocol)
        active = self.service.start(
            order, clock=self._run_clock() if scenario is not None else self.clock, scenario=scenario,
            operator_for=lambda simulated: WebOperator(operator_name, simulated, order.protocol, station),
            reporter=reporter, purpose=TRAINING if self.simulate else None, repeat=repeat)
        view.run_id = active.run_id
        self._launch(BenchSession(active, view, reporter, self._clock_time))
        return active.run_id

    def _view(self, protocol: Protocol) -> tuple[RunView, ViewReporter]:
        view = RunView("", protocol.current.to("mA").magnitude)
        return view, ViewReporter(view, self.clock.monotonic, lambda: None)

    def _clock_time(self, at: datetime) -> str:
        """A time of day on the lab's clock, as the screens show it."""
        return f"{at.astimezone(self.zone):%H:%M:%S}"

    def _launch(self, session: BenchSession) -> None:
        with self._lock:
            self.sessions[session.run_id] = session
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="bench-ticker", daemon=True)
                self._ticker.start()
        session.refresh()
        session.thread.start()

    def _tick(self) -> None:
        """Timers and timing alarms of every live run, a few times a second, until the station closes."""
        while not self._closing.wait(TICK_S):  # wall time between refreshes of the screens, not procedure time
            for session in list(self.sessions.values()):
                try:
                    session.tick()
                except Exception:  # noqa: BLE001 - a screen refresh never stops the station
                    log.exception("run %s: screen refresh failed", session.run_id)

    def resume_unfinished(self, left_alone: Callable[[str], None] = log.warning) -> list[str]:
        """At start-up: every run a crash left unfinished is brought back under control (outputs off, a site
        caught stimulating aborted with the reason, collections resumed from their recorded start) and
        continues at this station: training runs on their simulators, others on the configured instruments.
        Runs another live process performs (it holds the lease) are left alone, told to ``left_alone``."""
        resumed = []
        for row in self.service.unfinished(station=this_station()):  # another station's runs are its own
            if row["run_id"] in self.sessions:
                continue  # already running at this station
            _, order = load_run(self.store, row["run_id"])
            if ("simulation" in order) != self.simulate:
                log.warning("run %s is unfinished; it belongs to a %s station", row["run_id"],
                            "training" if "simulation" in order else "bench")
                continue
            try:
                self._resume(row["run_id"], simulated="simulation" in order)
            except RunLeased as exc:
                self.left_alone[row["run_id"]] = str(exc)
                left_alone(str(exc))
                continue
            self.left_alone.pop(row["run_id"], None)
            resumed.append(row["run_id"])
        return resumed

    def _resume(self, run_id: str, simulated: bool) -> None:
        run, _ = load_run(self.store, run_id)
        view, reporter = self._view(run.protocol)
        view.run_id = run_id
        active = self.service.resume(
            run_id, speed=self.pace, clock=None if simulated else self.clock, reporter=reporter,
            by="station start-up",
            operator_for=lambda sim: WebOperator(sim.name if sim else self._operator_of(run_id), sim, run.protocol))
        log.warning("run %s was unfinished at start-up: resumed (outputs forced off)", run_id)
        session = BenchSession(active, view, reporter, self._clock_time)
        session.resumed = resume_notice(self.store.events(run_id), self._clock_time)
        self._launch(session)

    def _operator_of(self, run_id: str) -> str:
        return self.store.get_run(run_id)["operator"]

    def _run_clock(self) -> Clock:
        """Each training run has its own clock, starting now: paced, or instant when ``pace`` is None. At pace 1
        the run is in real time on the station's clock, as at a bench with instruments: a busy machine then
        shows in the run's timing, as it would there."""
        if self.pace == 1.0:
            return self.clock
        start = self.clock.utcnow()
        return VirtualClock(start=start, speed=self.pace)

    def session(self, run_id: str) -> BenchSession | None:
        return self.sessions.get(run_id)

    def stop(self, run_id: str, by: str, station: str | None = None, name: str | None = None) -> None:
        """Stop the run's stimulation; ``by`` (the user name) is recorded as who did it, ``name`` (their full
        name) is said in the reason."""
        session = self.sessions.get(run_id)
        if session is None or not session.active:
            raise ProcedureError(f"run {run_id} is not running at this station; nothing is stimulating")
        session.operator.acting = (by, station)  # the abort that follows is theirs
        session.runner.request_stop(f"emergency stop by {f'{name} ({by})' if name else by}")
        session.wait_stopped()  # the loop stops at its next reading (0.1 s): the next screen shows the outcome

    def close(self, reason: str = "the station was shut down") -> None:
        """The station stops cleanly: a stimulation in progress stops with the off sequence and is recorded
        as stopped for ``reason``; no new step starts; collections keep their recorded start; each run's lease
        is released as its thread ends (within about a second), for the next start to resume it."""
        self._closing.set()
        for session in list(self.sessions.values()):
            if session.active:
                session.runner.stand_down(reason)
            session.operator.close()
        for session in list(self.sessions.values()):
            session.thread.join(timeout=10)


__all__ = ["TICK_S", "BenchManager"]
