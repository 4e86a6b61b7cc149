"""Two real processes and one run: `sweattest resume` leaves a run another live process performs alone (and
says so with exit status 1), and takes a run over at once when its process on this computer was killed
(DESIGN principle 12; a holder on another computer: tests/store/test_lease_holder.py).

The run is a real `sweattest run` process on a paced clock; the second process is `sweattest resume`.
"""

from __future__ import annotations

import re
import socket

from sweattest.cli.main import main
from sweattest.core.clock import RealClock
from sweattest.record.lease import TTL_ENV
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from tests.conftest import as_performer
from tests.crashing import read_until, start_run, stop_after

#: The demo run lasts about 12 s of wall time: resume is tried while the first site is stimulating.
LIVE_SPEED = 600
#: A fast run for the takeover (it is killed one minute into the first stimulation).
KILL_SPEED = 2400


def _resume(argv: list[str]) -> int:
    """`sweattest resume ARGV` as the tech who resumes, their password on stdin (ARGV names the --db)."""
    with as_performer(argv[argv.index("--db") + 1]) as who:
        return main(["resume", *argv, *who])


def _one_minute_into_left(line: str) -> bool:
    found = re.search(r"stimulating left_forearm\s+(\d\d):(\d\d) of", line)
    return found is not None and 60 <= int(found[1]) * 60 + int(found[2]) < 240


def test_resume_leaves_a_run_that_another_live_process_performs_alone(tmp_path, order_doc, scenario_doc,
                                                                      capsys):
    db = tmp_path / "runs.db"
    proc = start_run(tmp_path, order_doc, scenario_doc, db, LIVE_SPEED, "live")
    try:
        read_until(proc, _one_minute_into_left)
        store = open_store(str(db))
        [row] = store.list_runs()
        run_id = row["run_id"]
        events_before = len(store.events(run_id))
        store.close()
        assert _resume(["--db", str(db), "--out", str(tmp_path / "resumed")]) == 1
        assert _resume([run_id, "--db", str(db), "--out", str(tmp_path / "resumed")]) == 1
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    printed = capsys.readouterr()
    held = rf"run {run_id} is being performed by {re.escape(socket.gethostname())}:{proc.pid} " \
           rf"\(lease until \d\d:\d\d:\d\d UTC\); left alone: process {proc.pid} on this computer is still " \
           r"running it\. Finish the run on that process's screen, or stop that process \(Ctrl-C\) and resume$"
    assert re.search(rf"^sweattest: {held}", printed.out, re.M)
    assert re.search(rf"^sweattest: error: {held}", printed.err, re.M)
    assert "resuming" not in printed.out
    store = open_store(str(db))
    try:
        events = store.events(run_id)
        assert len(events) > events_before
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(e.accepted for e in events) and not [e for e in events if e.kind == "abort"]
        run, _ = load_run(store, run_id)
        assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
        assert store.get_run(run_id)["lease_owner"] is None  # released when the run was done
    finally:
        store.close()
    assert not (tmp_path / "resumed").exists()
    [hl7] = list(tmp_path.rglob("*.hl7"))
    assert hl7.parent == tmp_path / "out-live"
    [html] = list(tmp_path.rglob("*.html"))
    assert run_id in html.read_text(encoding="utf-8") and "Files written to" in out


def test_resume_takes_over_at_once_a_run_whose_process_was_killed(tmp_path, order_doc, scenario_doc, capsys):
    db = tmp_path / "runs.db"
    # a lease that runs out only after the test: taken over because its process is gone, however busy the machine
    proc = start_run(tmp_path, order_doc, scenario_doc, db, KILL_SPEED, "kill", env={TTL_ENV: "600"})
    stop_after(proc, lines=0, until=_one_minute_into_left)  # SIGKILL: no clean release
    store = open_store(str(db))
    [row] = store.list_runs()
    store.close()
    run_id = row["run_id"]
    assert row["lease_owner"].startswith(f"{socket.gethostname()}:{proc.pid}:")
    assert row["lease_until"] > RealClock().utcnow()  # the lease has not run out: the process is known gone

    assert _resume(["--db", str(db), "--out", str(tmp_path / "resumed")]) == 0
    assert f"resuming run {run_id}" in capsys.readouterr().out
    store = open_store(str(db))
    try:
        run, _ = load_run(store, run_id)
        left, right = run.sites
        assert left.state == "aborted" and "never resumed" in left.abort_reason
        assert right.state == "result_ready"
        [crash] = [e for e in store.events(run_id) if e.kind == "crash"]
        assert crash.data["lease"] == f"taken over from {socket.gethostname()}:{proc.pid}"
        assert store.get_run(run_id)["lease_owner"] is None
    finally:
        store.close()
    [hl7] = list(tmp_path.rglob("*.hl7"))
    assert hl7.parent == tmp_path / "resumed"


def test_resume_leaves_another_stations_runs_to_it_unless_named(tmp_path, order_doc, scenario_doc, capsys,
                                                                  monkeypatch):
    from sweattest.bench.order import parse_order
    from sweattest.bench.service import RunService
    from sweattest.bench.simulation.scenario import parse_scenario
    from sweattest.core.clock import VirtualClock

    db = tmp_path / "runs.db"
    order = parse_order(order_doc)
    monkeypatch.setenv("SWEATTEST_STATION", "bench-b")
    store = open_store(str(db))
    try:  # bench-b creates a run, then stops before performing it (its lease released)
        active = RunService(store).start(order, clock=VirtualClock(speed=None), ask_repeat=False,
                                         scenario=parse_scenario(scenario_doc, order.sites))
        active.bench.shutdown()
        active.runner.lease.release()
        run_id = active.run_id
        assert store.get_run(run_id)["station"] == "bench-b"
    finally:
        store.close()
    monkeypatch.setenv("SWEATTEST_STATION", "bench-a")
    assert _resume(["--db", str(db), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"run {run_id} is performed by station bench-b; left to it (give its run id to resume it here)" in out
    assert "no unfinished runs at this station" in out and not (tmp_path / "a").exists()
    assert _resume([run_id, "--db", str(db), "--out", str(tmp_path / "a")]) == 0  # named: taken here
    store = open_store(str(db))
    try:
        assert store.get_run(run_id)["station"] == "bench-a"
        run, _ = load_run(store, run_id)
        assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    finally:
        store.close()
