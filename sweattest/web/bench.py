"""Bench sessions: one Runner per active run, in its own thread, with a ``WebOperator`` that asks the tech
in the browser and waits for the confirmation. The run's state lives in the store; a session only adds
what is happening right now (the prompt, the live current, the timers)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import pint

from sweattest.bench.order import Order
from sweattest.bench.resume import prepare_resume, unfinished_runs
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.simulated_run import check_order_now, new_run_id
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.errors import ProcedureError, ValidationError
from sweattest.core.procedure import new_run
from sweattest.core.units import format_quantity, parse_quantity
from sweattest.record.runs import load_run

log = logging.getLogger(__name__)

#: Live trace points kept per site for the chart (one per second of stimulation is plenty on screen).
TRACE_STEP_S = 1.0


class OperatorGone(Exception):
    """The bench session was closed while the runner waited for the tech (server stopping)."""


@dataclass(frozen=True)
class Prompt:
    """One thing the tech must do by hand, and the button that says it is done."""

    id: int
    kind: str  # place_on_balance | apply_collector | read_volume | run_control | load_analyzer
    site: str  # "" for a step of the analytical run (QC), not of one site
    text: str
    action: str
    purpose: str | None = None
    sample_id: str | None = None
    hint: str | None = None
    level: str | None = None
    lot: str | None = None


class WebOperator:
    """The Operator protocol for the browser: each call publishes a prompt and blocks until confirmed.
    With ``simulated`` set, the confirmed action is also performed on the simulators."""

    def __init__(self, name: str, simulated: SimulatedOperator | None = None):
        self.name = name
        self.simulated = simulated
        self.prompt: Prompt | None = None
        self._cond = threading.Condition()
        self._answer: Any = None
        self._answered = False
        self._closed = False
        self._ids = 0

    def _ask(self, kind: str, site: str, text: str, action: str, **extra: Any) -> Any:
        with self._cond:
            self._ids += 1
            self.prompt = Prompt(self._ids, kind, site, text, action, **extra)
            self._answered = False
            while not self._answered:
                if self._closed:
                    raise OperatorGone("the bench session was closed")
                self._cond.wait(timeout=1.0)  # a person is being waited for; no procedure time involved
            self.prompt = None
            return self._answer

    def confirm(self, prompt_id: int, value: str | None = None) -> None:
        """The tech's confirmation from the browser; a stale prompt (other tab, double click) is refused."""
        with self._cond:
            prompt = self.prompt
            if prompt is None or prompt.id != prompt_id or self._answered:  # answered, not yet taken up
                raise ValidationError("this step was already confirmed (another tab or a double click); "
                                      "the screen now shows the current step")
            answer = None
            if prompt.kind == "read_volume":
                answer = parse_quantity(value or "", "volume", f"volume read off the coil ({prompt.site})")
                if answer.magnitude <= 0:
                    raise ValidationError(f"volume {value}: read the coil again; enter the volume above 0")
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

    def read_volume(self, site: str) -> pint.Quantity:
        hint = None
        if self.simulated:
            hint = f"Training: the coil shows {format_quantity(self.simulated.read_volume(site))}"
        return self._ask("read_volume", site, f"Remove the collector from {_label(site)} and read the sweat "
                         "volume on the coil.", "Save the volume", hint=hint)

    def run_control(self, level: str, lot: str) -> None:
        self._ask("run_control", "", f"Today's quality control: put the {level} control (lot {lot}) into the "
                  "chloridometer and press its start key.", "Control loaded: analyse", level=level, lot=lot)
        if self.simulated:
            self.simulated.run_control(level, lot)

    def load_analyzer(self, site: str, sample_id: str) -> None:
        self._ask("load_analyzer", site, f"Load sample {sample_id} ({_label(site)}) into the chloridometer and "
                  "press its start key.", "Sample loaded: analyse", sample_id=sample_id)
        if self.simulated:
            self.simulated.load_analyzer(site, sample_id)


@dataclass
class Live:
    """What the screen shows between store events: the live current and the timers."""

    trace: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # site -> (t, sp, i)
    stimulating: dict[str, dict[str, float]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    #: inducer alarms raised by the runner (the stored events keep them and their acknowledgement)
    alarms: list[str] = field(default_factory=list)


class WebReporter(Reporter):
    def __init__(self, live: Live):
        self.live = live

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s):
        points = self.live.trace.setdefault(site, [])
        if not points or t - points[-1][0] >= TRACE_STEP_S:
            points.append((round(t, 1), round(setpoint_ma, 3), round(current_ma, 3)))
        self.live.stimulating[site] = {"t": t, "setpoint_ma": setpoint_ma, "current_ma": current_ma,
                                       "voltage_v": voltage_v, "charge_ma_min": charge_ma_min,
                                       "duration_s": duration_s}

    def message(self, text: str) -> None:
        self.live.messages = (self.live.messages + [text])[-5:]

    def alarm(self, site: str | None, text: str) -> None:
        self.live.alarms = self.live.alarms + [text]


class BenchSession:
    """One active run: its runner thread, its operator and its live data."""

    def __init__(self, run_id: str, runner: Runner, operator: WebOperator, live: Live, bench):
        self.run_id = run_id
        self.runner = runner
        self.operator = operator
        self.live = live
        self.bench = bench
        self.error: str | None = None
        self.thread = threading.Thread(target=self._work, name=f"run-{run_id}", daemon=True)

    def _work(self) -> None:
        try:
            self.runner.run_until_results()
        except OperatorGone:
            log.info("run %s: bench session closed while waiting for the tech", self.run_id)
        except Exception as exc:  # noqa: BLE001 - shown on the run's screen; the store keeps the events
            log.exception("run %s stopped", self.run_id)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            warning = self.bench.shutdown()
            if warning:
                log.critical("run %s: %s", self.run_id, warning)
                self.error = warning

    @property
    def active(self) -> bool:
        return self.thread.is_alive()

    def collection_left(self) -> dict[str, dict[str, float]]:
        """Seconds left on each collection timer, from the runner's own timers."""
        now = self.runner.elapsed()
        out = {}
        for (site, name), (due, _event) in list(self.runner.timers.items()):
            started = self.runner._timer_started.get((site, name), now)
            out[site] = {"remaining_s": max(0.0, due - now), "total_s": due - started}
        return out


class BenchManager:
    """Starts runs and finds their live sessions. Only simulated instruments are wired in this version."""

    def __init__(self, store, clock: Clock, *, simulate: bool, pace: float | None = 30.0):
        self.store = store
        self.clock = clock
        self.simulate = simulate
        self.pace = pace  # training runs: how much faster than real time (None: as fast as possible)
        self.sessions: dict[str, BenchSession] = {}
        self._lock = threading.Lock()

    def start(self, order: Order, scenario_doc: dict[str, Any], operator_name: str,
              eligibility: dict[str, Any]) -> str:
        """Create the run (written ahead), then run it in a thread. Returns the run id."""
        if not self.simulate:
            raise ValidationError("no instruments are configured for this station; start the server with "
                                  "--simulate for training runs")
        check_order_now(order, self.clock)
        scenario = parse_scenario(scenario_doc, order.sites)
        run_id = new_run_id(self.clock)
        clock = self._run_clock()
        bench = simulated_bench(clock, order.protocol, scenario, order.sites)
        try:
            bench.inducer.all_outputs_off()  # forced off at start-up, before anything else
            doc = order.as_dict() | {"eligibility": eligibility, "simulation": scenario.as_dict()}
            self.store.create_run(run_id, accession=order.accession, method=order.method,
                                  operator=operator_name, patient_mrn=order.patient.mrn,
                                  created_at=clock.utcnow(), order=doc)
            operator = WebOperator(operator_name,
                                   SimulatedOperator(operator_name, clock, bench, order.protocol, scenario))
            live = Live()
            runner = Runner(store=self.store, clock=clock, bench=bench, operator=operator,
                            run=new_run(run_id, order.protocol, order.sites), order=doc,
                            reporter=WebReporter(live))
            runner.feed("verify_patient", data={"mrn": order.patient.mrn, "accession": order.accession,
                                                "overrides": eligibility["overrides"]})
        except BaseException:
            bench.shutdown()
            raise
        self._launch(BenchSession(run_id, runner, operator, live, bench))
        return run_id

    def _launch(self, session: BenchSession) -> None:
        with self._lock:
            self.sessions[session.run_id] = session
        session.thread.start()

    def resume_unfinished(self) -> list[str]:
        """At start-up: every run a crash left unfinished is brought back under control (outputs off, a site
        caught stimulating aborted with the reason, collections resumed from their recorded start) and
        continues at this station. Runs on real instruments are left for `sweattest resume` at their bench."""
        resumed = []
        for row in unfinished_runs(self.store):
            if row["run_id"] in self.sessions:
                continue  # already running at this station
            _, order = load_run(self.store, row["run_id"])
            if not self.simulate or "simulation" not in order:
                log.warning("run %s is unfinished; resume it at its bench with `sweattest resume %s`",
                            row["run_id"], row["run_id"])
                continue
            self._resume(row["run_id"])
            resumed.append(row["run_id"])
        return resumed

    def _resume(self, run_id: str) -> None:
        live = Live()
        runner, bench, order, _ = prepare_resume(
            self.store, run_id, speed=self.pace, reporter=WebReporter(live),
            operator_for=lambda simulated: WebOperator(simulated.name, simulated))
        log.warning("run %s was unfinished at start-up: resumed (outputs forced off)", run_id)
        self._launch(BenchSession(run_id, runner, runner.operator, live, bench))

    def _run_clock(self) -> Clock:
        """Each training run has its own clock, starting now: paced, or instant when ``pace`` is None."""
        start = self.clock.utcnow()
        return VirtualClock(start=start, speed=self.pace)

    def session(self, run_id: str) -> BenchSession | None:
        return self.sessions.get(run_id)

    def stop(self, run_id: str, by: str) -> None:
        session = self.sessions.get(run_id)
        if session is None or not session.active:
            raise ProcedureError(f"run {run_id} is not running at this station; nothing is stimulating")
        session.runner.request_stop(f"emergency stop by {by}")

    def close(self) -> None:
        for session in list(self.sessions.values()):
            if session.active:
                session.runner.request_stop("station shut down")
            session.operator.close()
        for session in list(self.sessions.values()):
            session.thread.join(timeout=10)


def _label(site: str) -> str:
    return site.replace("_", " ")
