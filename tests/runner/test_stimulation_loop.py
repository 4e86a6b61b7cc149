"""The safe stimulation loop against the simulated inducer over sim://.

Every fault, in every phase (ramp up, hold, ramp down), ends with the output off, the reason named and the
charge so far recorded; the other channel is never touched. Sources: Webster 3700 / Macroduct 3710
(1.5 mA, 5 min, 20 s ramp); IEC 60601-1 single-fault thinking: any fault ends with the output off.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from sweattest.bench.runner.stimulation import StimulationInterrupted, run_stimulation
from sweattest.core.errors import StoreError
from sweattest.core.protocol import load_protocol
from sweattest.core.stimulation import StimulationPlan

PLAN = StimulationPlan.from_protocol(load_protocol("macroduct"))
PHASES = {"ramp_up": 10.0, "hold": 150.0, "ramp_down": 290.0}
#: The simulator's high_impedance fault is 2 MOhm: at 24 V compliance 12 uA still flow, so it is named high skin
#: impedance (compliance limit reached), not an open circuit (no current at all).
EXPECTED = {"open_circuit": "open_circuit", "high_impedance": "compliance_voltage",
            "garbled": "lost_communication", "no_response": "lost_communication",
            "disconnect": "lost_communication"}


def _run(inducer, clock, channel=1, sink=None, progress=None):
    rows: list[dict] = []
    outcome = run_stimulation(inducer, channel, PLAN, clock, sink or rows.extend, progress)
    return outcome, rows


def test_a_normal_stimulation_delivers_the_planned_charge_and_ends_off(inducer, clock):
    outcome, rows = _run(inducer, clock)
    assert outcome.completed and outcome.fault is None and outcome.output_off_confirmed
    expected = PLAN.expected_charge().to("mA*min").magnitude
    assert outcome.charge.to("mA*min").magnitude == pytest.approx(expected, rel=0.005)
    assert len(rows) == outcome.samples >= 10 * 300  # 10 Hz for 5 minutes, every sample kept
    assert rows[-1]["charge_ma_min"] == pytest.approx(outcome.charge.magnitude, rel=1e-3)
    assert max(r["current_ma"] for r in rows) <= 1.5 + PLAN.tolerance_ma
    assert inducer.port.simulator.output_state(1) is False


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("kind", EXPECTED)
def test_every_fault_in_every_phase_ends_with_the_output_off(inducer, clock, kind, phase):
    sim = inducer.port.simulator
    sim.inject(kind, channel=1, at_s=PHASES[phase])
    outcome, rows = _run(inducer, clock)
    assert not outcome.completed
    assert outcome.fault.code == EXPECTED[kind]
    assert "off" in outcome.fault.message.lower()
    # stopped at the fault: the charge is what was delivered until then, never the full dose
    assert outcome.charge.to("mA*min").magnitude < PLAN.expected_charge().magnitude
    clock.sleep(5.0)  # longer than the inducer's watchdog: even a deaf device is off by now
    sim.faults_cleared = True
    sim.active_faults.clear()
    assert sim.output_state(1) is False
    assert sim.output_state(2) is False  # the other channel was never switched on


@pytest.mark.parametrize("phase", PHASES)
def test_skin_resistance_rising_past_compliance_stops_at_compliance(inducer, clock, phase):
    from sweattest.core.units import Q_

    def progress(t, *_):
        if t >= PHASES[phase]:
            inducer.port.simulator.set_load(1, Q_(60, "kohm"))  # 1.5 mA would need 90 V

    outcome, _ = _run(inducer, clock, progress=progress)
    assert outcome.fault.code == "compliance_voltage"  # 0.75 mA at 290 s still needs 45 V
    assert inducer.port.simulator.output_state(1) is False


def test_output_is_forced_off_before_start(inducer, clock):
    from sweattest.core.units import Q_

    inducer.set_compliance(1, Q_(24, "V"))
    inducer.set_current(1, Q_(1.0, "mA"))
    inducer.output_on(1)  # left on by an earlier crash
    events = []
    original = inducer.output_on

    def spy(channel):
        events.append(("on", inducer.port.simulator.output_state(channel)))
        original(channel)

    inducer.output_on = spy
    _run(inducer, clock)
    assert events == [("on", False)]


def test_a_store_failure_mid_stimulation_switches_the_output_off(inducer, clock):
    calls = []

    def failing_sink(rows):
        calls.append(len(rows))
        if len(calls) == 5:
            raise StoreError("disk full")

    with pytest.raises(StimulationInterrupted) as err:
        _run(inducer, clock, sink=failing_sink)
    assert isinstance(err.value.__cause__, StoreError)
    assert err.value.outcome.fault.code == "software_error"
    assert err.value.outcome.output_off_confirmed
    assert inducer.port.simulator.output_state(1) is False


@pytest.mark.parametrize("signal_exc", [KeyboardInterrupt("SIGINT"), KeyboardInterrupt("signal SIGTERM")])
def test_sigint_or_sigterm_switches_the_output_off_and_keeps_the_readings(inducer, clock, signal_exc):
    rows: list[dict] = []

    def progress(t, *_):
        if t >= 100.0:
            raise signal_exc

    with pytest.raises(StimulationInterrupted) as err:
        run_stimulation(inducer, 1, PLAN, clock, rows.extend, progress)
    assert err.value.__cause__ is signal_exc
    outcome = err.value.outcome
    assert outcome.fault.code == "interrupted" and outcome.output_off_confirmed
    assert len(rows) == outcome.samples >= 1000  # every reading up to the interruption was handed over
    assert inducer.port.simulator.output_state(1) is False


def test_current_is_polled_at_10_hz_or_faster(inducer, clock):
    _, rows = _run(inducer, clock)
    gaps = [b["t"] - a["t"] for a, b in zip(rows, rows[1:], strict=False)]
    assert max(gaps) <= 0.1 + 1e-6


def test_a_store_that_stops_taking_readings_stops_the_stimulation_and_loses_none(inducer, clock, monkeypatch):
    from sweattest.bench.runner import readings

    monkeypatch.setattr(readings, "MAX_WAIT_STEPS", 3)  # the simulated clock stands still while the loop waits
    clock.speed = 1000.0  # time passes while the store is stuck (on an instant clock the simulation would wait)
    saved: list[dict] = []
    recovered = threading.Event()
    stimulating: list[bool] = []

    def stuck_store(rows):
        recovered.wait(timeout=30)
        saved.extend(rows)

    switch_off = inducer.safe_off

    def safe_off(channel=None):
        report = switch_off(channel)
        if stimulating:
            recovered.set()  # the store comes back after the loop has stopped
        return report

    inducer.safe_off = safe_off
    outcome, _ = _run(inducer, clock, sink=stuck_store, progress=lambda *_: stimulating.append(True))
    assert outcome.fault.code == "readings_not_saved"
    assert "Off check: setpoint 0 confirmed; output confirmed off." in outcome.fault.message
    assert outcome.output_off_confirmed and inducer.port.simulator.output_state(1) is False
    assert readings.BACKLOG_S * 10 <= outcome.samples <= (readings.BACKLOG_S + 3) * 10  # stopped as it fell behind
    assert [r["t"] for r in saved] == sorted({r["t"] for r in saved}) and len(saved) == outcome.samples


def test_on_a_simulated_clock_each_reading_is_committed_within_one_second_of_procedure_time(inducer, clock):
    start: list[float] = []  # the loop's clock when its procedure time was 0
    lags: list[float] = []

    def sink(rows):  # the writer thread; the loop's clock stands still until the commit is done
        lags.append(clock.monotonic() - start[0] - rows[0]["t"])

    def progress(t, *_):
        start[:] = start or [clock.monotonic() - t]

    outcome, _ = _run(inducer, clock, sink=sink, progress=progress)
    assert outcome.completed and len(lags) >= 300  # one commit per second of stimulation
    assert max(lags) <= 1.0 + 1e-6


def test_the_poll_intervals_are_reported_with_the_outcome(inducer, clock):
    outcome, _ = _run(inducer, clock)
    assert outcome.poll_timing.polls == outcome.samples - 1
    assert outcome.poll_timing.max_s == pytest.approx(0.1) and outcome.poll_timing.p99_s == pytest.approx(0.1)


def test_a_second_stop_signal_during_the_off_sequence_does_not_cut_it_short(inducer, clock):
    """SIGTERM twice quickly (or Ctrl-C twice): the second arrives while the output is being switched off."""
    def as_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    real_safe_off = inducer.safe_off
    sent: list[int] = []

    def safe_off(channel):
        if len(sent) == 1:  # the off sequence after the first stop: the second signal comes now
            sent.append(2)
            os.kill(os.getpid(), signal.SIGTERM)
        return real_safe_off(channel)

    def progress(t, *_):
        if t >= 100.0 and not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)

    inducer.safe_off = safe_off
    previous = signal.signal(signal.SIGTERM, as_interrupt)
    try:
        with pytest.raises(StimulationInterrupted) as err:
            run_stimulation(inducer, 1, PLAN, clock, [].extend, progress)
    except KeyboardInterrupt:
        pytest.fail("the second signal cut the off sequence short and escaped the stimulation loop")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent == [1, 2]
    assert err.value.outcome.fault.code == "interrupted" and err.value.outcome.output_off_confirmed
    assert inducer.port.simulator.output_state(1) is False
