"""Helpers for tests that stop a real `sweattest run` process: start it, kill it after N lines of output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import PERFORMER_PASSWORD, add_performer

ROOT = Path(__file__).resolve().parents[1]


def start_run(tmp: Path, order: dict, scenario: dict, db: Path, speed: float, tag: str,
              env: dict[str, str] | None = None) -> subprocess.Popen:
    (tmp / f"order-{tag}.json").write_text(json.dumps(order))
    (tmp / f"scenario-{tag}.json").write_text(json.dumps(scenario))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1") | (env or {})
    add_performer(str(db))
    password, writer = os.pipe()  # the performer's password on the run's stdin (--password-stdin)
    os.write(writer, (PERFORMER_PASSWORD + "\n").encode())
    os.close(writer)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sweattest", "run", "--order", str(tmp / f"order-{tag}.json"), "--simulate",
         str(tmp / f"scenario-{tag}.json"), "--speed", str(speed), "--db", str(db), "--out", str(tmp / f"out-{tag}"),
         "--password-stdin"],
        stdin=password, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    os.close(password)
    return proc


def read_until(proc: subprocess.Popen, until) -> list[str]:
    """Read the run's output up to the line for which ``until(line)`` holds. Reading blocks on the process
    itself: no sleeping on wall time."""
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if until(line):
            return seen
    raise AssertionError("the run ended before the moment looked for:\n" + "".join(seen[-5:]))


def stop_after(proc: subprocess.Popen, lines: int, sig: int = signal.SIGKILL, until=None) -> list[str]:
    """Read ``lines`` lines of the run's output (or up to the line for which ``until(line)`` holds), then
    send ``sig``."""
    if until is None:
        counted: list[str] = []
        until = lambda line: counted.append(line) or len(counted) >= lines  # noqa: E731
    seen = read_until(proc, until)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    return seen


def leases_run_out(db: Path) -> None:
    """Let the leases of killed processes run out, as their time to live does (without waiting for it)."""
    from datetime import UTC, datetime

    from sweattest.record.store import schema
    from sweattest.record.store.store import open_store

    store = open_store(str(db))
    try:
        with store.writing() as conn:
            conn.execute(schema.runs.update().where(schema.runs.c.lease_owner.is_not(None))
                         .values(lease_until=datetime(2000, 1, 1, tzinfo=UTC)))
    finally:
        store.close()


def snapshot(store, run_id: str) -> tuple[list, list]:
    events = [(e.seq, e.kind, e.site, e.at, e.data, e.accepted) for e in store.events(run_id)]
    readings = [(r["site"], r["kind"], r["t"], r["data"]) for r in store.readings(run_id)]
    return events, readings
