"""The web app over the bench station's control channel (``sweattest.bench.station``): the same screens, the
tech's confirmations and the emergency stop passed to the station, its runs' read models mirrored; a process
without the station's key is refused. The station's server runs in this process here, on a virtual clock (the
real processes and signals: tests/web/test_station_process.py)."""

from __future__ import annotations

import re
import shutil
import socket
import stat
import tempfile
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sweattest.bench.station.channel import StationAddress
from sweattest.bench.station.manager import BenchManager
from sweattest.bench.station.process import Station
from sweattest.bench.station.session import BenchSession
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ProcedureError
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from sweattest.web.station_link import StationLink
from tests.web.conftest import accounts_for_tests, csrf_of, log_in
from tests.web.test_bench_flow import start_run

#: Bound on each wait for the station (steps of 10 ms).
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
    link = StationLink(address, told=lambda message: None).open(timeout_s=10)
    app = create_app(store, clock, accounts, simulate=True, pace=None, bench=link)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        log_in(client, "tech")
        yield client, csrf_of(client), station, link, address
    link.close()
    station.wait()
    store.close()
    shutil.rmtree(folder)


def _prompt(client, run_id: str, after: int = 0) -> tuple[int, str] | None:
    html = client.get(f"/runs/{run_id}").text
    found = re.search(r'name="prompt" value="(\d+)"', html)
    if found is None or int(found[1]) <= after:
        return None
    hint = re.search(r"coil shows ([\d.]+)", html)
    return int(found[1]), html if hint is None else hint[1]


def _wait(link: StationLink, until) -> None:
    for _ in range(ROUNDS):
        if until():
            return
        link._closing.wait(0.01)  # the station's runner threads work meanwhile
    raise AssertionError("the station did not get there")


def test_a_run_is_performed_by_the_station_through_the_screens_and_its_live_data_is_the_stations(linked):
    client, token, station, link, _ = linked
    run_id = start_run(client, token).rsplit("/", 1)[1]
    assert link.session(run_id) is not None and station.manager.session(run_id) is not None
    answered = 0
    for _ in range(40):
        _wait(link, lambda seen=answered: _prompt(client, run_id, seen) or not link.session(run_id).active)
        prompt = _prompt(client, run_id, answered)
        if prompt is None:
            break
        answered, shown = prompt
        extra = {"amount": shown} if re.fullmatch(r"[\d.]+", shown) else {}
        if "Save the skin check" in shown:
            extra = {"grade": "none"}
        r = client.post(f"/runs/{run_id}/confirm", data={"csrf": token, "prompt": str(answered), **extra},
                        follow_redirects=False)
        assert r.status_code == 303 and "flash" not in r.headers.get("location", "")
    run, _ = load_run(station.manager.store, run_id)
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    _wait(link, lambda: link.session(run_id).view.key() == station.manager.session(run_id).view.key())
    mirrored = client.get(f"/runs/{run_id}/live").json()
    held = station.manager.session(run_id).view.snapshot()
    for part in ("key", "screen", "sites", "alarms", "timers", "trace"):
        assert mirrored[part] == (held[part] if part != "trace" else {s: [list(p) for p in pts]
                                                                      for s, pts in held[part].items()})


def test_a_stale_confirmation_is_refused_by_the_station_with_its_reason(linked):
    client, token, station, link, _ = linked
    run_id = start_run(client, token).rsplit("/", 1)[1]
    _wait(link, lambda: _prompt(client, run_id) is not None)
    prompt_id = _prompt(client, run_id)[0]
    r = client.post(f"/runs/{run_id}/confirm", data={"csrf": token, "prompt": str(prompt_id + 5)})
    assert "this step was already confirmed" in r.text
    assert station.manager.session(run_id).operator.prompt.id == prompt_id  # still waiting for the tech


def test_the_channel_is_this_users_only_and_refuses_a_process_without_the_key(linked):
    *_, address = linked
    assert stat.S_IMODE(address.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(address.key_file.stat().st_mode) == 0o600
    with pytest.raises((AuthenticationError, EOFError, OSError)):
        Client(str(address.socket), family="AF_UNIX", authkey=b"not the station's key")


def test_a_client_that_never_answers_the_key_challenge_does_not_keep_the_web_server_out(linked):
    """A process that connects and stays silent (a stalled or hostile one) cannot hold the door: the web server
    still connects to the station, and the silent one is dropped."""
    *_, address = linked
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(str(address.socket))
    try:
        other = StationLink(address, told=lambda message: None)
        done = threading.Event()
        threading.Thread(target=lambda: (other.open(timeout_s=3), done.set()), daemon=True).start()
        assert done.wait(5), "the station accepted nobody while a silent client held its door"
        assert other.pid is not None
        other.detach()
    finally:
        silent.close()


def test_a_socket_in_the_stations_place_that_never_answers_is_reported_not_waited_on_forever(tmp_path):
    """A station stalled before its challenge, or another program's socket left at its path: the web server
    says the station did not answer instead of hanging at its start."""
    folder = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))
    address = StationAddress.of("test", True, folder)
    address.new_key()
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(address.socket))
    mute.listen(4)
    outcome: list[BaseException] = []
    link = StationLink(address, told=lambda message: None)

    def opening() -> None:
        try:
            link.open(timeout_s=1)
        except ProcedureError as exc:
            outcome.append(exc)

    opener = threading.Thread(target=opening, daemon=True)
    try:
        opener.start()
        opener.join(10)
        assert not opener.is_alive(), "the web server hung on a socket that never answers"
        assert outcome and "did not answer" in str(outcome[0])
    finally:
        link.detach()
        mute.close()
        shutil.rmtree(folder)


def test_a_run_is_active_for_its_screens_from_the_moment_the_station_lists_it(linked, monkeypatch):
    """The station lists a new run before its runner's thread starts: what it pushes then says the run goes on
    (a terminal following it took an inactive run for ended, said "the bench station stopped the run" and left
    the run to go on with nobody following it)."""
    client, token, station, link, wall = linked
    seen: list[bool] = []
    refresh = BenchSession.refresh

    def listed(session: BenchSession) -> None:
        if session.run_id in station.manager.sessions and session.thread.ident is None:
            seen.append(session.live_state().active)
        refresh(session)

    monkeypatch.setattr(BenchSession, "refresh", listed)
    start_run(client, token)
    assert seen == [True]
