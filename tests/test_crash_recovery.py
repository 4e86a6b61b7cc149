"""A power cut mid-run never loses a reading or leaves current flowing (DESIGN principle 6, issue 5).

A real `sweattest run` process on a sped-up clock is killed with SIGKILL at random moments; `sweattest
resume` then brings the run back: outputs forced off, a site caught stimulating aborted with the reason,
collections resumed from their recorded start. Every recorded event and reading survives unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import random
import re
import signal
import sqlite3

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.cli.main import main
from sweattest.core.clock import RealClock
from sweattest.record.runs import load_run, record_event
from sweattest.record.store.store import open_store
from tests.conftest import PERFORMER, as_performer
from tests.crashing import leases_run_out, snapshot, start_run, stop_after

#: The lines of a run's output (the demo's order) between which each trial kills it, one trial per phase: before
#: the run is recorded (the log-in warnings), recorded and checked, the left site stimulating, the right
#: stimulating while the left collects, both collecting. The many-kill trials are benchmarks/crash_recovery.py.
PHASES = ((1, 2), (3, 7), (9, 19), (24, 34), (38, 44))


def _one_minute_into_left(line: str) -> bool:
    """A live line of the left site's stimulation at least 50 s in (the line shows 'MM:SS of 05:00')."""
    found = re.search(r"stimulating left_forearm\s+(\d\d):(\d\d) of", line)
    return found is not None and 50 <= int(found[1]) * 60 + int(found[2]) < 240
SPEED = 2400  # a 40-minute bilateral run sleeps about one second of wall time


def _resume_and_finish(db, tmp, trial):
    leases_run_out(db)  # the killed process's lease has run out (its time to live passed)
    before = {}
    store = open_store(str(db))
    try:
        for row in store.list_runs():
            before[row["run_id"]] = snapshot(store, row["run_id"])
    finally:
        store.close()
    with as_performer(str(db)) as who:  # the tech who resumes: recorded as such
        assert main(["resume", "--db", str(db), "--out", str(tmp / f"resumed-{trial}"), *who]) == 0
    store = open_store(str(db))
    try:
        for run_id, (events, readings) in before.items():
            after_events, after_readings = snapshot(store, run_id)
            assert after_events[: len(events)] == events, "a recorded event changed or vanished"
            assert after_readings[: len(readings)] == readings, "a recorded reading changed or vanished"
            # the stop is recorded first, then any site caught stimulating aborted, then the resume
            kinds = [e[1] for e in after_events[len(events):]]
            assert kinds[0] == "crash" and kinds[1:kinds.index("resume")] in ([], ["abort"])
            run, _ = load_run(store, run_id)
            assert [r.by for r in run.resumptions] == [PERFORMER]
            assert run.state in {"result_ready", "aborted"}, run.state
            for site in run.sites:
                assert site.state in {"result_ready", "aborted"}
                if site.state == "aborted":
                    assert site.abort_reason
            if run.state == "result_ready":
                run = record_event(store, RealClock(), run_id, "review", data={"reviewer": "rev1"}, actor="rev1")
                run = record_event(store, RealClock(), run_id, "report", actor="rev1")
            assert run.state in {"reported", "aborted"}
        return before
    finally:
        store.close()


def _interrupted_stimulations(db) -> int:
    store = open_store(str(db))
    try:
        return sum(1 for row in store.list_runs() for e in store.events(row["run_id"])
                   if e.kind == "abort" and e.data.get("code") == "interrupted_stimulation")
    finally:
        store.close()


def test_sigkill_at_random_moments_then_resume(tmp_path, order_doc, scenario_doc):
    rng = random.Random(20261124)
    killed_in_stimulation = 0
    for trial, (first, last) in enumerate(PHASES):
        db = tmp_path / f"runs-{trial}.db"
        proc = start_run(tmp_path, order_doc, scenario_doc, db, SPEED, str(trial))
        stop_after(proc, lines=rng.randint(first, last))
        _resume_and_finish(db, tmp_path, trial)
        killed_in_stimulation += _interrupted_stimulations(db)
    assert killed_in_stimulation >= 1  # the moments include the dangerous phase: a site stimulating


def test_a_run_killed_during_stimulation_aborts_that_site_and_finishes_the_other(tmp_path, order_doc,
                                                                                 scenario_doc):
    db = tmp_path / "runs.db"
    proc = start_run(tmp_path, order_doc, scenario_doc, db, SPEED, "stim")
    stop_after(proc, lines=0, until=_one_minute_into_left)
    _resume_and_finish(db, tmp_path, "stim")
    store = open_store(str(db))
    try:
        [row] = store.list_runs()
        run, _ = load_run(store, row["run_id"])
        left, right = run.sites
        assert left.state == "aborted" and "never resumed" in left.abort_reason
        assert 0 < left.charge.to("mA*min").magnitude < 7.0  # the charge delivered before the crash
        assert right.state == "reported"
        samples = store.readings(row["run_id"], site="left_forearm", kind="stimulation_sample")
        assert samples and left.charge.magnitude == samples[-1]["data"]["charge_ma_min"]
    finally:
        store.close()


@pytest.fixture(scope="module")
def killed_collecting(tmp_path_factory):
    """The store of a run killed (SIGKILL) as its second site starts collecting, once for the module; tests take
    a copy of it (``killed_collecting_copy``)."""
    folder = tmp_path_factory.mktemp("killed-collecting")
    db = folder / "runs.db"
    proc = start_run(folder, copy.deepcopy(DEMO_ORDER), copy.deepcopy(DEMO_SCENARIO), db, SPEED, "coll")
    stop_after(proc, lines=0, until=lambda line: "start_collection" in line and "right_forearm" in line)
    return db


@pytest.fixture
def killed_collecting_copy(killed_collecting, tmp_path):
    """A copy of ``killed_collecting`` in ``tmp_path`` (through SQLite's backup: with what its log holds)."""
    db = tmp_path / "runs.db"
    with contextlib.closing(sqlite3.connect(killed_collecting)) as source, \
            contextlib.closing(sqlite3.connect(db)) as target:
        source.backup(target)
    return db


def test_a_run_killed_during_collection_resumes_the_remaining_time(tmp_path, killed_collecting_copy):
    db = killed_collecting_copy
    _resume_and_finish(db, tmp_path, "coll")
    store = open_store(str(db))
    try:
        [row] = store.list_runs()
        run, _ = load_run(store, row["run_id"])
        for site in run.sites:
            assert site.state == "reported"
            minutes = site.collection_time.to("min").magnitude
            assert 30.0 <= minutes < 30.5  # the full collection time, counted from the recorded start
    finally:
        store.close()


def test_collection_past_its_maximum_during_an_outage_is_flagged(tmp_path, killed_collecting_copy):
    from datetime import timedelta

    from sweattest.bench.service import RunService
    from sweattest.core.clock import VirtualClock

    db = killed_collecting_copy
    leases_run_out(db)
    store = open_store(str(db))
    try:
        [row] = store.list_runs()
        service = RunService(store)
        late = VirtualClock(start=service.last_recorded(row["run_id"]) + timedelta(hours=2))
        active = service.resume(row["run_id"], clock=late)
        result = service.finish(active, active.perform(), tmp_path / "late-out")
        for site in result.run.sites:
            assert site.collection_time.to("min").magnitude > 60
            assert "collection_too_long" in {f.code for f in site.adequacy.findings}
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_during_stimulation_switches_off_and_records_why(tmp_path, order_doc, scenario_doc,
                                                                           sig):
    db = tmp_path / "runs.db"
    proc = start_run(tmp_path, order_doc, scenario_doc, db, SPEED, "term")
    stop_after(proc, lines=0, sig=sig, until=_one_minute_into_left)
    assert proc.returncode == 130
    assert "interrupted" in proc.stderr.read()
    store = open_store(str(db))
    try:
        [row] = store.list_runs()
        aborts = [e for e in store.events(row["run_id"]) if e.kind == "abort"]
        assert [(e.site, e.data["code"]) for e in aborts] == [("left_forearm", "interrupted")]
        assert aborts[0].data["output_off_confirmed"] is True
        assert row["lease_owner"] is None  # stopped cleanly: the run is free to resume at once
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_run_stopped_during_collection_is_resumed_at_once_with_its_time(tmp_path, order_doc, scenario_doc, sig):
    db = tmp_path / "runs.db"
    # stopped once both collections run: no stimulation is near (the right forearm's follows the left's collection
    # start within a fraction of a second at SPEED), and the left's 25 remaining minutes last 2.5 s at this pace
    proc = start_run(tmp_path, order_doc, scenario_doc, db, SPEED / 4, "stop")
    stop_after(proc, lines=0, sig=sig, until=lambda line: "start_collection" in line and "right_forearm" in line)
    store = open_store(str(db))
    try:
        [row] = store.list_runs()
        events = store.events(row["run_id"])
        if sig == signal.SIGTERM:
            assert proc.returncode == 130 and row["lease_owner"] is None  # released
            assert events[-1].kind == "station_stop"
            assert events[-1].data["collecting"] == ["left_forearm", "right_forearm"]
        else:
            assert row["lease_owner"] is not None  # held by a process that no longer exists
        assert not [e for e in events if e.kind == "abort"]
    finally:
        store.close()
    with as_performer(str(db)) as who:
        assert main(["resume", "--db", str(db), "--out", str(tmp_path / "resumed"), *who]) == 0  # at once
    store = open_store(str(db))
    try:
        run, _ = load_run(store, row["run_id"])
        for site in run.sites:
            assert site.state == "result_ready"
            assert 30.0 <= site.collection_time.to("min").magnitude < 30.5  # from the recorded start
    finally:
        store.close()
