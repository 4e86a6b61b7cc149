"""The one run service: starting, resuming and performing runs, for the command line, the bench screens,
crash recovery and the demo.

Starting a run: the order's date-dependent checks (the pilocarpine lot), the bench opened (configured
instruments, or the simulators of a scenario) with every output forced off and every instrument identified,
then the run created (written ahead) and the patient verified. Resuming: outputs forced off, a site caught
stimulating aborted with the reason, the rest queued. Every clinical decision is taken by the rules and the
procedure core; this module only sequences them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from sweattest.bench.instruments.bench import Bench, not_verified_on_record
from sweattest.bench.order import Order
from sweattest.bench.proficiency import proficiency_of
from sweattest.bench.runner import Reporter, Runner
from sweattest.bench.runner.operator import Operator
from sweattest.bench.simulation.scenario import Scenario, parse_scenario
from sweattest.bench.simulation.world import SimulatedOperator, simulated_bench
from sweattest.core.clock import Clock, VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.procedure import new_run
from sweattest.core.procedure.model import RunState
from sweattest.core.procedure.table import SITE_STATES
from sweattest.core.protocol import Protocol
from sweattest.core.purpose import PATIENT, PROFICIENCY, SIMULATED, check_purpose
from sweattest.core.rules.eligibility import Decision, Limits, Override, assess
from sweattest.core.rules.reagents import lot_block
from sweattest.outputs.lims.order_status import refuse_order
from sweattest.outputs.run_files import write_outputs
from sweattest.record.equipment import status as instrument_status
from sweattest.record.lease import Lease
from sweattest.record.proficiency import find_sample
from sweattest.record.repeats import RepeatOf, check_repeat, record_repeat
from sweattest.record.run_record_model import RunRecord
from sweattest.record.runs import load_run_at, procedure_time
from sweattest.record.stored_record import stored_run_record
from sweattest.record.worklist import OPEN, find, listed_order, mark_started

#: A run whose derived state comes before this one is unfinished: the runner still had work to do.
FIRST_DONE_STATE = "result_ready"

#: Builds the run's operator (the person at the bench) once the bench is open. It gets the simulated tech
#: for a simulated bench (None on configured instruments).
OperatorFactory = Callable[[SimulatedOperator | None], Operator]


@dataclass(frozen=True)
class RunResult:
    run: RunState
    record: RunRecord
    out_dir: Path
    files: dict[str, Path]


@dataclass(frozen=True)
class StartChecks:
    """What the checks of a start found (``RunService.check``): the eligibility decision (with each override's
    reason), the run's purpose, the PT sample it performs (None: none) and the run it repeats (None: none)."""

    decision: Decision
    purpose: str
    proficiency: dict[str, Any] | None
    repeat: RepeatOf | None


class OrderRefused(ValidationError):
    """The order may not be run now: its pilocarpine lot, or its patient's eligibility. ``for_lis``: an open
    LIS order whose patient the rules block; starting it closes the order and tells the LIS why."""

    def __init__(self, message: str, for_lis: bool = False):
        super().__init__(message)
        self.for_lis = for_lis


class NoInstruments(ValidationError):
    """A run on instruments where the lab configuration names none."""


@dataclass
class ActiveRun:
    """A run under this process's control: its runner and its open bench."""

    run_id: str
    runner: Runner
    bench: Bench
    order: dict[str, Any]
    clock: Clock

    def perform(self) -> RunState:
        """Carry the run to its results; whatever happens, every output off, the instruments closed and the
        run's lease given up."""
        try:
            return self.runner.run_until_results()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (``terminate_as_interrupt``): a stimulation was stopped
            self.runner.stand_down("the run was interrupted (Ctrl-C or a stop signal)")
            try:
                self.runner.record_station_stop()  # what was going on, for the resume
            except SweatTestError:
                pass  # the record keeps every step taken; the resume finds the stop all the same
            raise
        finally:
            try:
                warning = self.bench.shutdown()
                if warning:
                    self.runner.end_warning(warning)
            finally:
                self.runner.lease.release()


def new_run_id(clock: Clock) -> str:
    return f"R{clock.utcnow():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def eligibility_of(order: Order, on: datetime, limits: Limits, zone: tzinfo = UTC) -> Decision:
    """The eligibility of the order's patient at ``on``: the one check for the command line, the bench and
    the run service (CFF 2017, CFF 2007, CLSI C34 via sweattest.core.rules.eligibility). A date of birth in
    the future is a ValidationError."""
    p = order.patient
    overrides = [Override(o.code, o.reason, order.operator) for o in order.overrides]
    try:
        return assess(p.dob, on, sites=order.sites, gestational_age_at_birth=p.gestational_age_at_birth,
                      weight=p.weight, conditions=order.conditions, overrides=overrides, limits=limits,
                      zone=zone)
    except ValidationError as exc:
        raise ValidationError(f"order: {exc}") from None


def check_order_now(order: Order, clock: Clock, limits: Limits, zone: tzinfo = UTC) -> Decision:
    """Checks that depend on today's date, done before anything is written: the pilocarpine lot and the
    patient's eligibility. A block, or a warning without its own reason, refuses the order: no run is
    created and nothing is stimulated."""
    block = lot_block(order.pilocarpine_lot, order.pilocarpine_expires, clock.utcnow().date())
    if block is not None:
        raise ValidationError(f"order.pilocarpine_lot.expires: {block.message}")
    decision = eligibility_of(order, clock.utcnow(), limits, zone)
    refusal = decision.refusal()
    if refusal is not None:
        raise ValidationError(f"accession {order.accession}: the patient may not be tested now; {refusal}. "
                              "No run was created. Correct the order, add a reason per warning to "
                              "order.overrides, or book the test later")
    return decision


def tell_lis_not_eligible(store, accession: str, mrn: str, why: str, who: str) -> str | None:
    """The eligibility rules block the patient of ``accession``: when it is an open LIS order of that
    patient, the order is closed and the LIS told why (IHE LTW order status), in one transaction; returns the
    sentence that says so (None for an order that is not the LIS's)."""
    listed = find(store, accession)
    if listed is None or listed.state != OPEN or listed.order["patient"]["mrn"] != mrn:
        return None
    message_id = refuse_order(store, store.clock, accession, "eligibility", why, who)
    return (f"The LIS order {accession} is closed and the LIS is told why (order status message {message_id}); "
            "it sends a new order when the patient can be tested")


class RunService:
    def __init__(self, store, config: LabConfig | None = None):
        self.store = store
        self.config = config or LabConfig()

    def _blocked_lis_order(self, order: Order, clock: Clock) -> bool:
        """Is ``order`` an open LIS order of its patient whom the eligibility rules block (not a warning awaiting
        its reason)? Such an order is not performed: the LIS is told (``tell_lis_not_eligible``)."""
        try:
            decision = eligibility_of(order, clock.utcnow(), self.config.eligibility)
        except ValidationError:
            return False
        listed = find(self.store, order.accession)
        return (bool(decision.blocks) and listed is not None and listed.state == OPEN
                and listed.order["patient"]["mrn"] == order.patient.mrn)

    # -- the checks ------------------------------------------------------------------------------------
    def check(self, order: Order, *, clock: Clock, scenario: Scenario | None = None, purpose: str | None = None,
              repeat: RepeatOf | None = None, ask_repeat: bool = True) -> StartChecks:
        """Every check of a start that needs no instrument, in the order a start takes them; nothing is written,
        so the command line asks the password, checks, and only then writes. A PT sample runs once and blinded
        (``proficiency_of``); the order's date checks (pilocarpine lot, eligibility; ``OrderRefused``); the run
        it repeats, required when the accession has a run already (``check_repeat``; a PT sample is never a
        repeat, a demonstration run with ``ask_repeat=False`` neither); instruments configured for a run that
        is not simulated (``NoInstruments``)."""
        proficiency = proficiency_of(self.store, order, purpose)
        purpose = check_purpose(PROFICIENCY if proficiency else purpose or (SIMULATED if scenario is not None
                                                                            else PATIENT))
        try:
            decision = check_order_now(order, clock, self.config.eligibility, self.config.zone)
        except ValidationError as exc:
            raise OrderRefused(str(exc), for_lis=self._blocked_lis_order(order, clock)) from None
        if (ask_repeat or repeat is not None) and not proficiency:
            repeat = check_repeat(self.store, order.accession, order.patient.mrn, order.patient.dob.isoformat(),
                                  repeat, simulated=scenario is not None)
        if scenario is None:
            self.require_instruments()
        return StartChecks(decision, purpose, proficiency, repeat)

    def require_instruments(self) -> None:
        """A run on instruments needs instruments in the lab configuration (``NoInstruments``)."""
        if not self.config.instruments:
            raise NoInstruments(f"{self.config.source}: no instruments are configured for this station; add "
                                "[[instruments]] tables to the lab configuration (docs/config.md)")

    # -- the bench -------------------------------------------------------------------------------------
    def open_bench(self, clock: Clock, protocol: Protocol, sites: tuple[str, ...],
                   scenario: Scenario | None) -> Bench:
        """The simulators of ``scenario``, or the instruments of the lab configuration."""
        if scenario is not None:
            return simulated_bench(clock, protocol, scenario, sites)
        self.require_instruments()
        return Bench.open(self.config.instruments, clock, gravimetric=protocol.gravimetric,
                          second_person=self.config.second_entry_by_second_person,
                          status_of=partial(instrument_status, self.store))

    # -- start -----------------------------------------------------------------------------------------
    def start(self, order: Order, *, clock: Clock, scenario: Scenario | None = None,
              operator_for: OperatorFactory | None = None, reporter: Reporter | None = None,
              run_id: str | None = None, extra: dict[str, Any] | None = None,
              require_simulators: bool = False, purpose: str | None = None, repeat: RepeatOf | None = None,
              ask_repeat: bool = True, created: Callable[[str], None] | None = None,
              unverified_reason: str | None = None, started_by: str | None = None) -> ActiveRun:
        """Create the run (written ahead) on an open bench and verify the patient. ``require_simulators``:
        refuse unless every instrument identifies itself as a sweattest simulator (accelerated time).
        ``purpose`` (``sweattest.core.purpose``): default simulated on simulated instruments, else patient.
        ``repeat``: the run this one repeats, and why; required when the accession has a run already
        (``sweattest.record.repeats``), recorded with the run's creation. ``ask_repeat=False``: a demonstration
        run, never a repeat (the demo runs its one order again and again). A bench with a simulator on it never
        performs a patient run: its run is stored as simulated. ``created(run_id)``: called once the run exists
        (a refused start creates none). ``unverified_reason``: why a patient run goes ahead on an instrument with
        no calibration on record (needed then, unless the lab refuses such runs: ``[calibration] unrecorded``).
        ``started_by``: the signed-in user who starts a simulated run whose operator is the simulated tech (the
        demo in a lab's store), kept with the run and named by its creation's audit entry."""
        try:
            checks = self.check(order, clock=clock, scenario=scenario, purpose=purpose, repeat=repeat,
                                ask_repeat=ask_repeat)
        except OrderRefused as exc:
            if not exc.for_lis:
                raise
            told = tell_lis_not_eligible(self.store, order.accession, order.patient.mrn, "; ".join(
                f.message for f in eligibility_of(order, clock.utcnow(), self.config.eligibility).blocks),
                order.operator)
            raise OrderRefused(f"{exc}. {told}" if told else str(exc)) from None
        decision, purpose, proficiency, repeat = checks.decision, checks.purpose, checks.proficiency, checks.repeat
        bench = self.open_bench(clock, order.protocol, order.sites, scenario)
        lease: Lease | None = None
        try:
            if require_simulators and not bench.simulated:
                real = [r for r, i in bench.identities.items() if not i.simulator]
                raise ValidationError(f"--speed: the {', '.join(real)} on this bench did not identify itself as a "
                                      "sweattest simulator; real instruments run on the real clock (omit --speed)")
            if purpose == PATIENT and any(i.simulator for i in bench.identities.values()):
                purpose = SIMULATED  # a simulator's readings are never a patient's result
            verification = self._unverified(bench, purpose, unverified_reason, order.operator)
            run_id = run_id or new_run_id(clock)
            doc = order.as_dict() | (extra or {})
            # kept with the run: what eligibility found, each override's reason, the limits then in force
            doc["eligibility"] = decision.to_dict() | {"limits": self.config.eligibility.as_dict()}
            doc["analysis"] = self.config.analysis_delay.as_dict()
            doc["rules"] = self.config.rules()
            if self.config.sodium_entry:
                doc["sodium_entry"] = True  # the bench offers the optional sodium after each chloride of this run
            if scenario is not None:
                doc["simulation"] = scenario.as_dict()
            if verification:
                doc["unverified_instruments"] = verification  # what was not verified, and why the run went ahead
            if started_by:
                doc["started_by"] = started_by
            if proficiency:
                doc["proficiency"] = proficiency  # provider, scheme, event, sample: the report says PROFICIENCY TEST
            listed = listed_order(self.store, order)
            if listed is not None:
                doc["lis"] = listed.order  # placer and filler numbers, identifiers, provider: echoed in results
            lease = Lease(self.store, run_id)
            created_at = self.store.clock.utcnow()  # a record carries the time it is written
            writes = [] if listed is None else [partial(mark_started, accession=order.accession, run_id=run_id,
                                                        at=created_at, who=order.operator)]
            if repeat is not None:
                writes.append(partial(record_repeat, run_id=run_id, repeat=repeat, who=order.operator, at=created_at))
            self.store.create_run(run_id, accession=order.accession, method=order.method, operator=order.operator,
                                  patient_mrn=order.patient.mrn, created_at=created_at, order=doc,
                                  protocol=order.protocol, purpose=purpose, lease=lease.for_new_run(),
                                  station=lease.station, by=started_by,
                                  within=(lambda conn: [write(conn) for write in writes]) if writes else None)
            if created is not None:
                created(run_id)
            simulated = (SimulatedOperator(order.operator, clock, bench, order.protocol, scenario)
                         if scenario is not None else None)
            operator = _operator(operator_for, simulated, lease)
            runner = Runner(store=self.store, clock=clock, bench=bench, operator=operator,
                            run=new_run(run_id, order.protocol, order.sites, doc["rules"]["adequacy"]), order=doc,
                            reporter=reporter, lease=lease, qc_rules=self.config.qc_rules)
            verify = {"mrn": order.patient.mrn, "accession": order.accession,
                      "overrides": [o.to_dict() for o in decision.overrides]}
            runner.feed("verify_patient", data=verify)
        except BaseException:
            bench.shutdown()
            if lease is not None:
                lease.release()
            raise
        return ActiveRun(run_id, runner, bench, doc, clock)

    def unverified_ahead(self, order: Order) -> list[str]:
        """Before a patient run starts on the configured instruments: those not verified (no calibration on record),
        so the start screen asks the reason it goes ahead (or says the lab refuses it) before the tech starts.
        None for a proficiency-testing sample, whose run is not a patient run."""
        if find_sample(self.store, order.accession) is not None or not self.config.instruments:
            return []
        return not_verified_on_record(self.config.instruments, partial(instrument_status, self.store),
                                      gravimetric=order.protocol.gravimetric)

    def _unverified(self, bench: Bench, purpose: str, reason: str | None, who: str) -> dict[str, Any] | None:
        """A patient run on an instrument with no calibration on record: refused, or allowed with the reason it
        goes ahead (kept with the run)."""
        labels = bench.unverified_labels()
        if not labels or purpose != PATIENT:
            return None
        what = (f"{', '.join(labels)}: not verified (no calibration on record; a due date in the configuration "
                "verifies nothing)")
        if self.config.unrecorded_calibration == "refuse":
            raise UnverifiedInstrument(f"{what}. This lab refuses patient runs on an instrument not verified: record "
                                       "its calibration (sweattest calibration add) first; nothing was run")
        if not (reason or "").strip():
            raise UnverifiedInstrument(f"{what}. A patient run on it needs the reason it goes ahead, recorded with "
                                       "the run; or record its calibration (sweattest calibration add) first; nothing "
                                       "was run", needs_reason=True)
        return {"instruments": labels, "reason": reason.strip(), "by": who}

    # -- resume ----------------------------------------------------------------------------------------
    def unfinished(self, station: str | None = None) -> list[dict]:
        """The runs a stop left unfinished; with ``station``: only those that station performs (and those of
        stores from before stations were recorded)."""
        done = SITE_STATES.index(FIRST_DONE_STATE)
        return [r for r in self.store.list_runs()
                if r["state"] in SITE_STATES and SITE_STATES.index(r["state"]) < done
                and (station is None or r.get("station") in (None, station))]

    def resume(self, run_id: str, *, clock: Clock | None = None, speed: float | None = None,
               operator_for: OperatorFactory | None = None, reporter: Reporter | None = None,
               by: str = "system") -> ActiveRun:
        """The run brought back under control: outputs off and a site caught stimulating aborted before this
        returns; the rest is queued. A simulated run resumes on its recorded scenario; a run on instruments
        resumes on the configured bench, on the real clock. The record gets a ``crash`` event (the state
        found) and a ``resume`` event by ``by`` once every output is confirmed off."""
        lease = Lease(self.store, run_id).acquire()  # RunLeased: a live process performs it; left alone
        try:
            run, order, seq = load_run_at(self.store, run_id)
            scenario = parse_scenario(order["simulation"], tuple(order["sites"])) if "simulation" in order else None
            if scenario is None and operator_for is None:
                raise ValidationError(f"run {run_id} was performed on instruments: resume it where a tech can "
                                      "answer the bench's prompts")
            last_at, last_t, written_at = self._last_record(run_id)
            if clock is None:  # a simulated run: its clock goes on from its last record, at its pace, on the wall
                # clock meanwhile (a collection's time ran on while no process performed the run)
                gone = max(0.0, (self.store.clock.utcnow() - written_at).total_seconds()) * (speed or 0.0)
                clock = VirtualClock(start=last_at + timedelta(seconds=gone), speed=speed)
            t_offset = last_t + (clock.utcnow() - last_at).total_seconds()  # procedure time goes on from there
            bench = self.open_bench(clock, run.protocol, tuple(order["sites"]), scenario)
        except BaseException:
            lease.release()
            raise
        try:
            simulated = None
            if scenario is not None:
                simulated = SimulatedOperator(order["operator"], clock, bench, run.protocol, scenario)
                simulated.restore(run, t_offset)
            runner = Runner(store=self.store, clock=clock, bench=bench,
                            operator=_operator(operator_for, simulated, lease), run=run, order=order,
                            reporter=reporter, t_offset=t_offset, lease=lease, seq=seq,
                            qc_rules=self.config.qc_rules)
            # the stop is recorded when it is found: the process stopped after its last record
            runner.feed("crash", data={"state_found": run.state, "last_recorded_t": last_t, "lease": lease.found},
                        actor="system")
            runner.recover()  # every output forced off and confirmed (DeviceError if not), stimulating sites aborted
            runner.feed("resume", data={"state_found": run.state, "outputs_off_confirmed": True}, actor=by)
        except BaseException:
            bench.shutdown()
            lease.release()
            raise
        return ActiveRun(run_id, runner, bench, order, clock)

    def last_recorded(self, run_id: str) -> datetime:
        """The latest procedure time anything of the run was recorded at: the process stopped after it."""
        return self._last_record(run_id)[0]

    def _last_record(self, run_id: str) -> tuple[datetime, float, datetime]:
        """The procedure time (the simulated clock's, for a simulated run), ``t`` and the time written of the
        run's last record: its last event, or the last current reading of the stimulation that event started
        (readings count their ``t`` from the start of the stimulation)."""
        events = self.store.events(run_id)
        if not events:
            created = self.store.get_run(run_id)["created_at"]
            return created, 0.0, created
        last = events[-1]
        at, t, written = procedure_time(last), last.t, last.at
        if last.kind == "start_stimulation" and last.accepted:
            readings = self.store.readings(run_id, site=last.site, kind="stimulation_sample")
            if readings:
                at, t = at + timedelta(seconds=readings[-1]["t"]), t + readings[-1]["t"]
                written = readings[-1]["at"]
        return at, t, written

    # -- results ---------------------------------------------------------------------------------------
    def finish(self, active: ActiveRun, run: RunState, out_dir: Path) -> RunResult:
        """The run's record and its files (report, LIMS files) once it has results."""
        return self.files(run, active.order, out_dir)

    def files(self, run: RunState, order: dict[str, Any], out_dir: Path) -> RunResult:
        """The record and files of a run with results, from the run and its stored order."""
        record = stored_run_record(self.store, run, order, generated_at=self.store.clock.utcnow(),
                                   ranges=self.config.ranges)
        return RunResult(run=run, record=record, out_dir=out_dir,
                         files=write_outputs(record, out_dir, self.config))


class UnverifiedInstrument(ValidationError):
    """A patient run on an instrument with no calibration on record, without a reason or where the lab refuses
    it; nothing was run. ``needs_reason``: a reason would let it go ahead."""

    def __init__(self, message: str, needs_reason: bool = False):
        super().__init__(message)
        self.needs_reason = needs_reason


def _operator(operator_for: OperatorFactory | None, simulated: SimulatedOperator | None, lease: Lease) -> Operator:
    if operator_for is not None:
        operator = operator_for(simulated)
    elif simulated is None:
        raise ValidationError("a run on instruments needs a tech to answer its prompts")
    else:
        operator = simulated
    operator.keep_alive = lease.renew  # an operator that waits for a person renews the lease meanwhile
    return operator


def perform_simulated_run(order: Order, scenario: Scenario, *, store, clock: Clock, out_dir: Path,
                          reporter: Reporter | None = None, run_id: str | None = None,
                          config: LabConfig | None = None, purpose: str | None = None) -> RunResult:
    """A whole simulated run, start to files (the demo, `run --simulate`, tests)."""
    service = RunService(store, config)
    active = service.start(order, clock=clock, scenario=scenario, reporter=reporter, run_id=run_id,
                           purpose=purpose, ask_repeat=False)
    return service.finish(active, active.perform(), out_dir)


__all__ = ["ActiveRun", "NoInstruments", "OrderRefused", "RunResult", "RunService", "StartChecks",
           "UnverifiedInstrument", "check_order_now", "eligibility_of",
           "new_run_id", "perform_simulated_run", "tell_lis_not_eligible"]
