"""Shared fixtures: a fresh SQLite store and the demo's order and scenario as files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'runs.db'}"


#: The bench user who performs runs from the command line in tests (the demo order's operator).
PERFORMER, PERFORMER_PASSWORD = "tech1", "tech1 bench password"


def add_performer(db_url: str) -> None:
    """tech1, with ``PERFORMER_PASSWORD``, in the store at ``db_url`` (a URL or a SQLite path)."""
    from sweattest.record.store import open_store
    from sweattest.record.users import add_user, get_user

    store = open_store(str(db_url))
    try:
        if get_user(store, PERFORMER) is None:
            add_user(store, PERFORMER, "Tina Tech", "tech", PERFORMER_PASSWORD, actor="setup")
    finally:
        store.close()


@contextlib.contextmanager
def as_performer(db_url: str, password: str = PERFORMER_PASSWORD):
    """For `sweattest run`: tech1 exists in the store at ``db_url``, the password is on stdin while the block
    runs; yields the options ``--as tech1 --password-stdin``."""
    add_performer(db_url)
    with mock.patch("sys.stdin", io.StringIO(password + "\n")):
        yield ["--as", PERFORMER, "--password-stdin"]


@pytest.fixture
def order_doc():
    return copy.deepcopy(DEMO_ORDER)


@pytest.fixture
def scenario_doc():
    return copy.deepcopy(DEMO_SCENARIO)


@pytest.fixture
def write_json(tmp_path):
    def write(name: str, doc) -> str:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture(autouse=True)
def _no_inducer_latched_from_another_test():
    """The faulty-inducer latch lasts for the process; each test starts with none latched."""
    from drivers import inducer_latch

    inducer_latch.clear()
    yield
    inducer_latch.clear()


ROOT = Path(__file__).resolve().parents[1]


class Simulators:
    """Simulated instruments started as separate processes on pseudo-terminals (`sweattest simulate ...`)."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, device: str, *args: str) -> str:
        """Start ``sweattest simulate DEVICE ARGS``; returns the device path it prints first."""
        proc = subprocess.Popen([sys.executable, "-m", "sweattest", "simulate", device, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.procs.append(proc)
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/"), proc.stderr.read()
        return path

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def simulators():
    sims = Simulators()
    yield sims
    sims.stop()
