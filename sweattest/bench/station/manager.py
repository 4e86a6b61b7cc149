"""The runs of a bench station: started through the run service, each in a ``BenchSession`` (its runner
thread), the runs a stop left unfinished resumed at start-up, the ticker that refreshes their timers, and the
stand-down. The station's process runs it (``sweattest.bench.station.process``); tests on a virtual clock may
run it in their own process."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sweattest.bench.live_view import RunView, ViewReporter
from sweattest.bench.order import Order
from sweattest.bench.resume_notice import resume_notice
from sweattest.bench.service import RunService
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.station.feed import Reporters, TerminalFeed
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
        self._numbers = itertools.count(1)

    def start(self, order: Order, scenario_doc: dict[str, Any] | None, operator_name: str,
              station: str | None = None, repeat: RepeatOf | None = None, unverified_reason: str | None = None,
              terminal: Terminal | None = None) -> str:
        """Create the run (written ahead), then run it in a thread. Returns the run id. ``repeat``: the run it
        repeats, as the tech declared it; ``unverified_reason``: why a patient run goes ahead on an instrument not
        verified (``RunService.start``); ``terminal``: a run started at a terminal (``sweattest run``)."""
        scenario = parse_scenario(scenario_doc, order.sites) if self.simulate and scenario_doc is not None else None
        if self.simulate and scenario is None:
            raise ValidationError("training: pick a scenario for the simulated instruments")
        terminal = terminal or Terminal()
        view, reporter, feed = self._view(order.protocol)
        # at a terminal the runner judges a volume the method cannot yield (recorded as refused), as it always has
        protocol = None if terminal.at_terminal else order.protocol
        clock = self._run_clock() if scenario is not None else self._instrument_clock(terminal.speed)
        active = self.service.start(
            order, clock=clock, scenario=scenario,
            operator_for=lambda simulated: WebOperator(operator_name, simulated, protocol, station),
            reporter=Reporters(reporter, feed), purpose=TRAINING if self.simulate else None, repeat=repeat,
            unverified_reason=unverified_reason, require_simulators=terminal.speed is not None, run_id=terminal.run_id,
            extra={"checklist": terminal.checklist} if terminal.checklist else None)
        view.run_id = active.run_id
        session = BenchSession(active, view, reporter, self._clock_time, feed)
        session.at_terminal = terminal.at_terminal
        self._launch(session)
        return active.run_id

    def _instrument_clock(self, speed: str | float | None) -> Clock:
        """The clock of a run on the configured instruments: the station's; with ``speed`` (``run --speed``:
        every instrument must then be a sweattest simulator) simulated time from now, instant or that factor."""
        if speed is None:
            return self.clock
        return VirtualClock(start=self.clock.utcnow().replace(microsecond=0),
                            speed=None if speed == "instant" else float(speed))

    def _view(self, protocol: Protocol) -> tuple[RunView, ViewReporter, TerminalFeed]:
        view = RunView("", protocol.current.to("mA").magnitude)
        return view, ViewReporter(view, self.clock.monotonic, lambda: None), TerminalFeed()

    def _clock_time(self, at: datetime) -> str:
        """A time of day on the lab's clock, as the screens show it."""
        return f"{at.astimezone(self.zone):%H:%M:%S}"

    def _launch(self, session: BenchSession) -> None:
        with self._lock:
            session.number = next(self._numbers)
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

    def resume(self, run_id: str, by: str) -> int:
        """``sweattest resume`` at this station: the run goes on under ``by`` (who resumed it), in the session
        performing it here, or resumed now (outputs forced off first) in a new one if no session performs it (an
        ended one is replaced); RunLeased when another live process holds it. Returns the number of the session
        that performs it (what was pushed of an earlier one is not its end)."""
        session = self.sessions.get(run_id)
        if session is not None and session.active:
            if not session.at_terminal:
                raise RunLeased(f"run {run_id} is being performed on this station's bench screens; left alone: "
                                "continue it there")
            session.operator.name = by  # what follows is recorded as theirs
            session.operator.acting = (by, None)
            return session.number
        _, order = load_run(self.store, run_id)
        if ("simulation" in order) != self.simulate:
            kind = "simulated" if "simulation" in order else "configured"
            raise ValidationError(f"run {run_id} was performed on {kind} instruments, not this station's: resume it "
                                  "where they are")
        # a `run --speed` run on simulators this station performed goes on at its pace, on its own clock
        paced = session.clock if session is not None and session.clock is not self.clock else None
        return self._resume(run_id, simulated="simulation" in order, by=by, clock=paced)

    def leave(self, run_id: str, reason: str) -> None:
        """The terminal that follows the run stops (Ctrl-C, a stop signal, its input ended): a stimulation in
        progress stops with the off sequence and is recorded as stopped for ``reason``; no new step starts;
        collections keep their recorded start; the lease is released as the run's thread ends, and the run is
        left for ``sweattest resume``."""
        session = self.sessions.get(run_id)
        if session is None:
            raise ProcedureError(f"run {run_id} is not running at this station")
        self._leave(session, reason)
        session.thread.join(timeout=10)

    def _leave(self, session: BenchSession, reason: str) -> None:
        if session.active:
            session.runner.stand_down(reason)
        session.operator.close()

    def _resume(self, run_id: str, simulated: bool, by: str | None = None, clock: Clock | None = None) -> int:
        run, _ = load_run(self.store, run_id)
        view, reporter, feed = self._view(run.protocol)
        view.run_id = run_id
        active = self.service.resume(
            run_id, speed=self.pace, clock=None if simulated else clock or self.clock,
            reporter=Reporters(reporter, feed),
            by=by or "station start-up",
            operator_for=lambda sim: WebOperator(sim.name if sim else by or self._operator_of(run_id), sim,
                                                 None if by else run.protocol))  # ``start``: at a terminal
        log.warning("run %s was unfinished%s: resumed (outputs forced off)", run_id,
                    f", resumed by {by}" if by else " at start-up")
        session = BenchSession(active, view, reporter, self._clock_time, feed)
        session.resumed = resume_notice(self.store.events(run_id), self._clock_time)
        session.at_terminal = not simulated  # a run on instruments may go on at a terminal (``sweattest resume``)
        self._launch(session)
        return session.number

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
            self._leave(session, reason)
        for session in list(self.sessions.values()):
            session.thread.join(timeout=10)


@dataclass(frozen=True)
class Terminal:
    """What a run started at a terminal (``sweattest run`` on instruments) brings: ``at_terminal``; the
    pre-stimulation checklist confirmed there (kept with the run); ``speed``: simulated time (``--speed``:
    "instant" or a factor; every instrument must then be a sweattest simulator)."""

    at_terminal: bool = False
    checklist: dict[str, Any] | None = None
    speed: str | float | None = None
    run_id: str | None = None  # the id the terminal chose (its output folder is named for it)


__all__ = ["TICK_S", "BenchManager", "Terminal"]
