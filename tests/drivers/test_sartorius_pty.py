"""``sweattest simulate balance --model sartorius-sbi`` in a subprocess, weighed through the SBI driver on
its pseudo-terminal (wall clock; waits are I/O timeouts, never sleeps)."""

from __future__ import annotations

import signal
import subprocess

import pytest

from drivers.sartorius import SartoriusBalance
from sweattest.core.clock import RealClock
from tests.drivers.test_pty import ROOT, SIMULATE


def test_weighing_on_the_simulated_sartorius_over_a_pty():
    proc = subprocess.Popen([*SIMULATE, "balance", "--model", "sartorius-sbi", "--seed", "3",
                             "--option", "mass=1.0124g", "--option", "settle=0.3s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        bal = SartoriusBalance.from_url(path, clock=RealClock())
        assert bal.port.bytesize == 7 and bal.port.parity == "O"
        assert bal.identify() == "SWEATTEST,SIM,0012345681,01-28-03"
        assert bal.stable_weight(timeout_s=5).magnitude == pytest.approx(1012.4, abs=0.15)
        bal.tare(timeout_s=5)
        bal.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulate_refuses_an_unknown_balance_model():
    proc = subprocess.run([*SIMULATE, "balance", "--model", "ohaus"], capture_output=True, text=True,
                          timeout=30, cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown --model 'ohaus'; models: mt-sics, sartorius-sbi" in proc.stderr
