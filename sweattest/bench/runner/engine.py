"""The runner: write-ahead event recording, effect dispatch and timers on the one Clock.

For each event: the core computes the next state (pure), the event is committed to the store, and only
then are its effects carried out. A refused event is recorded as refused and raises ``ProcedureError``.
Each event is committed after the last one this runner knows and under its run's lease: if another process
changed the run or holds it, ``RunTakenOver`` stops the runner (outputs off) with nothing written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import date
from typing import Any

from drivers.inducer_latch import FAULTY_ACTION
from sweattest.bench.instruments.bench import Bench
from sweattest.bench.runner.analysis import MEASURE_ATTEMPTS, analyze
from sweattest.bench.runner.continuity import Continuity
from sweattest.bench.runner.operator import Operator
from sweattest.bench.runner.reporting import Reporter
from sweattest.bench.runner.skin import check_skin
from sweattest.bench.runner.stimulation import StimulationInterrupted, StimulationStopped, off_words
from sweattest.core.clock import Clock
from sweattest.core.errors import DeviceError, ProcedureError, RunTakenOver, ValidationError
from sweattest.core.procedure import effects as fx
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState
from sweattest.core.rules.reagents import lot_block
from sweattest.core.rules.westgard import WestgardRules
from sweattest.core.stimulation import StimulationPlan
from sweattest.core.units import Q_
from sweattest.record.lease import NoLease
from sweattest.record.runs import commit_event

#: How often a waiting timer reports its countdown, in procedure seconds.
COUNTDOWN_STEP_S = 60.0
#: Longest sleep while a timer runs, in seconds of wall time: the lease is renewed and a station's stop seen
#: between sleeps.
RENEW_STEP_S = 0.25
#: The code of a stimulation stopped because the station stopped (``Runner.stand_down``).
STATION_STOPPED = "station_stopped"


class Runner(Continuity):
    def __init__(self, *, store, clock: Clock, bench: Bench, operator: Operator, run: RunState,
                 order: dict[str, Any], reporter: Reporter | None = None, t_offset: float = 0.0,
                 lease=None, seq: int = 0, qc_rules: WestgardRules | None = None):
        """``lease``: the run's lease held by this process (``record.lease.Lease``), renewed as the runner
        works; ``seq``: the sequence number of the run's last stored event (0: a new run)."""
        self.store = store
        self.qc_rules = qc_rules or WestgardRules()  # the lab's Westgard rules ([qc])
        self.clock = clock
        self.bench = bench
        self.operator = operator
        self.run = run
        self.order = order
        self.reporter = reporter or Reporter()
        self.lease = lease or NoLease()
        self.seq = seq
        self.queue: deque[fx.Effect] = deque()
        self.timers: dict[tuple[str, str], tuple[float, str]] = {}
        self._timer_started: dict[tuple[str, str], float] = {}
        self.results_ready = False
        self.finished = False
        self._t0 = clock.monotonic() - t_offset  # procedure time continues across a restart
        self.stop_reason: str | None = None
        #: why the station stops (``stand_down``): no new step starts, the run is left for the next start
        self.standing_down: str | None = None
        self._stop_recorded = False
        self._skin_due: list[str] = []  # sites whose skin check a stop interrupted (``recover``)
        #: while the analyzer's result is waited for: what, for which site, seconds left of how many (screens)
        self.analyzer_wait: dict[str, Any] | None = None
        self._alarm_raised = False
        self._handlers: dict[type, Callable[[Any], None]] = {
            fx.CheckReadiness: self._check_readiness, fx.PreWeigh: self._pre_weigh,
            fx.Stimulate: self._stimulate, fx.OutputOff: self._output_off,
            fx.ApplyCollector: self._apply_collector, fx.StartTimer: self._start_timer,
            fx.CancelTimer: self._cancel_timer, fx.MeasureSample: self._measure_sample,
            fx.Analyze: lambda e: analyze(self, e), fx.ResultsReady: self._results_ready,
            fx.RunFinished: self._run_finished, fx.AbortInterrupted: self._abort_interrupted,
            fx.VerifyPatient: self._verify_patient,
        }

    @property
    def purpose(self) -> str:
        """Why the run is performed: its QC goes to the series of that purpose."""
        row = self.store.get_run(self.run.run_id)
        return row["purpose"] if row is not None else "patient"

    def request_stop(self, reason: str) -> None:
        """Emergency stop (safe from another thread): the site stimulating now stops at the next reading with
        its output off and is aborted with ``reason``; no further site is stimulated. Collections go on."""
        self.stop_reason = reason.strip() or "emergency stop"

    # -- events -------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.clock.monotonic() - self._t0

    def collection_left(self) -> dict[str, dict[str, float]]:
        """Seconds left on each site's collection timer, and its whole length (the screens' countdowns)."""
        now = self.elapsed()
        out = {}
        for (site, name), (due, _event) in list(self.timers.items()):
            started = self._timer_started.get((site, name), now)
            out[site] = {"remaining_s": max(0.0, due - now), "total_s": due - started}
        return out

    def feed(self, kind: str, site: str | None = None, data: dict[str, Any] | None = None,
             actor: str | None = None) -> None:
        # a record carries the time it is written; a simulated run's own clock stays beside it (and in t)
        simulated = self.clock.virtual and self.clock is not self.store.clock
        person, station = getattr(self.operator, "acting", (self.operator.name, None))
        event = Event(kind=kind, at=self.store.clock.utcnow(), t=round(self.elapsed(), 3), site=site,
                      data=data or {}, actor=actor or person, station=None if actor else station)
        try:
            self.run, effects = commit_event(self.store, self.run, event, after=self.seq, owner=self.lease.owner,
                                             procedure_at=self.clock.utcnow() if simulated else None)
        except RunTakenOver as exc:
            self.reporter.message(str(exc))
            raise
        except (ProcedureError, ValidationError) as exc:
            self.seq += 1  # recorded as refused
            self.reporter.refused(self.run, event, str(exc))
            raise
        self.seq += 1
        self.reporter.event(self.run, event)
        self.queue.extend(effects)

    # -- the loop -----------------------------------------------------------------------------------
    def run_until_results(self) -> RunState:
        """Carry out effects and fire timers until every site has a result or was aborted."""
        while not (self.results_ready or self.finished):
            self._check_standing_down()
            self.lease.renew()
            self._ask_skin_due()
            if self.queue:
                effect = self.queue.popleft()
                self._handlers[type(effect)](effect)
            elif self.timers:
                self._wait_for_next_timer()
            else:
                raise ProcedureError(f"run {self.run.run_id} is stuck in state {self.run.state}: "
                                     "nothing left to do", state=self.run.state)
        return self.run

    def _wait_for_next_timer(self) -> None:
        (site, name), (due, event) = min(self.timers.items(), key=lambda kv: kv[1][0])
        total = due - self._timer_started.get((site, name), self.elapsed())
        renew_step = RENEW_STEP_S * self.clock.speed if self.clock.speed else COUNTDOWN_STEP_S
        while (remaining := due - self.elapsed()) > 1e-9:
            self.reporter.countdown(site, remaining, total)
            report_at = self.elapsed() + min(COUNTDOWN_STEP_S, remaining)
            while (step := report_at - self.elapsed()) > 1e-9:
                self.clock.sleep(min(renew_step, step))
                self._check_standing_down()  # at most a second of wall time after the station is told to stop
                self.lease.renew()
        self.reporter.countdown(site, 0.0, total)
        del self.timers[(site, name)]
        self.feed(event, site=site, actor="timer")

    def fire_due_timers(self) -> None:
        """While one step waits (the analyzer), every other timer that has come due fires now: a collection
        ends and is recorded on time, and the tech is told, whatever else is going on."""
        for (site, name), (due, event) in sorted(self.timers.items(), key=lambda kv: kv[1][0]):
            if due - self.elapsed() <= 1e-9:
                del self.timers[(site, name)]
                self.feed(event, site=site, actor="timer")
                self.reporter.message(f"{_label(site)}: its timer has ended ({event.replace('_', ' ')}, recorded on "
                                      "time); do that step as soon as the analyzer step allows")

    # -- effects ------------------------------------------------------------------------------------
    def _check_readiness(self, _: fx.CheckReadiness) -> None:
        lot = self.order["pilocarpine_lot"]
        expires = lot["expires"] if isinstance(lot["expires"], date) else date.fromisoformat(lot["expires"])
        block = lot_block(lot["lot"], expires, self.clock.utcnow().date())
        if block is not None:
            self.feed("abort", data={"reason": block.message, "code": block.code})
            return
        try:
            off = self.bench.inducer.safe_off()
        except DeviceError as exc:
            self.feed("abort", data={"reason": f"instrument check failed: {exc}", "code": "device_check"})
            return
        faulty = self.bench.inducer.faulty()
        if faulty is not None:
            reason = (f"the inducer is not safe to use: {off.describe() if not off.confirmed else faulty.reason}; "
                      f"it is declared faulty. {FAULTY_ACTION}")
            self._inducer_alarm(None, reason)
            self.feed("abort", data={"reason": reason, "code": "inducer_faulty", "inducer_faulty": True,
                                     "output_off_confirmed": off.output_off, "off_check": off.describe()})
            return
        self.feed("check_ready", data={"pilocarpine_lot": lot["lot"], "lot_expires": str(lot["expires"]),
                                       "instruments": self.bench.record()})

    def _pre_weigh(self, e: fx.PreWeigh) -> None:
        reading = self._weigh(e.site, "pre")
        if reading is not None:
            self.feed("pre_weigh", site=e.site, data={"weight": reading.value, **reading.source})

    def _weigh(self, site: str, purpose: str):
        assert self.bench.balance is not None
        last: DeviceError | None = None
        for _ in range(MEASURE_ATTEMPTS):
            self.operator.place_on_balance(site, purpose)
            try:
                return self.bench.balance.weigh(site, purpose, self.operator)
            except DeviceError as exc:
                last = exc
                self.reporter.message(f"{site}: balance: {exc}")
        self.feed("abort", site=site, data={"reason": f"{purpose}-weighing failed: {last}", "code": "balance"})
        return None

    def _stimulate(self, e: fx.Stimulate) -> None:
        if self.run.site(e.site).state not in {"ready", "pre_weighed"}:
            return  # already started or aborted: a second request for the same site is void
        self._check_standing_down()  # a stimulation never starts on a stopping station
        if self.stop_reason is not None:
            self.feed("abort", site=e.site, data={"reason": self.stop_reason, "code": "emergency_stop"})
            return
        faulty = self.bench.inducer.faulty()
        if faulty is not None:  # never switched on again in this process; the alarm was raised when latched
            self.feed("abort", site=e.site, data={
                "reason": f"not stimulated: the inducer was declared faulty earlier ({faulty.reason}). "
                          f"{FAULTY_ACTION}", "code": "inducer_faulty", "inducer_faulty": True})
            return
        self.feed("start_stimulation", site=e.site, data={"channel": e.channel})
        plan = StimulationPlan.from_protocol(self.run.protocol)

        taken_over: list[str] = []

        simulated = self.clock.virtual

        def record(rows: list[dict]) -> None:  # called by the loop's writer thread, never in the loop
            stamp = self.store.clock.utcnow()
            self.store.append_readings(self.run.run_id, [
                {"site": e.site, "kind": "stimulation_sample", "at": stamp, "t": r["t"], "data": r}
                for r in rows], power_safe=not simulated)
            try:
                self.lease.renew()  # here, not in the loop: the lease is a store write (at most once a second)
            except RunTakenOver as exc:
                taken_over.append(str(exc))  # the loop sees it at its next reading and stops, output off

        def progress(t, sp, i, v, q):  # in the loop: memory only (the stop flag, the live display)
            if self.stop_reason is not None:
                raise StimulationStopped(self.stop_reason)
            if self.standing_down is not None:
                raise StimulationStopped(f"{self.standing_down} during the stimulation; stimulation is never "
                                         "resumed: prepare a fresh site to repeat", STATION_STOPPED)
            if taken_over:
                raise StimulationStopped(taken_over[0])
            self.reporter.stimulation(e.site, t, sp, i, v, q, plan.duration_s)

        def countdown(remaining: float, total: float) -> None:  # a stand-alone inducer's time, in this thread
            if self.stop_reason is not None:
                raise StimulationStopped(self.stop_reason)
            if self.standing_down is not None:
                raise StimulationStopped(self.standing_down, STATION_STOPPED)
            try:
                self.lease.renew()
            except RunTakenOver as exc:
                raise StimulationStopped(str(exc)) from None
            self.reporter.countdown(e.site, remaining, total, "stimulating")

        inducer = self.bench.inducer
        try:
            outcome = inducer.stimulate(e.site, e.channel, plan, self.clock, record, progress, self.operator,
                                        countdown)
        except StimulationInterrupted as exc:
            self._abort_stimulation(e.site, exc.outcome)
            raise exc.__cause__ from None
        except StimulationStopped as exc:  # a stand-alone device: the tech is told to stop it by hand
            self.feed("abort", site=e.site, data={
                "reason": f"{exc}: stop the stand-alone inducer with its own button and remove the electrodes",
                "code": exc.code})
            return
        if outcome.completed:
            data = {"samples": outcome.samples} | _off_data(outcome) | _poll_data(outcome)
            if inducer.host_controlled:
                data["charge"] = outcome.charge
            else:
                data["standalone"] = {"serial_number": inducer.config.serial_number,
                                      "trace": "none: stand-alone inducer, timed and confirmed by the tech"}
            if outcome.inducer_faulty:
                data["reason"] = ("stimulation completed, but the inducer is not confirmed safe. "
                                  f"{off_words(outcome.off)}")
                self._inducer_alarm(e.site, data["reason"])
            self.feed("finish_stimulation", site=e.site, data=data)
        else:
            self._abort_stimulation(e.site, outcome)

    def _abort_stimulation(self, site: str, outcome) -> None:
        fault = outcome.fault
        reason = fault.message if fault else f"stimulation stopped. {off_words(outcome.off)}"
        if outcome.inducer_faulty:
            self._inducer_alarm(site, reason)
        data = {"reason": reason, "code": fault.code if fault else "", "samples": outcome.samples,
                **_poll_data(outcome)}
        if outcome.charge is not None:
            data["charge"] = outcome.charge
        self.feed("abort", site=site, data=data | _off_data(outcome))

    def end_warning(self, text: str) -> None:
        """The inducer did not confirm its outputs off when the bench closed: the alarm, or, when it was raised
        during the run, a line that says it still holds."""
        if self._alarm_raised:
            self.reporter.message("At the end of the run the inducer still did not confirm that its outputs are off "
                                  "(the alarm above holds).")
        else:
            self._inducer_alarm(None, text)

    def _inducer_alarm(self, site: str | None, text: str) -> None:
        """The red alarm: the inducer is not confirmed safe. Raised once per run; stored events keep it."""
        if not self._alarm_raised:
            self._alarm_raised = True
            self.reporter.alarm(site, text)

    def _abort_interrupted(self, e: fx.AbortInterrupted) -> None:
        off = self.bench.inducer.safe_off(e.channel)
        samples = self.store.readings(self.run.run_id, site=e.site, kind="stimulation_sample")
        charge = samples[-1]["data"].get("charge_ma_min", 0.0) if samples else 0.0
        reason = ("the program stopped during stimulation (crash or power loss); off sequence at restart; "
                  f"stimulation is never resumed: prepare a fresh site to repeat. {off_words(off)}")
        if not off.confirmed:
            self._inducer_alarm(e.site, reason)
        self.feed("abort", site=e.site, data={
            "reason": reason, "code": "interrupted_stimulation", "charge": Q_(charge, "mA*min"),
            "samples": len(samples), "output_off_confirmed": off.output_off, "setpoint_zero_confirmed":
            off.setpoint_zero, "inducer_faulty": not off.confirmed, "off_check": off.describe()})

    def _verify_patient(self, _: fx.VerifyPatient) -> None:
        self.feed("verify_patient", data={"mrn": self.order["patient"]["mrn"],
                                          "accession": self.order["accession"]})

    def _output_off(self, e: fx.OutputOff) -> None:
        off = self.bench.inducer.safe_off(e.channel)
        if not off.confirmed and not self._alarm_raised:  # else the alarm on screen says it already
            self.reporter.message(f"{e.site}: WARNING output off not confirmed: {off.describe()}")
            self._inducer_alarm(e.site, f"{e.site}: {off_words(off)}")

    def _apply_collector(self, e: fx.ApplyCollector) -> None:
        """The collector goes on at once and its collection timer starts; the skin seen as the electrodes came
        off is graded right after, before the next site is stimulated."""
        self.operator.apply_collector(e.site)
        self.feed("start_collection", site=e.site)
        for timer in [q for q in self.queue if isinstance(q, fx.StartTimer)]:
            self.queue.remove(timer)
            self._start_timer(timer)
        check_skin(self, e.site)

    def _start_timer(self, e: fx.StartTimer) -> None:
        self.timers[(e.site, e.name)] = (e.due_t, e.event)
        self._timer_started[(e.site, e.name)] = self.elapsed()

    def _cancel_timer(self, e: fx.CancelTimer) -> None:
        self.timers.pop((e.site, e.name), None)

    def _measure_sample(self, e: fx.MeasureSample) -> None:
        """The sample, weighed or read. A reading the rules refuse (e.g. more than the collection can hold)
        is recorded as refused, told to the tech and measured again; after MEASURE_ATTEMPTS the site is
        aborted with the reason. Every reading stays in the record."""
        refused = ""
        for _ in range(MEASURE_ATTEMPTS):
            if e.gravimetric:
                reading = self._weigh(e.site, "post")
                if reading is None:
                    return  # the site was aborted: the balance failed
                data = {"weight": reading.value, **reading.source}
            else:
                data = {"volume": self.operator.read_volume(e.site)}
            try:
                self.feed("measure_sample", site=e.site, data=data)
                return
            except ValidationError as exc:
                refused = str(exc)
                self.operator.tell(f"{_label(e.site)}: not accepted: {refused}")
        self.feed("abort", site=e.site, data={"reason": f"sample not accepted: {refused}", "code": "sample"})

    def _results_ready(self, _: fx.ResultsReady) -> None:
        self.results_ready = True

    def _run_finished(self, _: fx.RunFinished) -> None:
        self.finished = True


def _label(site: str) -> str:
    return site.replace("_", " ")


def _off_data(outcome) -> dict[str, Any]:
    """What the off sequence at the end of a stimulation confirmed, as stored with the event."""
    off = outcome.off
    return {"output_off_confirmed": outcome.output_off_confirmed,
            "setpoint_zero_confirmed": off is not None and off.setpoint_zero,
            "inducer_faulty": outcome.inducer_faulty,
            "off_check": off.describe() if off is not None else "off sequence could not be run"}


def _poll_data(outcome) -> dict[str, float]:
    """The loop's poll timing, when a loop polled (a stand-alone inducer is not polled)."""
    return outcome.poll_timing.as_data() if outcome.poll_timing.polls else {}
