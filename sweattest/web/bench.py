"""Bench sessions: one Runner per active run, in its own thread, with a ``WebOperator`` that asks the tech
in the browser and waits for the confirmation. The run's state lives in the store; a session only adds
what is happening right now (the prompt, the live current, the timers)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pint

from sweattest.bench.live_view import RunView, ViewReporter, timer_entry, timing_alarms
from sweattest.bench.order import Order
from sweattest.bench.resume_notice import resume_notice
from sweattest.bench.runner import StationStopping
from sweattest.bench.service import ActiveRun, RunService
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ProcedureError, RunLeased, ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.purpose import TRAINING
from sweattest.core.rules.adequacy import check_plausible
from sweattest.core.rules.skin import SkinCheck, skin_check
from sweattest.core.units import format_quantity, parse_quantity
from sweattest.record.holder import this_station
from sweattest.record.repeats import RepeatOf
from sweattest.record.runs import load_run

log = logging.getLogger(__name__)

#: How often (wall seconds) the station's ticker refreshes the timers and timing alarms of every live run.
TICK_S = 0.25


class OperatorGone(Exception):
    """The bench session was closed while the runner waited for the tech (server stopping)."""


@dataclass(frozen=True)
class Prompt:
    """One thing the tech must do by hand, and the button that says it is done."""

    id: int
    kind: str  # place_on_balance | apply_collector | check_skin | read_volume | run_control | load_analyzer
    #          | enter_reading | device_started | device_completed | offer_manual_entry
    site: str  # "" for a step of the analytical run (QC), not of one site
    text: str
    action: str
    purpose: str | None = None
    sample_id: str | None = None
    hint: str | None = None
    level: str | None = None
    lot: str | None = None
    dimension: str | None = None  # enter_reading: mass | concentration
    entry: int | None = None  # enter_reading: 1, or 2 (blind to the first)
    label: str | None = None  # enter_reading: what is read, in the tech's words ("chloride of sample 1")


#: Prompts whose answer is a measured value: only the run's operator enters them (the second, blind entry of
#: a double-entered reading may be another tech's).
MEASURED = ("read_volume", "enter_reading")


class WebOperator:
    """The Operator protocol for the browser: each call publishes a prompt and blocks until confirmed.
    With ``simulated`` set, the confirmed action is also performed on the simulators.

    ``name`` is the run's operator. Another logged-in bench user may confirm a step of the run; what follows
    is recorded under that person and their station (``acting``). Measured values are the operator's own:
    anyone else is refused."""

    def __init__(self, name: str, simulated: SimulatedOperator | None = None, protocol: Protocol | None = None,
                 station: str | None = None):
        self.name = name
        #: (person, station) the runner records the next events under: whoever confirmed the last step
        self.acting: tuple[str, str | None] = (name, station)
        self.simulated = simulated
        #: the run's method: a volume it cannot yield is refused on the prompt, before the runner takes it
        self.protocol = protocol
        self.prompt: Prompt | None = None
        self._cond = threading.Condition()
        self._answer: Any = None
        self._answered = False
        self._closed = False
        self._ids = 0
        self.notice: str | None = None  # the last message that needed no answer (e.g. entries disagreed)
        #: called about once a second while a person is waited for (the runner's lease renewal)
        self.keep_alive: Callable[[], None] = lambda: None
        #: called when the prompt appears or is answered (the screens' read model)
        self.on_change: Callable[[], None] = lambda: None

    def _ask(self, kind: str, site: str, text: str, action: str, **extra: Any) -> Any:
        with self._cond:
            self._ids += 1
            self.prompt = Prompt(self._ids, kind, site, text, action, **extra)
            self._answered = False
            self.on_change()
            while not self._answered:
                if self._closed:
                    raise OperatorGone("the bench session was closed")
                self._cond.wait(timeout=1.0)  # a person is being waited for; no procedure time involved
                self.keep_alive()
            self.prompt = None
            self.on_change()
            return self._answer

    def confirm(self, prompt_id: int, value: str | pint.Quantity | None = None, *, by: str | None = None,
                device_error: str | None = None, station: str | None = None,
                skin: tuple[str, str] | None = None, write_off: bool = False) -> None:
        """The tech's confirmation from the browser; a stale prompt (other tab, double click) is refused, and
        so is a measured value from anyone but the run's operator. ``by`` is the user who confirmed, at
        ``station``; ``device_error`` the error a stand-alone device showed; ``skin`` the grade and note of a
        skin check (refused here, with the prompt kept, if no grade is chosen, it is unknown or a burn has no
        note); ``write_off`` the answer to the offer of manual entry: the sample is written off, not typed."""
        with self._cond:
            prompt = self.prompt
            if prompt is None or prompt.id != prompt_id or self._answered:  # answered, not yet taken up
                raise ValidationError("this step was already confirmed (another tab or a double click); "
                                      "the screen now shows the current step")
            by = by or self.name
            if by != self.name and prompt.kind in MEASURED and prompt.entry != 2:
                raise ValidationError(f"only the run's operator ({self.name}) enters its measured values; "
                                      f"{by} cannot. Ask {self.name} to enter it, or to stop the run")
            answer: Any = None
            if prompt.kind == "read_volume":
                answer = parse_quantity("" if value is None else value, "volume",
                                        f"volume read off the coil ({prompt.site})")
                if answer.to("uL").magnitude <= 0:
                    shown = format_quantity(answer) if isinstance(value, pint.Quantity) else value
                    raise ValidationError(f"volume {shown}: read the coil again; enter the volume above 0")
                if self.protocol is not None:
                    check_plausible(self.protocol, answer)
            elif prompt.kind == "enter_reading":
                assert prompt.dimension is not None
                answer = (parse_quantity("" if value is None else value, prompt.dimension,
                                         prompt.label or prompt.dimension),
                          by or self.name)
            elif prompt.kind == "device_completed":
                answer = (device_error or "").strip() or None
            elif prompt.kind == "check_skin":
                grade, note = skin or ("", "")
                answer = skin_check(grade, note, _label(prompt.site))
            elif prompt.kind == "offer_manual_entry":
                answer = not write_off
            self.acting = (by, station)
            self._answer, self._answered = answer, True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- the Operator protocol ---------------------------------------------------------------------
    def place_on_balance(self, site: str, purpose: str) -> None:
        when = "before collection (empty)" if purpose == "pre" else "with the collected sweat"
        self._ask("place_on_balance", site, f"Put the sealed collection container for {_label(site)} on the "
                  f"balance {when}. Close the draught shield.", "It is on the balance: weigh", purpose=purpose)
        if self.simulated:
            self.simulated.place_on_balance(site, purpose)

    def apply_collector(self, site: str) -> None:
        self._ask("apply_collector", site, f"Remove the electrodes from {_label(site)}, wipe the skin with "
                  "deionised water, dry it and apply the collector over the stimulated area.",
                  "Collector applied: start the timer")
        if self.simulated:
            self.simulated.apply_collector(site)

    def check_skin(self, site: str) -> SkinCheck:
        return self._ask("check_skin", site, f"Look at the skin of {_label(site)} where the electrodes were (under "
                         "the collector's edge and around it): no reaction, redness (erythema), a blister or a burn? "
                         "A blister or a burn needs a note.", "Save the skin check")

    def read_volume(self, site: str) -> pint.Quantity:
        hint = None
        if self.simulated:
            hint = f"Training: the coil shows {format_quantity(self.simulated.read_volume(site))}"
        return self._ask("read_volume", site, f"Remove the collector from {_label(site)} and read the sweat "
                         "volume on the coil.", "Save the volume", hint=hint)

    def run_control(self, level: str, lot: str, target: pint.Quantity | None = None) -> None:
        self._ask("run_control", "", f"Today's quality control: put the {level} control (lot {lot}) into the "
                  "chloridometer and press its start key.", "Control loaded: analyse", level=level, lot=lot)
        if self.simulated:
            self.simulated.run_control(level, lot, target)

    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[pint.Quantity, str]:
        blind = " (second entry: read the display again yourself; the first entry is not shown)" if entry == 2 else ""
        return self._ask("enter_reading", "", f"Enter the {label} shown on the instrument{blind}.",
                         "Save the entry", dimension=dimension, entry=entry, label=label)

    def confirm_device_started(self, site: str, text: str) -> None:
        self._ask("device_started", site, text, "Started on the device")

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        return self._ask("device_completed", site, text, "Completed without an error light")

    def offer_manual_entry(self, site: str, text: str) -> bool:
        """Before a sample is written off (``sweattest.bench.runner.analysis.manual_result``): type the result the
        analyzer shows on its display, twice, the second entry blind, or write the sample off."""
        return self._ask("offer_manual_entry", site, f"{text} If the chloridometer shows a result on its display, "
                         "type it, twice: the second entry does not show the first. Otherwise the sample is written "
                         "off with the reason.", "Type the result from its display")

    def tell(self, text: str) -> None:
        self.notice = text

    def load_analyzer(self, site: str, sample_id: str) -> None:
        self._ask("load_analyzer", site, f"Load sample {sample_id} ({_label(site)}) into the chloridometer and "
                  "press its start key.", "Sample loaded: analyse", sample_id=sample_id)
        if self.simulated:
            self.simulated.load_analyzer(site, sample_id)


class BenchSession:
    """One active run: its runner thread, its operator and its read model (``view``), which every open screen
    of the run receives its updates from."""

    def __init__(self, active: ActiveRun, view: RunView, reporter: ViewReporter, fmt: Callable[[datetime], str]):
        self.run_id = active.run_id
        self.runner = active.runner
        self.operator: WebOperator = active.runner.operator  # type: ignore[assignment]
        self.view = view
        self.bench = active.bench
        self.clock = active.clock
        self.error: str | None = None
        #: what the screen says about the station's stop and restart, for a run resumed at start-up
        self.resumed: str | None = None
        self._fmt = fmt
        self._prompt_seen: tuple[int, float] | None = None
        self._done = False
        view.run = active.runner.run
        reporter.on_change = self.refresh
        self.operator.on_change = self.refresh
        self.thread = threading.Thread(target=self._work, name=f"run-{self.run_id}", daemon=True)

    def clock_text(self, at: datetime) -> str:
        """A time as the station's screens show it (the lab's time zone)."""
        return self._fmt(at)

    def _work(self) -> None:
        try:
            self.runner.run_until_results()
        except (OperatorGone, StationStopping):
            log.info("run %s: left where the record has it (the station stops); the next start resumes it",
                     self.run_id)
            try:
                self.runner.record_station_stop()  # a prompt was waiting: the stop is recorded here
            except Exception:  # noqa: BLE001 - the record keeps every step taken; the next start finds the stop
                log.exception("run %s: the station's stop could not be recorded", self.run_id)
        except Exception as exc:  # noqa: BLE001 - shown on the run's screen; the store keeps the events
            log.exception("run %s stopped", self.run_id)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            warning = self.bench.shutdown()
            self.runner.lease.release()
            if warning:
                log.critical("run %s: %s", self.run_id, warning)
                self.error = warning
            self._done = True
            self.view.set_timers({})
            self.view.set_timing_alarms({})
            self.refresh()

    @property
    def active(self) -> bool:
        return self.thread.is_alive() and not self._done

    def refresh(self) -> None:
        """The screen recomputed from the run in memory (no store read); pushed if it changed."""
        from sweattest.web.screens import screen

        if self.view.run is None:
            return
        try:
            self.view.set_screen(screen(self.view.run, self))
        except Exception:  # noqa: BLE001 - called by the runner: a screen's trouble never stops the run
            log.exception("run %s: the screen could not be updated", self.run_id)

    def tick(self) -> None:
        """The station's ticker: the latest reading, the timers with their clock end times, timing alarms."""
        now = self.runner.elapsed()
        self.view.flush(self.clock.monotonic())
        if not self.active:
            return
        utc = self.clock.utcnow()
        prompt = self.operator.prompt
        # a training run's clock moves only while the run waits on its own timers: while a prompt waits for the
        # tech it stands still, and the screens say so (a real collection's time would run on)
        training = {"training": True, "paused": prompt is not None} if self.clock.virtual else {}
        timers = {site: timer_entry(t["remaining_s"], t["total_s"], utc, self._fmt) | training
                  for site, t in self.collection_left().items()}
        self.view.set_timers(timers)
        if prompt is None:
            self._prompt_seen = None
        elif self._prompt_seen is None or self._prompt_seen[0] != prompt.id:
            self._prompt_seen = (prompt.id, now)
        waited = now - self._prompt_seen[1] if self._prompt_seen else 0.0
        stimulating = self.view.screen.get("stimulating")
        self.view.set_timing_alarms(timing_alarms(timers, prompt.site if prompt else None,
                                                  prompt.kind if prompt else None, waited, stimulating))

    def collection_left(self) -> dict[str, dict[str, float]]:
        """Seconds left on each collection timer, from the runner's own timers."""
        now = self.runner.elapsed()
        out = {}
        for (site, name), (due, _event) in list(self.runner.timers.items()):
            started = self.runner._timer_started.get((site, name), now)
            out[site] = {"remaining_s": max(0.0, due - now), "total_s": due - started}
        return out


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
              station: str | None = None, repeat: RepeatOf | None = None, unverified_reason: str | None = None) -> str:
        """Create the run (written ahead), then run it in a thread. Returns the run id. ``repeat``: the run it
        repeats, as the tech declared it; ``unverified_reason``: why a patient run goes ahead on an instrument not
        verified (``RunService.start``)."""
        scenario = parse_scenario(scenario_doc, order.sites) if self.simulate and scenario_doc is not None else None
        if self.simulate and scenario is None:
            raise ValidationError("training: pick a scenario for the simulated instruments")
        view, reporter = self._view(order.protocol)
        active = self.service.start(
            order, clock=self._run_clock() if scenario is not None else self.clock, scenario=scenario,
            operator_for=lambda simulated: WebOperator(operator_name, simulated, order.protocol, station),
            reporter=reporter, purpose=TRAINING if self.simulate else None, repeat=repeat,
            unverified_reason=unverified_reason)
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


def _label(site: str) -> str:
    return site.replace("_", " ")
