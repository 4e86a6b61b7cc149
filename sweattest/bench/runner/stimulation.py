"""The safe stimulation loop: the one place where current flows through a patient's skin.

Before start and on every exit path (normal end, fault, lost communication, any exception, SIGINT/SIGTERM)
the inducer's ``safe_off`` zeroes the setpoint and opens the output, both read back; the outcome carries
what was and was not confirmed, and a reason that says so. An inducer that was declared faulty is never
switched on. The inducer's own watchdog turns the output off if this loop falls silent.
Readings are polled at ``poll_hz`` (10 Hz or faster); the charge is integrated from the readings. The readings
are committed by a writer thread (``readings.ReadingsWriter``), so nothing on the loop's path waits for the
store; the time between polls is measured on the loop's clock and reported with the outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pint

from drivers.inducer import SettingNotTaken
from drivers.inducer_latch import FAULTY_ACTION, declare_faulty
from drivers.inducer_off import OffReport
from sweattest.bench.runner.readings import ReadingsWriter, SampleSink, WriterBehind
from sweattest.core.clock import Clock
from sweattest.core.errors import DeviceError
from sweattest.core.stimulation import Fault, MonitorState, StimulationPlan, check
from sweattest.core.units import Q_

log = logging.getLogger(__name__)

POLL_HZ = 10.0
#: Seconds of host silence after which the inducer switches its output off by itself.
WATCHDOG_S = 1.0
#: The loop's thread asks the operating system for this priority (nice value; lower is sooner), so that a busy
#: computer (report renders, many screens) still wakes it on time. Needs CAP_SYS_NICE (or RLIMIT_NICE) on
#: Linux; without it the loop runs at normal priority and says so in the log.
LOOP_NICE = -10


@dataclass(frozen=True)
class PollTiming:
    """Seconds between consecutive readings, on the loop's clock: a starved loop shows here."""

    max_s: float = 0.0
    p99_s: float = 0.0
    polls: int = 0

    @classmethod
    def of(cls, intervals: list[float]) -> PollTiming:
        if not intervals:
            return cls()
        ordered = sorted(intervals)
        return cls(max_s=round(ordered[-1], 4), p99_s=round(ordered[min(len(ordered) - 1,
                                                                         int(0.99 * len(ordered)))], 4),
                   polls=len(ordered))

    def as_data(self) -> dict[str, float]:
        return {"poll_interval_max_s": self.max_s, "poll_interval_p99_s": self.p99_s}


@dataclass(frozen=True)
class StimulationOutcome:
    completed: bool
    charge: pint.Quantity | None  # mA*min, integrated from the readings (None: no trace, a stand-alone inducer)
    fault: Fault | None
    samples: int
    #: what the off sequence at the end confirmed (None only if no off sequence could be run at all)
    off: OffReport | None
    poll_timing: PollTiming = PollTiming()

    @property
    def output_off_confirmed(self) -> bool:
        """The output relay read back open on every channel."""
        return self.off is not None and self.off.output_off

    @property
    def inducer_faulty(self) -> bool:
        """The off sequence did not confirm both barriers: the inducer is latched faulty."""
        return self.off is None or not self.off.confirmed


class StimulationInterrupted(Exception):
    """The loop was stopped by a signal or an unexpected error; the output is off. Carries the outcome;
    the original exception is the ``__cause__``."""

    def __init__(self, outcome: StimulationOutcome):
        super().__init__(outcome.fault.message if outcome.fault else "stimulation interrupted")
        self.outcome = outcome


class _NotSafeToStart(Exception):
    """The inducer is latched faulty or did not confirm its outputs off before start: nothing is switched on."""


class StimulationStopped(Exception):
    """Raised by the progress callback to stop the loop at once (emergency stop from the bench, or the station
    stopping): the loop ends with the output off and a fault ``code`` carrying this message; the run goes on
    safely."""

    def __init__(self, message: str, code: str = "emergency_stop"):
        super().__init__(message)
        self.code = code


Progress = Callable[[float, float, float, float, float], None]  # t, setpoint, current, voltage, charge


def run_stimulation(inducer, channel: int, plan: StimulationPlan, clock: Clock, record: SampleSink,
                    progress: Progress | None = None, poll_hz: float = POLL_HZ) -> StimulationOutcome:
    """Ramp up, hold and ramp down on ``channel``; stop with the output off at the first fault.

    ``record`` is called from a writer thread with batches of readings, in order; ``progress`` is called in
    the loop at every reading and must not wait for anything (it may raise ``StimulationStopped``)."""
    period = 1.0 / poll_hz
    charge_ma_s = 0.0
    samples = 0
    writer = ReadingsWriter(record, clock, poll_hz, name=f"readings-ch{channel}")  # before the priority: not raised
    priority = _LoopPriority()
    buffer: list[dict] = []
    intervals: list[float] = []
    fault: Fault | None = None
    state = MonitorState()
    last_t = 0.0
    last_current = 0.0
    interrupted: BaseException | None = None
    t0 = clock.monotonic()
    try:
        _safe_to_start(inducer, channel)
        inducer.set_watchdog(WATCHDOG_S)
        inducer.set_compliance(channel, Q_(plan.compliance_v, "V"))
        inducer.set_current_ma(channel, 0.0)
        inducer.output_on(channel)
        t0 = clock.monotonic()
        setpoint = 0.0
        tick = 0
        while True:
            tick += 1
            clock.sleep_until(t0 + tick * period)
            t = clock.monotonic() - t0
            current, voltage = inducer.measure_ma_v(channel)  # mA, V
            charge_ma_s += (current + last_current) / 2.0 * (t - last_t)
            if tick > 1:
                intervals.append(t - last_t)
            last_t, last_current = t, current
            samples += 1
            state, fault = check(plan, state, t, setpoint, current, voltage)
            buffer.append({"t": round(t, 3), "setpoint_ma": round(setpoint, 4), "current_ma": round(current, 4),
                           "voltage_v": round(voltage, 3), "charge_ma_min": round(charge_ma_s / 60.0, 5)})
            if progress is not None:
                progress(t, setpoint, current, voltage, charge_ma_s / 60.0)
            if fault is not None:
                break
            if t >= plan.duration_s:
                break
            next_setpoint = plan.setpoint_ma(t + period)
            if next_setpoint != setpoint:  # the hold phase needs no traffic on a 9600-baud line
                inducer.set_current_ma(channel, next_setpoint)
            setpoint = next_setpoint
            if len(buffer) >= writer.batch_size:
                writer.hand_over(buffer)  # raises a failed write; waits only on a store far behind
                buffer = []
    except _NotSafeToStart as exc:
        fault = Fault("inducer_faulty", f"{exc} The output was never switched on.")
    except StimulationStopped as exc:
        fault = Fault(exc.code, f"{exc}.")
    except SettingNotTaken as exc:
        fault = Fault("inducer_error", f"the inducer did not carry out a setting ({exc}).")
    except DeviceError as exc:
        if inducer.faulty() is not None:
            fault = Fault("inducer_faulty", f"the inducer refused to go on: {exc}")
        else:
            fault = Fault("lost_communication", f"lost communication with the inducer ({exc}). The inducer's "
                          "watchdog also turns the output off. Check the cable and the inducer.")
    except WriterBehind as exc:
        fault = Fault("readings_not_saved", f"{exc}. Readings are never lost: check the database connection "
                      "and free disk space.")
    except BaseException as exc:  # SIGINT/SIGTERM arrive as exceptions; anything else is a fault too
        interrupted = exc
        fault = _fault_of(exc)
    finally:
        with _stop_signals_held() as arrived:
            off = _force_off(inducer, channel)
        if arrived and interrupted is None:  # a stop signal during the off sequence: the run stops now
            interrupted = KeyboardInterrupt(f"signal {signal.Signals(arrived[0]).name}")
            fault = fault or _fault_of(interrupted)
        priority.restore()
        try:
            writer.close(buffer)  # after the output is off: commit every reading left, join the writer
        except BaseException as exc:  # noqa: BLE001 - a reading not saved stops the run; the output is off
            if interrupted is None:
                interrupted = exc
                fault = fault or _fault_of(exc)
            elif exc is not interrupted:
                log.error("readings not saved after the stimulation stopped: %s", exc)
    if fault is not None:
        fault = Fault(fault.code, f"{fault.message} {off_words(off)}")
    outcome = StimulationOutcome(fault is None, Q_(charge_ma_s / 60.0, "mA*min"), fault, samples, off,
                                 PollTiming.of(intervals))
    if interrupted is not None:
        raise StimulationInterrupted(outcome) from interrupted
    return outcome


def off_words(off: OffReport | None) -> str:
    """The truthful end of a reason: what the off sequence confirmed, and what to do if it did not."""
    if off is None:
        return f"Output off could NOT be checked. The inducer is declared faulty. {FAULTY_ACTION}"
    if off.confirmed:
        return f"Off check: {off.describe()}."
    return f"Off check: {off.describe()}. The inducer is declared faulty. {FAULTY_ACTION}"


class _LoopPriority:
    """The calling thread at ``LOOP_NICE`` until ``restore`` (Linux: the nice value belongs to the thread)."""

    def __init__(self) -> None:
        self._tid = threading.get_native_id()
        self._before: int | None = None
        if not hasattr(os, "setpriority"):
            return
        try:
            before = os.getpriority(os.PRIO_PROCESS, self._tid)
            if before > LOOP_NICE:
                os.setpriority(os.PRIO_PROCESS, self._tid, LOOP_NICE)
                self._before = before
        except OSError as exc:
            log.warning("stimulation loop at normal priority (%s): grant the service CAP_SYS_NICE so a busy "
                        "computer cannot delay it", exc)

    def restore(self) -> None:
        if self._before is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self._tid, self._before)
            except OSError as exc:  # lowering one's priority is always allowed; report and go on
                log.warning("stimulation loop priority not restored: %s", exc)
            self._before = None


def _fault_of(exc: BaseException) -> Fault:
    return Fault("interrupted" if isinstance(exc, KeyboardInterrupt | SystemExit) else "software_error",
                 f"stimulation stopped: {type(exc).__name__}: {exc}.")


def _safe_to_start(inducer, channel: int) -> None:
    entry = inducer.faulty()
    if entry is not None:
        raise _NotSafeToStart(f"the inducer was declared faulty earlier ({entry.reason}).")
    before = inducer.safe_off(channel)
    if not before.confirmed:
        raise _NotSafeToStart(f"the inducer could not be confirmed off before stimulation ({before.describe()}).")


@contextlib.contextmanager
def _stop_signals_held():
    """SIGINT and SIGTERM held while the off sequence runs: a second Ctrl-C or stop signal (a tech pressing
    twice, a service manager repeating its stop) cannot cut the off sequence short; the signals that came are
    listed for the caller. Python runs signal handlers in the main thread only: elsewhere nothing is held."""
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield arrived
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _force_off(inducer, channel: int) -> OffReport | None:
    """The off sequence of the driver (both barriers, read back, repeated, then latched faulty)."""
    try:
        return inducer.safe_off(channel)
    except Exception as exc:  # noqa: BLE001 - safe_off never raises; a broken driver must not hide the fault
        log.critical("inducer channel %s: off sequence failed: %s", channel, exc)
        declare_faulty(str(getattr(inducer, "port_name", repr(inducer))), getattr(inducer, "serial", None),
                       f"off sequence failed: {type(exc).__name__}: {exc}")
        return None
