"""The bench station's own process (``sweattest.bench.station``) and the web server that talks to it, as real
processes with real signals. The web server killed during a stimulation: the station completes the stimulation
by its method and writes every reading; a web server started again connects to the same station and shows the
run where it is. The station's process killed on its own: every screen of the run says so at once, the web
server starts the station again, whose start switches the outputs off, aborts the site caught stimulating and
resumes the run on its screen.

Training runs at 120 times real time (a 5-minute stimulation lasts 2.5 s)."""

from __future__ import annotations

import html
import os
import re
import signal
import stat

import pytest

from sweattest.bench.station.channel import SILENT_S, StationAddress
from sweattest.core.clock import RealClock
from sweattest.record.lease import TTL_ENV
from sweattest.record.store.store import open_store, resolve_url
from tests.serving import Serve, _kill, add_users, end_all, free_port, live, logged_in, start_training_run
from tests.web.test_station_restart import ROUNDS, _wait_for_screen

SPEED = 120.0


@pytest.fixture
def station(tmp_path):
    db = str(tmp_path / "runs.db")
    add_users(db)
    port = free_port()
    started: list[Serve] = []

    def start() -> Serve:
        serve = Serve(db, port, speed=SPEED, env={TTL_ENV: "600"})  # a killed station is taken over, never run out
        started.append(serve)
        return serve

    yield db, start
    end_all(started)
    assert StationAddress.of(resolve_url(db), True).holder() is None  # no station's process outlives its test


def _stored(db: str, run_id: str):
    store = open_store(db)
    try:
        return store.events(run_id), store.readings(run_id, site="left_forearm", kind="stimulation_sample")
    finally:
        store.close()


def test_the_web_server_killed_during_stimulation_leaves_it_to_end_by_its_method_and_its_restart_shows_the_run(
        station):
    db, start = station
    first = start()
    pid = first.station_pid
    socket = StationAddress.of(resolve_url(db), True).socket
    assert stat.S_IMODE(os.stat(socket).st_mode) == 0o600  # only this user's processes may talk to the station
    client, token = logged_in(first.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(first, client, run_id, "stimulation")
    first.stop(signal.SIGKILL)
    os.kill(pid, 0)  # the station's process goes on without the web server
    second = start()
    assert second.station_pid == pid  # connected to the running station: no second one, nothing resumed
    client, token = logged_in(second.base)
    _wait_for_screen(second, client, run_id, "apply_collector")  # the stimulation ended by its method
    html = client.get(f"/runs/{run_id}").text
    assert "not running at this station" not in html and 'name="prompt"' in html
    events, readings = _stored(db, run_id)
    [finish] = [e for e in events if e.kind == "finish_stimulation" and e.site == "left_forearm"]
    assert finish.data["output_off_confirmed"] and finish.data["setpoint_zero_confirmed"]
    assert len(readings) == finish.data["samples"] >= 50  # every reading of the loop written
    assert not [e for e in events if e.kind in ("crash", "abort", "station_stop")]


def test_the_station_process_killed_on_its_own_alarms_the_screen_and_its_restart_turns_the_output_off(station):
    db, start = station
    serve = start()
    pid = serve.station_pid
    client, token = logged_in(serve.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(serve, client, run_id, "stimulation")
    _kill(pid)
    for _ in range(ROUNDS):  # every screen of the run says so before the station is back
        data = live(client, run_id)
        if any(a["id"] == "station" for a in data["alarms"]) or "resumed" in client.get(f"/runs/{run_id}").text:
            break
        serve.pause()
    seen = [a["text"] for a in data["alarms"] if a["id"] == "station"]
    assert seen and "inducer's own watchdog" in seen[0]
    page = client.get(f"/runs/{run_id}").text
    assert 'id="station-lost"' in page or 'id="resumed"' in page  # the alarm card sounds until the station is back
    serve.wait_for_line(lambda line: "the bench station's process ended (status -9): started again" in line)
    for _ in range(ROUNDS):
        html = client.get(f"/runs/{run_id}").text
        if 'id="resumed"' in html:
            break
        serve.pause()
    notice = re.search(r'<p class="resumed" id="resumed" role="status">([^<]*)</p>', html)[1]
    assert "The program performing this run stopped unexpectedly" in notice
    assert "Left forearm: its stimulation was stopped with the output off and is never resumed" in notice
    assert "STIMULATION STOPPED" in html  # the stopped site's alarm, to acknowledge
    assert serve.station_pid == pid  # the first line printed; the new station is another process
    events, _ = _stored(db, run_id)
    [crash] = [e for e in events if e.kind == "crash"]
    assert crash.data["lease"].startswith("taken over from") and str(pid) in crash.data["lease"]
    [abort] = [e for e in events if e.kind == "abort" and e.site == "left_forearm"]
    assert abort.data["code"] == "interrupted_stimulation" and abort.data["output_off_confirmed"]


def test_a_stalled_station_alarms_the_screen_refuses_the_emergency_stop_at_once_and_clears_when_it_goes_on(station):
    """SIGSTOP of the station's process during a stimulation: within the silence bound every screen of the run
    alarms that the station does not answer and what to do; the emergency stop ends at once with a clear error;
    the web server serves meanwhile and starts no second station; SIGCONT clears the alarm."""
    db, start = station
    serve = start()
    pid = serve.station_pid
    client, token = logged_in(serve.base)
    run_id = start_training_run(client, token)
    _wait_for_screen(serve, client, run_id, "stimulation")
    wall = RealClock()  # measures how long the screens take to say so; nothing here waits on it
    os.kill(pid, signal.SIGSTOP)
    try:
        stalled = wall.monotonic()
        for _ in range(ROUNDS):
            alarm = next((a for a in live(client, run_id)["alarms"] if a["id"] == "station"), None)
            if alarm is not None:
                break
            serve.pause()
        took = wall.monotonic() - stalled
        assert alarm is not None and alarm["title"] == "BENCH STATION NOT ANSWERING"
        assert SILENT_S - 1.0 <= took <= SILENT_S + 3.0, took  # a beat is sent every 0.5 s; looks may come late
        assert "stalled or hung" in alarm["text"] and "press the inducer's stop key" in alarm["text"]
        began = wall.monotonic()
        page = html.unescape(client.post(f"/runs/{run_id}/stop", data={"csrf": token}, follow_redirects=True).text)
        assert wall.monotonic() - began < 2.0  # not the minute a reply was once waited for
        assert "EMERGENCY STOP NOT SENT: the bench station has not answered since" in page
        assert "BENCH STATION NOT ANSWERING" in page and 'id="station-lost"' in page
        assert StationAddress.of(resolve_url(db), True).holder() == pid  # the stalled one still holds the station
        assert not [line for line in serve.lines if "started again" in line]  # and none was started beside it
    finally:
        os.kill(pid, signal.SIGCONT)
    for _ in range(ROUNDS):
        data = live(client, run_id)
        if not any(a["id"] == "station" for a in data["alarms"]):
            break
        serve.pause()
    assert not any(a["id"] == "station" for a in data["alarms"])
    assert 'id="station-lost"' not in client.get(f"/runs/{run_id}").text
    serve.wait_for_line(lambda line: "the bench station answers again" in line)
    assert serve.station_pid == pid
    os.kill(pid, 0)  # the same process goes on
