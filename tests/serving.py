"""Helpers for tests that stop a real `sweattest serve` process: start it on a store with one user per role,
start a training run through its bench screens over HTTP, read what it prints, stop it with a signal."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.web.conftest import PASSWORD, USERS, accounts_for_tests

ROOT = Path(__file__).resolve().parents[1]
#: The bench steps of a bilateral training run (the fields of each step's form).
STEPS = {"identify": {"mrn": "MRN0012345", "dob": "2025-06-01"}, "eligibility": {},
         "method": {"method": "macroduct", "site": ["left_forearm", "right_forearm"], "scenario": "normal"},
         "lot": {"lot": "PG1234", "expires": "2099-12-31"},
         "checklist": {"item": ["skin", "gel", "anode", "straps", "leads"]}}


def add_users(db: str) -> None:
    from sweattest.record.store.store import open_store

    store = open_store(db)
    try:
        accounts_for_tests(store)
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Serve:
    """`sweattest serve --simulate` in a process of its own; its output is read by a thread, line by line."""

    def __init__(self, db: str, port: int, *, speed: float = 300.0, env: dict[str, str] | None = None,
                 extra: tuple[str, ...] = ()):
        self.port = port
        self.db = db
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1") | (env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sweattest", "serve", "--simulate", "--speed", str(speed), "--port", str(port),
             "--db", db, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for_line(lambda line: "Uvicorn running on" in line)  # listening

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.lines.append("")  # the end of the output
            self._cond.notify_all()

    def wait_for_line(self, until, timeout_s: float = 60.0) -> str:
        """The first line of the output for which ``until(line)`` holds; waits on the process's output."""
        with self._cond:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if line and until(line):
                        return line
                    if line == "":
                        raise AssertionError("the server stopped:\n" + "".join(self.lines[-15:]))
                seen = len(self.lines)
                if not self._cond.wait(timeout=timeout_s):
                    raise AssertionError("the server did not print it:\n" + "".join(self.lines[-15:]))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=10)
        return code

    def pause(self, seconds: float = 0.05) -> None:
        """Wait on the server process a moment (it must not end meanwhile): paces a test that asks it again."""
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return
        raise AssertionError("the server stopped:\n" + "".join(self.lines[-15:]))

    @property
    def station_pid(self) -> int:
        """The bench station's process this server started or connected to (it prints it)."""
        line = self.wait_for_line(lambda text: "the bench station runs in process" in text)
        return int(re.search(r"in process (\d+)", line)[1])

    def crash(self) -> None:
        """Both processes of the station killed (a crash of the computer's programs): the server first, so it
        does not start the station again, then the station's own process."""
        pid = self.station_pid
        self.stop(signal.SIGKILL)
        _kill(pid)

    def kill(self) -> None:
        """The server, then its station's processes: the one it printed and the one holding the station's lock
        now (started again after the first was killed). ``end_all`` for the servers of one test."""
        end_all([self])

    def _kill_server(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _kill_stations(self) -> None:
        """Every bench station's process of this server's store: the ones it printed, one it started again, and one
        still starting when it was killed (each found by its command line)."""
        for pid in _station_processes(self.db):
            _kill(pid)


def _station_processes(db: str) -> list[int]:
    """The processes of ``python -m sweattest.bench.station`` for the store ``db``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # ended meanwhile
        if "sweattest.bench.station" in argv and any(db in arg for arg in argv):
            found.append(int(entry.name))
    return found


def end_all(servers: list[Serve]) -> None:
    """Every server killed first (none is left to start its station again), then their stations' processes: no
    process of a test outlives it."""
    for serve in servers:
        serve._kill_server()
    for serve in servers:
        serve._kill_stations()


def _kill(pid: int) -> None:
    """SIGKILL to process ``pid`` and wait until it is gone (a child of no process here: its /proc entry)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
            if fields[0] == "Z" and int(fields[17]) <= 1:  # a zombie whose every thread has ended (its files closed)
                return  # dead, waiting for its parent to read its status
        threading.Event().wait(0.05)  # the kernel ends it within moments


def logged_in(base: str, role: str = "tech") -> tuple[httpx.Client, str]:
    """An HTTP client logged in as the role's user, and its CSRF token."""
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": USERS[role][0], "password": PASSWORD, "csrf": token})
    assert r.status_code == 303, r.text
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/bench").text).group(1)
    return client, token


#: The second training order (Gibson-Cooke, weighed): the steps that differ.
SECOND = {"identify": {"mrn": "MRN0067890", "dob": "2019-03-14"},
          "method": {"method": "gibson_cooke", "site": ["left_forearm"], "scenario": "normal"}}


def start_training_run(client: httpx.Client, token: str, accession: str = "ST-2026-000123",
                       steps: dict | None = None) -> str:
    """A training run started through the bench's steps (``steps``: those that differ); its run id."""
    r = client.post("/bench/new", data={"csrf": token, "accession": accession})
    assert r.status_code == 303, r.text
    base = r.headers["location"].rsplit("/", 1)[0]
    for name, data in (STEPS | (steps or {})).items():
        r = client.post(f"{base}/{name}", data={"csrf": token, **data})
        assert r.status_code == 303, (name, r.text)
    return r.headers["location"].rsplit("/", 1)[1]


def live(client: httpx.Client, run_id: str) -> dict:
    return client.get(f"/runs/{run_id}/live").json()


def confirm(client: httpx.Client, token: str, run_id: str, prompt_id: int, **extra: str) -> None:
    r = client.post(f"/runs/{run_id}/confirm", data={"csrf": token, "prompt": str(prompt_id), **extra})
    assert r.status_code == 303, r.text
