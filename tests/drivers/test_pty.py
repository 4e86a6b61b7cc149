"""Each driver against its simulator over a real pseudo-terminal at 9600 baud (wall clock).

The simulator runs in a thread behind ``PtyServer`` (the same server as ``sweattest simulate``); the
driver opens the terminal's path with plain pyserial, exactly as it would open /dev/ttyUSB0. Tests wait
on I/O with timeouts, never sleep. One test runs the command itself in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import serial

from drivers.balance import Balance
from drivers.chloridometer import Chloridometer
from drivers.inducer import Inducer
from drivers.simulators.balance import BalanceSim
from drivers.simulators.chloridometer import ChloridometerSim
from drivers.simulators.inducer import InducerSim
from drivers.simulators.pty_server import PtyServer
from sweattest.core.clock import RealClock
from sweattest.core.errors import DeviceError
from sweattest.core.units import Q_


@pytest.fixture
def serve():
    servers = []

    def start(sim, baud=9600):
        server = PtyServer(sim, baud)
        thread = server.start()
        servers.append((server, thread))
        return serial.Serial(server.path, baudrate=baud, timeout=0.05)

    yield start
    for server, thread in servers:
        server.stop()
        thread.join(timeout=2)


def test_inducer_over_a_pty(serve):
    sim = InducerSim(RealClock(), channels=2, seed=1)
    sim.set_load(1, Q_(10, "kohm"))
    ind = Inducer(serve(sim), channels=2, clock=RealClock())
    assert ind.identify().startswith("SWEATTEST")
    ind.set_compliance(1, Q_(24, "V"))
    ind.set_current(1, Q_(1.5, "mA"))
    ind.output_on(1)
    current, voltage = ind.measure(1)
    assert current.magnitude == pytest.approx(1.5, rel=0.01)
    ind.all_outputs_off()
    assert not sim.output_state(1)
    assert ind.errors() == []


def test_balance_over_a_pty(serve):
    sim = BalanceSim(RealClock(), seed=1, settle_s=0.2)
    sim.place(Q_(1.0124, "g"))
    bal = Balance(serve(sim), clock=RealClock())
    assert "SN" in bal.identify()
    assert bal.stable_weight(timeout_s=3).magnitude == pytest.approx(1.0124, abs=0.00015)


def test_chloridometer_over_a_pty(serve):
    sim = ChloridometerSim(RealClock(), seed=1, analysis_s=0.1)
    ana = Chloridometer(serve(sim), clock=RealClock())
    sim.load_sample("ST1-L", Q_(45, "mmol/L"))
    result = ana.read_result(timeout_s=3)
    assert result.sample_id == "ST1-L" and result.chloride.magnitude == pytest.approx(45, abs=3)


def test_unplugged_device_raises_device_error(serve):
    sim = InducerSim(RealClock(), channels=1)
    ind = Inducer(serve(sim), channels=1, clock=RealClock())
    ind.identify()
    sim.inject("disconnect", channel=1)
    with pytest.raises(DeviceError):
        ind.identify()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATE = [sys.executable, "-m", "sweattest.cli.simulate"]


def full_cli():
    """``sweattest simulate`` through the main entry point, once every subcommand imports."""
    pytest.importorskip("sweattest.record.store")
    return [sys.executable, "-m", "sweattest", "simulate"]


@pytest.mark.parametrize("command", [lambda: SIMULATE, full_cli], ids=["module", "sweattest"])
def test_simulate_command_prints_the_path_and_stops_on_sigterm(command):
    proc = subprocess.Popen([*command(), "inducer", "--seed", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        ind = Inducer(serial.Serial(path, baudrate=9600, timeout=0.05), clock=RealClock())
        assert ind.identify() == "SWEATTEST,IND-2 SIM,000003,1.0"
        ind.port.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulate_refuses_a_bad_fault():
    proc = subprocess.run([*SIMULATE, "balance", "--fault", "smoke"], capture_output=True, text=True,
                          timeout=30, cwd=ROOT)
    assert proc.returncode == 2
    assert "unknown fault 'smoke'" in proc.stderr and proc.stdout == ""
