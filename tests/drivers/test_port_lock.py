"""One process per instrument port (drivers/port_lock.py).

A stimulation runs in one process on an inducer that `sweattest simulate inducer` serves on a pseudo-terminal;
`instruments check`, a second `run` and a second opener in other processes are refused with the holder's pid, command
and host, and send nothing: the stimulation completes, every reading in range, the output confirmed off. Within
one process a second open of the same port is refused too; once the holder closes the port, it opens again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

import pytest

from drivers.inducer import Inducer
from drivers.port_lock import PortInUse, port_key
from sweattest.bench.demo import DEMO_ORDER
from sweattest.core.rules.checklist import CHECKLIST
from tests.bench.conftest import ROOT, SWEATTEST, instrument_table, sweattest, write_config
from tests.conftest import PERFORMER_PASSWORD, add_performer

#: Process A: open the inducer as a run does, say so, stimulate 1.5 mA for a few seconds, report the outcome.
HOLDER = textwrap.dedent("""
    import json, sys
    from sweattest.bench.instruments.scpi_inducer import ScpiInducer
    from sweattest.bench.runner.stimulation import run_stimulation
    from sweattest.core.clock import RealClock
    from sweattest.core.instruments import InstrumentConfig
    from sweattest.core.stimulation import StimulationPlan

    config = InstrumentConfig(role="inducer", model="scpi", port=sys.argv[1], baudrate=115200)
    inducer = ScpiInducer.open(config, RealClock())
    inducer.identify()
    inducer.force_off()
    readings = []
    plan = StimulationPlan(target_ma=1.5, ramp_s=0.5, duration_s=float(sys.argv[2]), tolerance_ma=0.2, grace_s=1.0,
                           compliance_v=24.0)
    started = False
    def progress(t, setpoint, current, voltage, charge):
        global started
        if not started:
            started = True
            print("STIMULATING", flush=True)
    outcome = run_stimulation(inducer.driver, 1, plan, RealClock(), readings.extend, progress)
    inducer.close()
    print(json.dumps({"completed": outcome.completed, "fault": outcome.fault and outcome.fault.message,
                      "off": outcome.output_off_confirmed, "max_ma": max(r["current_ma"] for r in readings)}))
""")


#: Seconds the holder's current flows: ample for the other processes to start and be refused, even on a busy machine
HOLD_S = 30


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):
    folder = tmp_path / "locks"
    monkeypatch.setenv("SWEATTEST_LOCK_DIR", str(folder))
    return folder


def test_a_second_process_is_refused_while_a_stimulation_runs_and_the_stimulation_is_unharmed(
        tmp_path, simulators, lock_dir):
    inducer = simulators.start("inducer", "--baud", "115200", "--seed", "3", "--option", "load=1:10kohm")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    config = write_config(tmp_path, instrument_table("inducer", "scpi", inducer, baudrate=115200),
                          instrument_table("analyzer", "manual"))
    (tmp_path / "order.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    add_performer(tmp_path / "runs.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, inducer, str(HOLD_S)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert holder.stdout.readline().strip() == "STIMULATING", holder.stderr.read()
        # all three at once, while the current flows: they take seconds, the stimulation HOLD_S
        intruders = {
            "check": [*SWEATTEST, "instruments", "check", "--config", str(config)],
            "run": [*SWEATTEST, "run", "--order", str(tmp_path / "order.json"), "--config", str(config), "--db",
                    str(tmp_path / "runs.db"), "--password-stdin", "--unverified-reason", "first day"],
            "second": [sys.executable, "-c", "import sys; from drivers.inducer import Inducer; "
                       "Inducer.from_url(sys.argv[1], baudrate=115200).all_outputs_off()", inducer]}
        started = {name: subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
                   for name, argv in intruders.items()}
        typed = {"run": PERFORMER_PASSWORD + "\n" + "\n" * len(CHECKLIST)}
        done = {name: subprocess.CompletedProcess(intruders[name], 0, *proc.communicate(typed.get(name, ""),
                                                                                        timeout=HOLD_S))
                for name, proc in started.items()}
        for name, proc in started.items():
            done[name].returncode = proc.returncode
        assert holder.poll() is None, "the stimulation ended before the other processes were refused"
        outcome = json.loads(holder.stdout.readline())
    finally:
        holder.wait(timeout=60)
    check, run, second = done["check"], done["run"], done["second"]
    assert check.returncode == 2
    assert check.stdout.startswith("inducer scpi on") and "NOT READY: cannot be opened:" in check.stdout
    assert (f"the inducer port {inducer} is in use by process {holder.pid} on {socket.gethostname()} "
            f"(-c {inducer} {HOLD_S};") in check.stdout
    assert "nothing was sent to it" in check.stdout
    assert second.returncode != 0 and f"is in use by process {holder.pid}" in second.stderr
    assert run.returncode == 1 and f"the inducer port {inducer} is in use by process {holder.pid}" in run.stderr
    assert "sweattest: run R" not in run.stdout  # refused before a run was created
    assert outcome == {"completed": True, "fault": None, "off": True, "max_ma": pytest.approx(1.5, abs=0.2)}

    again = sweattest("instruments", "check", "--config", str(config), env=env)  # the holder has ended
    assert again.returncode == 0, again.stdout
    assert "every output off (confirmed)" in again.stdout


def test_two_opens_of_one_port_in_one_process_are_refused_and_a_closed_port_opens_again(simulators, lock_dir):
    path = simulators.start("inducer", "--seed", "3")
    first = Inducer.from_url(path)
    try:
        assert first.identify().startswith("SWEATTEST,IND-2 SIM,000003")
        with pytest.raises(PortInUse, match=fr"is in use by this process \(pid {os.getpid()}, .*\), which has it open"):
            Inducer.from_url(os.path.join("/dev", "..", path.lstrip("/")))  # another spelling of the same device
        assert first.identify().startswith("SWEATTEST,IND-2 SIM")  # the holder's port still works
    finally:
        first.close()
    with Inducer.from_url(path) as again:
        assert again.identify().startswith("SWEATTEST,IND-2 SIM")


def test_a_network_port_is_locked_by_its_address_and_in_process_simulators_are_not(lock_dir):
    assert port_key("socket://Bench-3.lab:4001") == "socket://bench-3.lab:4001"
    assert port_key("socket://bench-3.lab:4001?logging=debug") == "socket://bench-3.lab:4001"
    assert port_key("sim://inducer?channels=2") is None
    server = socket.create_server(("127.0.0.1", 0))
    url = f"socket://127.0.0.1:{server.getsockname()[1]}"
    try:
        first = Inducer.from_url(url)
        with pytest.raises(PortInUse, match="in use by this process"):
            Inducer.from_url(url)
        first.close()
        Inducer.from_url(url).close()
    finally:
        server.close()
    with Inducer.from_url("sim://inducer") as one, Inducer.from_url("sim://inducer") as two:
        assert one.identify() and two.identify()


def test_one_network_port_by_two_names_is_one_port(lock_dir):
    """`localhost` and `127.0.0.1`, a leading-zero port number, a trailing slash: the same instrument server."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        first = Inducer.from_url(f"socket://127.0.0.1:{port}")
        try:
            for other in (f"socket://localhost:{port}", f"socket://LOCALHOST:0{port}/",
                          f"socket://127.0.0.1:{port}/"):
                with pytest.raises(PortInUse, match="in use by this process"):
                    Inducer.from_url(other)
        finally:
            first.close()
    finally:
        server.close()
    assert port_key("socket://bench-3.invalid:4001") == "socket://bench-3.invalid:4001"  # not resolvable: by name



def test_a_device_opened_under_another_lock_folder_is_refused_without_touching_the_holders_line(
        simulators, tmp_path, monkeypatch):
    """Two processes with different SWEATTEST_LOCK_DIR (or one as root, past TIOCEXCL): the device itself is locked
    before the second opener sets the line up, so the holder's unread reply is not flushed away."""
    path = simulators.start("inducer", "--seed", "3")
    monkeypatch.setenv("SWEATTEST_LOCK_DIR", str(tmp_path / "one"))
    first = Inducer.from_url(path)
    try:
        first.flush_input()
        first.write("*IDN?")
        first._rxbuf += first.port.read(1) or b""  # the reply has begun to arrive; the rest waits in the terminal
        assert first._rxbuf, "the simulator did not answer"
        monkeypatch.setenv("SWEATTEST_LOCK_DIR", str(tmp_path / "two"))
        with pytest.raises(PortInUse):
            Inducer.from_url(os.path.realpath(path))
        assert first.read_line("*IDN?").startswith("SWEATTEST,IND-2 SIM")
    finally:
        first.close()


def test_a_killed_holder_leaves_no_lock_on_a_pseudo_terminal(simulators, tmp_path):
    """kill -9 of the process that had the simulator's port: an ordinary user's process opens it at once (a
    pseudo-terminal outlives its opener, and a kernel exclusive flag set on it would stay behind)."""
    path = simulators.start("inducer", "--seed", "3")
    lock_dir = tempfile.mkdtemp(prefix="sweattest-locks-")  # in a folder an ordinary user can reach
    os.chmod(lock_dir, 0o1777)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SWEATTEST_LOCK_DIR=lock_dir)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from drivers.inducer import Inducer; "
                               "d = Inducer.from_url(sys.argv[1]); print(d.identify(), flush=True); time.sleep(600)",
                               path], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert holder.stdout.readline().startswith("SWEATTEST,IND-2 SIM")
    finally:
        holder.kill()
        holder.wait()
    opener = [sys.executable, "-c", "import sys; from drivers.inducer import Inducer; "
              "print(Inducer.from_url(sys.argv[1]).identify())", path]
    if os.geteuid() == 0:  # root opens past the kernel's flag: open as an ordinary user
        os.chmod(path, 0o666)
        for lock in os.listdir(lock_dir):
            os.chmod(os.path.join(lock_dir, lock), 0o666)
        opener = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *opener]
        env["HOME"] = "/"
    try:
        again = subprocess.run(opener, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    finally:
        shutil.rmtree(lock_dir, ignore_errors=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("SWEATTEST,IND-2 SIM")


def test_a_lock_file_another_user_made_is_taken_all_the_same(simulators, tmp_path):
    """The lock files are shared by every user of the installation: one made under a umask of 022 is writable by all,
    and one an ordinary user cannot write (made by an older version, or by hand) is still taken, not a crash."""
    path = simulators.start("inducer", "--seed", "3")
    lock_dir = tempfile.mkdtemp(prefix="sweattest-locks-")  # in a folder an ordinary user can reach
    os.chmod(lock_dir, 0o1777)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SWEATTEST_LOCK_DIR=lock_dir)
    opener = [sys.executable, "-c", "import sys; from drivers.inducer import Inducer; "
              "print(Inducer.from_url(sys.argv[1]).identify())", path]
    try:
        old = os.umask(0o022)
        try:
            made = subprocess.run(opener, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
        finally:
            os.umask(old)
        assert made.returncode == 0, made.stderr
        (lock,) = os.listdir(lock_dir)
        assert os.stat(os.path.join(lock_dir, lock)).st_mode & 0o666 == 0o666
        if os.geteuid() == 0:
            os.chmod(os.path.join(lock_dir, lock), 0o644)  # root's, read-only to others
            os.chmod(path, 0o666)
            again = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *opener],
                                   capture_output=True, text=True, cwd=ROOT, env=dict(env, HOME="/"), timeout=60)
            assert again.returncode == 0, again.stderr
            assert again.stdout.startswith("SWEATTEST,IND-2 SIM")
    finally:
        shutil.rmtree(lock_dir, ignore_errors=True)
