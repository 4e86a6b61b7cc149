"""The bench UI at start-up finds runs a crash left unfinished and brings them back under control."""

from __future__ import annotations

from sweattest.core.clock import VirtualClock
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.crashing import leases_run_out, read_until, start_run, stop_after
from tests.web.conftest import accounts_for_tests


def _left_one_minute_in(line: str) -> bool:
    return "stimulating left_forearm" in line and " 01:" in line


def test_start_up_resumes_a_run_killed_during_stimulation(tmp_path, order_doc, scenario_doc):
    db = tmp_path / "runs.db"
    stop_after(start_run(tmp_path, order_doc, scenario_doc, db, 2400, "web"), lines=0, until=_left_one_minute_in)
    leases_run_out(db)
    clock = VirtualClock(speed=None)
    store = open_store(str(db), clock)
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=None)
    try:
        [run_id] = [r["run_id"] for r in store.list_runs()]
        assert app.state.web.bench.resume_unfinished() == [run_id]
        session = app.state.web.bench.session(run_id)
        assert session is not None
        run, _ = load_run(store, run_id)
        left = run.site("left_forearm")
        assert left.state == "aborted" and "never resumed" in left.abort_reason
        assert app.state.web.bench.resume_unfinished() == []  # running here now: not picked up twice
    finally:
        app.state.web.bench.close()
        store.close()


def test_start_up_leaves_a_run_that_another_live_process_performs_alone(tmp_path, order_doc, scenario_doc):
    db = tmp_path / "runs.db"
    proc = start_run(tmp_path, order_doc, scenario_doc, db, 600, "live")
    store = None
    try:
        read_until(proc, _left_one_minute_in)
        store = open_store(str(db))  # the store's clock is the wall clock, as in `sweattest serve`
        app = create_app(store, VirtualClock(speed=None), accounts_for_tests(store), simulate=True, pace=None)
        [run_id] = [r["run_id"] for r in store.list_runs()]
        told: list[str] = []
        assert app.state.web.bench.resume_unfinished(told.append) == []
        assert app.state.web.bench.session(run_id) is None
        assert len(told) == 1 and told[0].startswith(f"run {run_id} is being performed by ")
        assert told[0].endswith(f"left alone: process {proc.pid} on this computer is still running it. Finish the "
                                "run on that process's screen, or stop that process (Ctrl-C) and resume")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        run, _ = load_run(store, run_id)
        assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if store is not None:
            store.close()
