"""A bench station that stops answering (stalled or hung) and frames over the channel's limit
(``sweattest.bench.station.channel``): the screens alarm once the station has been silent for the bound, the
emergency stop ends with a clear error instead of waiting, the web server serves other requests meanwhile,
and the alarm clears when the station answers again; an oversized frame from a process holding the key drops
that connection only. The station's server runs in this process, its silence made by holding every send it
makes; the link's clock is virtual (the real processes and SIGSTOP: tests/web/test_station_process.py)."""

from __future__ import annotations

import contextlib
import html
import logging
import os
import shutil
import socket
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sweattest.bench.station import process
from sweattest.bench.station.channel import MAX_FRAME, SILENT_S, Channel, FrameRefused, StationAddress, admit
from sweattest.bench.station.manager import BenchManager
from sweattest.bench.station.process import HELD_EXIT, Station
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ProcedureError, SweatTestError
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from sweattest.web.screens import station_runs
from sweattest.web.station_link import ANSWER_S, StationLink
from tests.web.conftest import accounts_for_tests, csrf_of, log_in
from tests.web.test_bench_flow import start_run

#: Bound on each wait for the station or the link (steps of 10 ms).
ROUNDS = 2000


@pytest.fixture
def linked(tmp_path):
    clock = VirtualClock(speed=2000)
    store = open_store(str(tmp_path / "runs.db"), clock)
    accounts = accounts_for_tests(store)
    folder = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))  # a socket's path is short
    address = StationAddress.of("test", True, folder)
    station = Station(BenchManager(store, clock, simulate=True, pace=None), address)
    station.listen()
    wall = VirtualClock()  # the link's clock: moves only when the test says
    link = StationLink(address, told=lambda message: None, clock=wall).open(timeout_s=10)
    app = create_app(store, clock, accounts, simulate=True, pace=None, bench=link)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        log_in(client, "tech")
        yield client, csrf_of(client), station, link, wall
    link.close()
    station.wait()
    store.close()
    shutil.rmtree(folder)


def _wait(link: StationLink, until) -> None:
    for _ in range(ROUNDS):
        if until():
            return
        link._closing.wait(0.01)  # the station's threads and the link's watch work meanwhile
    raise AssertionError("it did not get there")


def _mute(station: Station) -> threading.Event:
    """The station says nothing more (every send it makes waits) until the event returned is set."""
    gate = threading.Event()
    for channel in list(station.clients):
        send = channel.send
        channel.send = lambda message, send=send: (gate.wait(), send(message))
    return gate


def _station_alarm(client, run_id: str) -> dict | None:
    return next((a for a in client.get(f"/runs/{run_id}/live").json()["alarms"] if a["id"] == "station"), None)


def test_a_silent_station_alarms_every_screen_after_the_bound_and_clears_when_it_answers(linked):
    client, token, station, link, wall = linked
    run_id = start_run(client, token).rsplit("/", 1)[1]
    _wait(link, lambda: link.session(run_id) is not None and link.session(run_id).active)
    gate = _mute(station)
    try:
        wall.advance(SILENT_S - 0.5)  # a beat late, within the bound: no alarm (a late message only delays it)
        for _ in range(5):
            link._closing.wait(0.1)  # five of the link's looks
        assert _station_alarm(client, run_id) is None and link.silent_since is None
        _wait(link, lambda: wall.advance(0.25) or link.silent_since is not None)
        alarm = _station_alarm(client, run_id)
        assert alarm["title"] == "BENCH STATION NOT ANSWERING"
        assert f"has not answered since {link.silent_since}" in alarm["text"]
        assert "press the inducer's stop key and remove the electrodes" in alarm["text"]
        assert "Do not start another station" in alarm["text"]
        page = client.get(f"/runs/{run_id}").text
        assert 'id="station-lost"' in page and "BENCH STATION NOT ANSWERING" in page
        [locked] = [r for r in station_runs(client.app.state.web) if r["run_id"] == run_id]  # the lock screen's
        assert locked["alarm"].startswith("BENCH STATION NOT ANSWERING: The bench station")
    finally:
        gate.set()  # the station answers again
    _wait(link, lambda: link.silent_since is None)
    _wait(link, lambda: _station_alarm(client, run_id) is None)
    assert 'id="station-lost"' not in client.get(f"/runs/{run_id}").text
    _wait(link, lambda: link.session(run_id).view.key() == station.manager.session(run_id).view.key())


def test_an_emergency_stop_waiting_on_a_station_that_goes_silent_ends_with_a_clear_error_and_blocks_nothing(linked):
    client, token, station, link, wall = linked
    run_id = start_run(client, token).rsplit("/", 1)[1]
    _wait(link, lambda: link.session(run_id) is not None and link.session(run_id).active)
    gate = _mute(station)
    pages: list[str] = []
    stopping = threading.Thread(target=lambda: pages.append(
        client.post(f"/runs/{run_id}/stop", data={"csrf": token}).text), daemon=True)
    try:
        stopping.start()
        _wait(link, lambda: link._replies)  # the stop is sent and waits for its reply
        assert client.get(f"/runs/{run_id}/live").status_code == 200  # the web server answers meanwhile
        assert client.get("/bench").status_code == 200
        assert not pages
        _wait(link, lambda: wall.advance(0.25) or link.silent_since is not None)
        stopping.join(5)
        assert not stopping.is_alive(), "the emergency stop still waits on a silent station"
        said = html.unescape(pages[0])
        assert "EMERGENCY STOP NOT CONFIRMED" in said and "Press the inducer's stop key" in said
        # asked again while the station is silent: refused at once, said so
        page = html.unescape(client.post(f"/runs/{run_id}/stop", data={"csrf": token}).text)
        assert "EMERGENCY STOP NOT SENT" in page and f"has not answered since {link.silent_since}" in page
    finally:
        gate.set()
    _wait(link, lambda: link.silent_since is None and _station_alarm(client, run_id) is None)


def test_an_emergency_stop_a_station_does_not_carry_out_while_it_beats_ends_after_the_short_bound(linked,
                                                                                                monkeypatch):
    """A station hung in its work (its heartbeat goes on): the emergency stop says it was not confirmed after
    ANSWER_S, not after the minute a start may take."""
    client, token, station, link, wall = linked
    link.silent_s = 60.0  # the virtual clock jumps past the bound of silence between two beats: not this test's
    run_id = start_run(client, token).rsplit("/", 1)[1]
    _wait(link, lambda: link.session(run_id) is not None and link.session(run_id).active)
    hung = threading.Event()
    handle = station.handle
    monkeypatch.setattr(station, "handle", lambda op, args: hung.wait() if op == "stop" else handle(op, args))
    pages: list[str] = []
    stopping = threading.Thread(target=lambda: pages.append(
        client.post(f"/runs/{run_id}/stop", data={"csrf": token}).text), daemon=True)
    try:
        stopping.start()
        _wait(link, lambda: link._replies)
        wall.advance(ANSWER_S - 0.5)  # not yet the bound, whenever the request began to count
        for _ in range(5):
            link._closing.wait(0.05)  # five of the request's looks at the clock
        assert stopping.is_alive() and not pages
        _wait(link, lambda: wall.advance(0.25) or not stopping.is_alive())
        said = html.unescape(pages[0])
        assert f"EMERGENCY STOP NOT CONFIRMED: the bench station did not confirm it within {ANSWER_S:g} s" in said
        assert "Press the inducer's stop key" in said
        assert link.silent_since is None  # it beats: no alarm of silence
    finally:
        hung.set()


def test_a_request_to_a_silent_station_is_refused_at_once(linked):
    client, token, station, link, wall = linked
    gate = _mute(station)
    try:
        _wait(link, lambda: wall.advance(0.25) or link.silent_since is not None)
        with pytest.raises(ProcedureError, match="Not done: the bench station has not answered since"):
            link.request("acknowledged", run_id="nothing")
    finally:
        gate.set()
    _wait(link, lambda: link.silent_since is None)


def _client(address: StationAddress) -> Connection:
    """A connection to the station that passed the key's challenge (a process holding the key)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(address.socket))
    channel = admit(Connection(sock.detach()), address.key(), server=False)
    assert channel.receive()["push"] == "hello"
    return channel.conn


def test_a_frame_over_the_limit_drops_that_connection_only_and_the_station_serves_on(linked, caplog):
    client, token, station, link, wall = linked
    address = station.address
    rogue = _client(address)
    caplog.set_level(logging.ERROR)
    try:
        with contextlib.suppress(OSError):  # the station stops reading after the frame's length
            rogue.send_bytes(b"{" + b" " * MAX_FRAME + b"}")
        _wait(link, lambda: "over the channel's limit" in caplog.text)
        with pytest.raises((EOFError, OSError)):
            while True:  # the station's pushes until it dropped the connection
                rogue.recv_bytes()
    finally:
        rogue.close()
    assert "the connection is dropped" in caplog.text
    run_id = start_run(client, token).rsplit("/", 1)[1]  # the web server's connection is served as before
    _wait(link, lambda: link.session(run_id) is not None and link.session(run_id).active)
    assert link.silent_since is None and link.lost is None


def test_a_frame_that_is_not_a_request_drops_that_connection_only(linked, caplog):
    client, token, station, link, wall = linked
    caplog.set_level(logging.ERROR)
    for junk in (b"not json", b"[1, 2]", b'{"op": "stop"}'):
        rogue = _client(station.address)
        try:
            rogue.send_bytes(junk)
            with pytest.raises((EOFError, OSError)):
                while True:
                    rogue.recv_bytes()
        finally:
            rogue.close()
    assert "not a request was refused" in caplog.text and "not a JSON object was refused" in caplog.text
    with pytest.raises(SweatTestError, match="not running at this station"):  # the station answers the web server
        link.request("acknowledged", run_id="x")


def test_a_message_over_the_limit_is_not_sent_and_the_request_says_so(linked):
    client, token, station, link, wall = linked
    with pytest.raises(ProcedureError, match="was not asked: a message of .* over the channel's limit"):
        link.request("silence", run_id="x", alarm="a", text="x" * MAX_FRAME)
    assert link.silent_since is None and link.lost is None  # the connection stays


def test_a_second_station_process_refuses_to_start_beside_one_that_exists(tmp_path, monkeypatch, caplog):
    """A stalled station still holds its lock: a second one ends without touching the instruments or the runs,
    and the web server neither starts one nor waits for ever; it says which process to deal with."""
    folder = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))
    address = StationAddress.of(str(tmp_path / "runs.db"), True, folder)
    monkeypatch.setattr(process.StationAddress, "of", classmethod(lambda cls, url, simulate, config=None: address))
    held = address.hold()
    try:
        assert held is not None and address.holder() is not None
        caplog.set_level(logging.ERROR)
        assert process.main(["--db", str(tmp_path / "runs.db"), "--simulate"]) == HELD_EXIT
        assert "another process of this station" in caplog.text
        assert not (tmp_path / "runs.db").exists()  # the store was not even opened
        spawned: list[int] = []
        link = StationLink(address, spawn=lambda: spawned.append(1), told=lambda message: None)
        with pytest.raises(ProcedureError, match="exists but did not answer .* no second station is started"):
            link.open(timeout_s=0.3)
        link._start_process()  # as its reconnection would after a drop
        assert not spawned
        link.detach()
    finally:
        if held is not None:
            os.close(held)
        shutil.rmtree(folder)
    assert address.holder() is None


def test_a_frame_over_the_limit_from_the_station_is_refused_unread_by_the_web_servers_end(caplog):
    """Both ends bound the frames they read: a station's end gone wrong cannot make the web server allocate it."""
    ours, theirs = socket.socketpair()
    web_end, station_end = Channel(Connection(ours.detach())), Connection(theirs.detach())
    caplog.set_level(logging.ERROR)
    sending = threading.Thread(target=_send_big, args=(station_end,), daemon=True)
    sending.start()
    try:
        with pytest.raises(FrameRefused, match="over the channel's limit"):
            web_end.receive()
        assert "the connection is dropped" in caplog.text
        assert web_end.conn.closed
    finally:
        sending.join(5)
        station_end.close()


def _send_big(conn: Connection) -> None:
    with contextlib.suppress(OSError):  # the reader stops after the frame's length and closes
        conn.send_bytes(b"x" * (MAX_FRAME + 1))
