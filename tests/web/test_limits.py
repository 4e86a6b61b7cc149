"""Limits that keep one client from starving the others: the live run screens one log-in holds open, and the
size of a request; each refused at once with a sentence that says what to do, and nothing saved."""

from __future__ import annotations

import dataclasses
import gc

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.web_sessions import token_hash
from sweattest.web.limits import LiveStreams
from sweattest.web.sessions import COOKIE
from tests.web.conftest import csrf_of, log_in
from tests.web.test_bench_flow import start_run, wait_for_prompt


def _limit(web_app, **limits) -> None:
    config = web_app.state.web.config
    web_app.state.web.config = dataclasses.replace(config, web_limits=dataclasses.replace(config.web_limits,
                                                                                          **limits))


async def _screen():
    yield b""


def test_one_log_in_holds_only_so_many_live_screens(client, web_app):
    log_in(client, "tech")
    run_url = start_run(client, csrf_of(client))
    wait_for_prompt(client, run_url, web_app)
    ctx = web_app.state.web
    ctx.live_stream_s = 0.2  # each stream ends soon (the browser would reconnect)
    _limit(web_app, live_streams_per_session=2)
    session = token_hash(client.cookies[COOKIE])
    open_screens = [_screen(), _screen()]  # two screens of this log-in streaming already
    for screen in open_screens:
        assert ctx.streams.grant(session, screen, 2) is None
    r = client.get(f"{run_url}/events")
    assert r.status_code == 429 and "already has 2 live run screens open" in r.text
    assert "live_streams_per_session = 2" in r.text and "close a tab" in r.text
    assert client.get(f"{run_url}/live").json()["screens_full"] == r.text  # what the refused page then shows
    ctx.streams.release(session, open_screens.pop())  # one closed: this one may stream, and frees its place after
    r = client.get(f"{run_url}/events")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert ctx.streams.count(session) == 1 and "screens_full" not in client.get(f"{run_url}/live").json()
    log_in(client, "reviewer")  # another log-in has places of its own
    assert client.get(f"{run_url}/events").status_code == 200


def test_a_stream_that_never_started_gives_its_place_back():
    streams = LiveStreams()
    screen = _screen()
    assert streams.grant("s", screen, 1) is None and streams.grant("s", _screen(), 1) is not None
    del screen  # its response was dropped before it sent anything
    gc.collect()
    assert streams.count("s") == 0 and streams.grant("s", _screen(), 1) is None


def test_a_request_over_the_size_limit_is_refused_and_nothing_is_saved(client, web_app):
    _limit(web_app, max_request_kb=1)
    token = csrf_of(client)
    form = {"username": "tech1", "password": "x" * 2000, "csrf": token}
    r = client.post("/login", data=form)
    assert r.status_code == 413 and "larger than this server accepts (1 kB, [serve] max_request_kb)" in r.text
    assert "nothing was saved" in r.text

    def chunks():  # no Content-Length: counted as it arrives
        yield f"username=tech1&csrf={token}&password=".encode()
        for _ in range(4):
            yield b"y" * 512

    r = client.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    with web_app.state.web.store.engine.connect() as conn:  # neither counted as a wrong password
        assert conn.execute(sa.select(schema.users.c.failed_passwords)
                            .where(schema.users.c.username == "tech1")).scalar_one() == 0
    log_in(client, "tech")  # a request within the limit goes through
