"""The idle lock on an open run screen: the page's own requests (drawing itself again, live updates) are not
the person's use, so the screen locks after the idle time while a run goes on; the locked screen keeps the
run's state, its alarms and EMERGENCY STOP, and every confirmation needs the password again."""

from __future__ import annotations

import json
from datetime import timedelta

from sweattest.record.audit import history
from tests.web.conftest import PASSWORD, csrf_of, log_in
from tests.web.test_access import _audit
from tests.web.test_bench_flow import start_run, wait_for_prompt

IDLE = timedelta(minutes=15)


def _run_id(run_url: str) -> str:
    return run_url.rsplit("/", 1)[1]


def test_the_pages_own_requests_do_not_keep_a_run_screen_unlocked(client, web_app):
    clock = web_app.state.web.clock
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    prompt = wait_for_prompt(client, run_url, web_app)
    for _ in range(4):  # 16 minutes of the screen drawing itself again and getting its live updates
        clock.advance(4 * 60)
        client.get(f"{run_url}?swap=1")
        client.get(f"{run_url}/live")
    page = client.get(f"{run_url}?swap=1").text  # the screen, drawn again: locked, the run still on it
    assert 'data-locked="1"' in page and "Screen locked" in page and 'id="unlock-password"' in page
    assert 'id="step-form"' not in page and 'id="confirm"' not in page  # no confirmation without the password
    assert 'id="stop"' in page and 'id="rail"' in page  # EMERGENCY STOP and every site's state stay
    assert prompt.action in page  # what waits for the tech is said
    assert [e.why for e in _audit(web_app.state.web.store, "lock_session")] == ["idle for 15 min"]

    # a confirmation sent from a screen that locked meanwhile: refused, recorded, the step still waits
    r = client.post(f"{run_url}/confirm", data={"csrf": token, "prompt": str(prompt.id), "outcome": "ok"})
    assert r.url.path == f"/runs/{_run_id(run_url)}" and "The screen locked before this was sent" in r.text
    assert 'data-locked="1"' in r.text
    session = web_app.state.web.bench.session(_run_id(run_url))
    assert session.operator.prompt is not None and session.operator.prompt.id == prompt.id
    [refused] = [e for e in history(web_app.state.web.store, _run_id(run_url)) if e.what == "confirm (refused)"]
    assert refused.who == "tech1" and "locked" in refused.why

    # a wrong password keeps it locked, on the run's screen; the right one opens the step again
    r = client.post("/lock", data={"csrf": token, "password": "not it at all", "next": run_url})
    assert r.url.path == f"/runs/{_run_id(run_url)}" and "Wrong password." in r.text and 'data-locked="1"' in r.text
    r = client.post("/lock", data={"csrf": token, "password": PASSWORD, "next": run_url})
    assert r.url.path == f"/runs/{_run_id(run_url)}" and 'data-locked="0"' in r.text and 'id="confirm"' in r.text
    r = client.post(f"{run_url}/confirm", data={"csrf": token, "prompt": str(prompt.id), "outcome": "ok"})
    assert "error" not in r.text.split("<main>", 1)[1].split("<section", 1)[0]
    assert wait_for_prompt(client, run_url, web_app, after=prompt.id) is not None


def test_a_locked_run_screen_keeps_the_emergency_stop(client, web_app):
    clock = web_app.state.web.clock
    web_app.state.web.bench.pace = 50.0  # slow enough to press the button during stimulation
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    run_id = _run_id(run_url)
    session = web_app.state.web.bench.session(run_id)
    for _ in range(500):
        if session.view.stimulating:
            break
        session.thread.join(timeout=0.01)
    clock.advance(IDLE.total_seconds() + 1)
    assert 'data-locked="1"' in client.get(f"{run_url}?swap=1").text
    r = client.post(f"{run_url}/stop", data={"csrf": token})  # no password asked: a stop is never held back
    assert r.url.path == f"/runs/{run_id}" and 'data-locked="1"' in r.text
    assert "STIMULATION STOPPED" in r.text and "Output is OFF" in r.text
    assert "emergency stop by Tess Tech (tech1)" in r.text  # who pressed it, by name
    session.thread.join(timeout=20)
    assert not session.active


def _alarm_left_on_a_locked_screen(client, web_app) -> tuple[str, str, str]:
    """A stuck-relay run whose alarm is up when the screen locks: the CSRF token, the run's URL and its page."""
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token, scenario="stuck_relay")
    web_app.state.web.bench.session(_run_id(run_url)).thread.join(timeout=30)
    web_app.state.web.clock.advance(IDLE.total_seconds() + 1)
    return token, run_url, client.get(run_url).text


def test_an_alarm_on_a_locked_screen_is_shown_and_acknowledged_with_the_password(client, web_app):
    # the run's screen, locked: the alarm in full, its password field
    token, run_url, page = _alarm_left_on_a_locked_screen(client, web_app)
    assert 'data-locked="1"' in page and "INDUCER NOT CONFIRMED SAFE" in page and 'data-sound="alarm"' in page
    seq = int(page.split("/alarms/", 1)[1].split("/", 1)[0])
    assert f'id="ack-password-{seq}"' in page
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge", data={"csrf": token, "grade": "none"})
    assert "Wrong password." in r.text and "not acknowledged" in r.text and 'data-locked="1"' in r.text
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge",
                    data={"csrf": token, "grade": "none", "password": PASSWORD})
    assert 'data-locked="0"' in r.text and "INDUCER NOT CONFIRMED SAFE" not in r.text
    [ack] = [e for e in history(web_app.state.web.store, _run_id(run_url)) if e.what == "acknowledge_alarm"]
    assert ack.who == "tech1" and ack.new["skin"] == "none"


def test_the_live_updates_tell_an_open_screen_that_it_locked(client, web_app):
    clock = web_app.state.web.clock
    web_app.state.web.live_stream_s = 0.3
    web_app.state.web.live_heartbeat_s = 0.05
    log_in(client, "tech")
    run_url = start_run(client, csrf_of(client))
    wait_for_prompt(client, run_url, web_app)
    clock.advance(IDLE.total_seconds() - 60)
    body = client.get(f"{run_url}/events").text  # a minute left: no lock said
    assert '"type":"lock"' not in body
    clock.advance(61)
    body = client.get(f"{run_url}/events").text  # the reconnecting stream checks: idle, so locked
    frames = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert {"type": "lock", "locked": True} in frames


def test_the_persons_use_said_by_a_page_keeps_it_open_but_never_opens_a_locked_one(client, web_app):
    from sweattest.record import web_sessions
    from sweattest.web.sessions import COOKIE

    clock = web_app.state.web.clock
    log_in(client, "tech")
    token = csrf_of(client)
    store = web_app.state.web.store
    cookie = client.cookies.get(COOKIE)
    clock.advance(IDLE.total_seconds() - 60)
    assert client.post("/activity", data={}).status_code == 403  # no token: not counted
    assert client.post("/activity", data={"csrf": token}).status_code == 204
    clock.advance(120)  # the idle time since the page was loaded, two minutes since the person's use
    assert "Screen locked" not in client.get("/bench").text
    clock.advance(IDLE.total_seconds() + 1)
    r = client.post("/activity", data={"csrf": token})  # locked meanwhile: said, and it stays locked
    assert r.status_code == 401 and web_sessions.find_session(store, cookie).locked
    assert "Screen locked" in client.get("/bench").text


def test_a_wrong_password_with_an_acknowledgment_keeps_the_skin_grade_and_note_typed(client, web_app):
    token, run_url, page = _alarm_left_on_a_locked_screen(client, web_app)
    seq = int(page.split("/alarms/", 1)[1].split("/", 1)[0])
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge",
                    data={"csrf": token, "grade": "blister", "note": "2 mm blister, <b>cooled</b>", "password": "no"})
    assert "Wrong password." in r.text and 'data-locked="1"' in r.text
    assert f'id="ack-grade-{seq}-blister" checked' in r.text
    assert "2 mm blister, &lt;b&gt;cooled&lt;/b&gt;</textarea>" in r.text


def test_a_form_of_a_test_in_preparation_sent_after_the_lock_leads_to_the_lock_screen(client, web_app):
    from tests.web.test_bench_flow import GOOD, open_test, step

    clock = web_app.state.web.clock
    log_in(client, "tech")
    token = csrf_of(client)
    base = open_test(client, token)
    clock.advance(IDLE.total_seconds() + 1)
    r = step(client, token, base, "identify", GOOD["identify"])  # sent from a page that locked meanwhile
    assert r.status_code == 303 and r.headers["location"] == "/lock"
    page = client.get("/lock").text
    assert "Screen locked" in page and 'id="unlock-password"' in page
