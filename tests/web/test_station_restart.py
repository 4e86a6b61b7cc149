"""A real `sweattest serve` stopped during a run, and started again on the same store and port: a clean stop
(SIGTERM) stands the run down (a stimulation stopped by the off sequence, collections left running in the
record, the lease released); a crash that kills both the server and its station's process (SIGKILL) leaves a
lease that the next start takes over at once (its process is gone). Either way the station brings the run
back to its screen by itself, says what happened and when, and
the run is finished through the bench's forms.

Training runs at 60 times real time until the stop (a 5-minute stimulation lasts 5 s, a 30-minute
collection 30 s), and at the same pace after the restart (600 times where no time is looked at).
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import threading

import httpx
import pytest

from sweattest.record.lease import TTL_ENV
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from tests.serving import Serve, add_users, confirm, end_all, free_port, live, logged_in, start_training_run

SPEED, AFTER, FAST = 60.0, 60.0, 600.0


#: Bound on each wait for the server (a busy machine), in steps of 50 ms.
ROUNDS = 2400


def _wait_for_screen(serve, client, run_id: str, name: str) -> dict:
    """The run's live data once its screen is ``name`` (asked every 50 ms, at most ROUNDS times)."""
    for _ in range(ROUNDS):
        data = live(client, run_id)
        if data["screen"] == name:
            return data
        serve.pause()
    raise AssertionError(f"the run's screen did not become {name!r}: {data['screen']!r}")


def _wait_for_timer(serve, client, run_id: str, site: str) -> dict:
    for _ in range(ROUNDS):
        data = live(client, run_id)
        if site in data["timers"]:
            return data
        serve.pause()
    raise AssertionError(f"no timer for {site}: {data}")


def _prompt(client, run_id: str) -> tuple[int, str] | None:
    html = client.get(f"/runs/{run_id}").text
    found = re.search(r'name="prompt" value="(\d+)"', html)
    return (int(found[1]), re.search(r'<h1>([^<]*)</h1>', html[html.index('id="prompt"'):])[1]) if found else None


def _events(db: str, run_id: str):
    store = open_store(db)
    try:
        return store.events(run_id), store.get_run(run_id)
    finally:
        store.close()


def _finish_through_the_forms(serve, client, token, run_id: str) -> None:
    """Confirm every prompt of the run (volumes from the training hint) until its result screen."""
    answered: set[int] = set()
    for _ in range(ROUNDS):
        data = live(client, run_id)
        if data["screen"] in ("result", "aborted"):
            return
        prompt = _prompt(client, run_id)
        if prompt is None or prompt[0] in answered:
            serve.pause()
            continue
        html = client.get(f"/runs/{run_id}").text
        shows = re.search(r"coil shows ([\d.]+)", html)
        confirm(client, token, run_id, prompt[0], **({"amount": shows[1]} if shows else {}),
                **({"grade": "none"} if "Check the skin" in prompt[1] else {}))
        answered.add(prompt[0])
    raise AssertionError("the run did not reach its result")


@pytest.fixture
def station(tmp_path):
    db = str(tmp_path / "runs.db")
    add_users(db)
    port = free_port()
    started: list[Serve] = []

    def start(speed: float = SPEED) -> Serve:
        # a killed station's lease runs out only after the test: it is taken over because its process is gone,
        # however slowly a busy machine starts the next one
        serve = Serve(db, port, speed=speed, env={TTL_ENV: "600"})
        started.append(serve)
        return serve

    yield db, start
    end_all(started)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stop_during_stimulation_ends_it_with_the_output_off_and_the_restart_resumes_the_run(station, sig):
    db, start = station
    first = start()
    client, token = logged_in(first.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(first, client, run_id, "stimulation")
    code = first.stop(sig) if sig == signal.SIGTERM else first.crash()
    events, row = _events(db, run_id)
    if sig == signal.SIGTERM:
        assert code == 0
        assert any("the station stopped; its unfinished runs resume" in line for line in first.lines)
        assert row["lease_owner"] is None  # released
        abort, stop = events[-2:]
        assert (abort.kind, abort.site, abort.data["code"]) == ("abort", "left_forearm", "station_stopped")
        assert abort.data["output_off_confirmed"] and abort.data["setpoint_zero_confirmed"]
        assert abort.data["reason"].startswith("the station was shut down during the stimulation; stimulation "
                                               "is never resumed")
        assert stop.kind == "station_stop" and stop.data["collecting"] == []
    else:  # killed: the inducer's watchdog ends the current; the restart runs the off sequence and records it
        assert events[-1].kind == "start_stimulation" and row["lease_owner"] is not None
    assert not [e for e in events if e.kind == "start_stimulation" and e.site == "right_forearm"]  # none started

    second = start(FAST)  # nothing timed is looked at after the restart
    second.wait_for_line(lambda line: f"run {run_id} was unfinished: outputs forced off, resumed" in line)
    client, token = logged_in(second.base)
    html = client.get(f"/runs/{run_id}").text
    notice = re.search(r'<p class="resumed" id="resumed" role="status">([^<]*)</p>', html)[1]
    how = "This station was shut down at" if sig == signal.SIGTERM else \
        "The program performing this run stopped unexpectedly after"
    assert re.match(rf"{how} \d\d:\d\d:\d\d and started again at \d\d:\d\d:\d\d: every output was confirmed "
                    r"off and the run goes on here\. Left forearm: its stimulation was stopped with the output off "
                    r"and is never resumed", notice)
    assert "STIMULATION STOPPED" in html  # the stopped site's alarm, to acknowledge
    _finish_through_the_forms(second, client, token, run_id)
    store = open_store(db)
    try:
        run, _ = load_run(store, run_id)
        assert [s.state for s in run.sites] == ["aborted", "result_ready"]
        assert store.get_run(run_id)["lease_owner"] is None
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stop_during_collection_keeps_its_time_and_the_restart_goes_on_with_it(station, sig):
    db, start = station
    first = start()
    client, token = logged_in(first.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(first, client, run_id, "apply_collector")
    prompt = _prompt(client, run_id)
    confirm(client, token, run_id, prompt[0])  # collector applied: the left forearm's collection runs
    _wait_for_screen(first, client, run_id, "check_skin")
    station_pid = first.station_pid
    first.stop(sig) if sig == signal.SIGTERM else first.crash()
    events, row = _events(db, run_id)
    [collection] = [e for e in events if e.kind == "start_collection"]
    if sig == signal.SIGTERM:
        assert row["lease_owner"] is None
        assert events[-1].kind == "station_stop" and events[-1].data["collecting"] == ["left_forearm"]
    else:  # killed: its lease stays, held by a process that no longer exists
        assert row["lease_owner"].startswith(f"{socket.gethostname()}:{station_pid}:")
    assert not [e for e in events if e.kind == "abort"]  # a collection is never aborted by a stop

    second = start(AFTER)  # at once: a killed process's lease is taken over without waiting for it to run out
    second.wait_for_line(lambda line: f"run {run_id} was unfinished: outputs forced off, resumed" in line)
    client, token = logged_in(second.base)
    data = _wait_for_timer(second, client, run_id, "left_forearm")
    events, _ = _events(db, run_id)
    [crash] = [e for e in events if e.kind == "crash"]
    assert crash.data["lease"] == ("free" if sig == signal.SIGTERM else
                                   f"taken over from {socket.gethostname()}:{station_pid}")
    # the collection's time ran on while no server ran (the run's procedure time went on across the stop, at
    # its pace; without it, none would), and what is left is counted from its recorded start
    last = [e for e in events if e.seq < crash.seq][-1]
    went_on = crash.t - crash.data["last_recorded_t"]
    assert went_on >= 0.5 * (crash.at - last.at).total_seconds() * AFTER > 0
    assert 0 < data["timers"]["left_forearm"]["remaining_s"] <= 1800 - (crash.t - collection.t) + 1
    html = client.get(f"/runs/{run_id}").text
    how = "This station was shut down at" if sig == signal.SIGTERM else \
        "The program performing this run stopped unexpectedly after"
    notice = re.search(r'<p class="resumed" id="resumed" role="status">([^<]*)</p>', html)[1]
    assert notice.startswith(how) and "Left forearm: collecting since" in notice
    assert "Check the skin" in _prompt(client, run_id)[1]  # the prompt that was waiting is asked again
    _finish_through_the_forms(second, client, token, run_id)
    store = open_store(db)
    try:
        run, _ = load_run(store, run_id)
        assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    finally:
        store.close()


def test_ctrl_c_twice_still_stands_the_run_down_with_the_output_off(station):
    """An impatient second Ctrl-C while the server waits for an open screen's stream to close makes uvicorn
    quit at once, without its shutdown hook: the bench is stood down all the same."""
    db, start = station
    first = start()
    client, token = logged_in(first.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(first, client, run_id, "stimulation")
    stream = httpx.Client(base_url=first.base, cookies=client.cookies, timeout=30)
    opened = threading.Event()

    def watch() -> None:  # a run screen's update stream, held open
        with contextlib.suppress(httpx.HTTPError), stream.stream("GET", f"/runs/{run_id}/events") as response:
            opened.set()
            for _ in response.iter_bytes():
                pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert opened.wait(30)
    first.proc.send_signal(signal.SIGINT)
    first.wait_for_line(lambda line: "Waiting for connections to close" in line)
    code = first.stop(signal.SIGINT)
    stream.close()
    events, row = _events(db, run_id)
    assert row["lease_owner"] is None, (code, first.lines[-10:])
    abort, stop = events[-2:]
    assert (abort.kind, abort.site, abort.data["code"]) == ("abort", "left_forearm", "station_stopped")
    assert abort.data["output_off_confirmed"]
    assert stop.kind == "station_stop"
