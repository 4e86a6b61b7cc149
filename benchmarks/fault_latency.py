"""Fault-to-output-off latency of the inducer on a pseudo-terminal at 9600 baud, and charge accuracy.

1. The simulated inducer serves a PTY at 9600 baud (wall clock). A 10 Hz poll loop (kept here; the
   runner has its own) measures the current and switches the output off when it reads an open circuit.
   An open circuit is injected at a random time after output on, N times (default 50). Latency is the
   simulator's own record: the time the output relay opened minus the time the fault began.
2. Delivered-charge error: undisturbed 5-minute Macroduct profiles (20 s ramps, 1.5 mA) through the
   same driver over ``sim://`` on an instant virtual clock with 9600-baud timing; the charge integrated
   from the 10 Hz readings is compared with the simulator's true delivered charge.

Prints its figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import serial  # noqa: E402

import drivers  # noqa: E402,F401 - registers sim://
from drivers.inducer import Inducer  # noqa: E402
from drivers.simulators.clocks import set_clock  # noqa: E402
from drivers.simulators.inducer import InducerSim  # noqa: E402
from drivers.simulators.pty_server import PtyServer  # noqa: E402
from sweattest.clock import RealClock, VirtualClock  # noqa: E402
from sweattest.units import Q_  # noqa: E402

POLL_HZ = 10.0
BAUD = 9600
OPEN_CIRCUIT_MA = 0.05


def fault_trial(ind: Inducer, sim: InducerSim, clock, rng: random.Random) -> float:
    """One open circuit at a random time; returns milliseconds from fault to output off."""
    ch = sim.channels[1]
    ch.load_fault = None
    ch.events.clear()
    ind.set_current(1, Q_(1.5, "mA"))
    sim.inject("open_circuit", channel=1, at_s=rng.uniform(0.15, 0.45))
    ind.output_on(1)
    t0, tick, period = clock.monotonic(), 0, 1.0 / POLL_HZ
    while True:
        tick += 1
        clock.sleep_until(t0 + tick * period)
        current, _ = ind.measure(1)
        if current.to("mA").magnitude < OPEN_CIRCUIT_MA:
            ind.output_off(1)
            break
    fault_at = next(t for t, what in ch.events if what == "fault:open_circuit")
    off_at = next(t for t, what in ch.events if what == "off")
    return (off_at - fault_at) * 1000.0


def round_trip_ms(ind: Inducer, clock, n: int = 20) -> float:
    times = []
    for _ in range(n):
        t = clock.monotonic()
        ind.query("MEAS1:CURR?")
        times.append((clock.monotonic() - t) * 1000.0)
    return statistics.median(times)


def setpoint_ma(t: float, duration: float = 300.0, ramp: float = 20.0, level: float = 1.5) -> float:
    if t <= 0 or t >= duration:
        return 0.0
    return level * min(1.0, t / ramp, (duration - t) / ramp)


IDEAL_MA_S = 1.5 * 280.0  # 1.5 mA for 300 s with 20 s linear ramps: 7.0 mA*min


def charge_run(seed: int) -> tuple[float, float]:
    """One undisturbed 5-minute run: (error against the delivered charge, against the ideal), percent."""
    clock = VirtualClock()
    set_clock(clock, f"bench{seed}")
    port = serial.serial_for_url(f"sim://inducer?channels=1&load=1:10kohm&seed={seed}&clock=bench{seed}",
                                 baudrate=BAUD, timeout=0.1)
    ind = Inducer(port, channels=1)
    sim = port.simulator
    ch = sim.channels[1]
    ind.set_compliance(1, Q_(24, "V"))
    ind.set_current(1, Q_(0, "mA"))
    ind.output_on(1)
    t0, tick, period = clock.monotonic(), 0, 1.0 / POLL_HZ
    measured = truth = 0.0
    last_t, last_i = 0.0, 0.0
    truth_t, truth_i = 0.0, 0.0
    while True:
        tick += 1
        clock.sleep_until(t0 + tick * period)
        current = ind.measure(1)[0].to("mA").magnitude
        t = clock.monotonic() - t0
        measured += (current + last_i) / 2.0 * (t - last_t)
        last_t, last_i = t, current
        if t >= 300.0:
            break
        # the simulator's current is constant between setpoints; a new one applies when its line arrives
        now = clock.monotonic() - t0
        truth += truth_i * (now - truth_t)
        ind.set_current(1, Q_(setpoint_ma(t + period), "mA"))
        truth_t, truth_i = now, sim.actual(ch)[0] * 1000.0
    truth += truth_i * (last_t - truth_t)
    ind.output_off(1)
    set_clock(None, f"bench{seed}")
    return abs(measured - truth) / truth * 100.0, abs(measured - IDEAL_MA_S) / IDEAL_MA_S * 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="undisturbed 5-minute runs for the charge error")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    clock = RealClock()
    sim = InducerSim(clock, channels=1, seed=args.seed)
    sim.set_load(1, Q_(10, "kohm"))
    server = PtyServer(sim, BAUD)
    thread = server.start()
    try:
        ind = Inducer(serial.Serial(server.path, baudrate=BAUD, timeout=0.02), channels=1, clock=clock)
        ind.all_outputs_off()
        ind.set_compliance(1, Q_(24, "V"))
        rtt = round_trip_ms(ind, clock)
        rng = random.Random(args.seed)
        latencies = [fault_trial(ind, sim, clock, rng) for _ in range(args.faults)]
        ind.all_outputs_off()
    finally:
        server.stop()
        thread.join(timeout=2)
    runs = [charge_run(args.seed + i) for i in range(args.runs)]
    errors, ideal = [r[0] for r in runs], [r[1] for r in runs]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    goal = 1.5 * (1000.0 / POLL_HZ + rtt)
    print(f"open-circuit faults: {len(latencies)}; fault to output off p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(latencies):.1f} ms")
    print(f"one MEAS round trip at {BAUD} baud: {rtt:.1f} ms; goal p99 <= {goal:.1f} ms")
    print(f"charge error of {len(errors)} undisturbed 5-minute runs: max {max(errors):.5f} % against the "
          f"delivered charge, {max(ideal):.3f} % against the ideal 7.0 mA*min profile")
    print(json.dumps({"p50_fault_to_off_ms": round(p50, 1), "p99_fault_to_off_ms": round(p99, 1),
                      "poll_hz": POLL_HZ, "baud": BAUD, "charge_error_pct": round(max(errors), 5),
                      "charge_vs_ideal_pct": round(max(ideal), 4),
                      "round_trip_ms": round(rtt, 1), "goal_p99_ms": round(goal, 1),
                      "faults": len(latencies), "charge_runs": len(errors)}))


if __name__ == "__main__":
    main()
