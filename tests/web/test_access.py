"""Access rules from the web: server-side sessions end at log-out and on disabling the user, the idle lock,
lock-out with a growing delay at log-in and at signing, and who is recorded for each action on a run."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from sweattest.record.audit import history, verify
from sweattest.record.users import add_user, disable_user
from tests.web.conftest import PASSWORD, csrf_of, log_in
from tests.web.test_bench_flow import start_run, wait_for_prompt


def _audit(store, what: str) -> list:
    import sqlalchemy as sa

    from sweattest.record.store import schema
    with store.engine.connect() as conn:
        return conn.execute(sa.select(schema.audit).where(schema.audit.c.what == what)).all()


def _copy(web_app, client) -> TestClient:
    other = TestClient(web_app, base_url="http://127.0.0.1")
    other.cookies.set("sweattest_session", client.cookies.get("sweattest_session"))
    return other


def _wrong_login(client, username="tech1", password="wrong password"):
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(client)})


def test_log_out_ends_a_copied_session(client, web_app):
    log_in(client, "tech")
    copy = _copy(web_app, client)
    assert copy.get("/bench", follow_redirects=False).status_code == 200
    assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303
    assert copy.get("/bench", follow_redirects=False).headers["location"] == "/login"


def test_the_cookie_holds_only_a_random_token(client, web_app):
    log_in(client, "tech")
    token = client.cookies.get("sweattest_session")
    assert len(token) >= 40 and "tech1" not in token
    import sqlalchemy as sa

    from sweattest.record.store import schema
    with web_app.state.web.store.engine.connect() as conn:
        stored = conn.execute(sa.select(schema.web_sessions.c.token_sha256)).scalars().all()
    assert token not in stored and len(stored) == 1  # kept only hashed


def test_disabling_a_user_ends_their_open_sessions(client, web_app):
    log_in(client, "tech")
    store = web_app.state.web.store
    disable_user(store, "tech1", actor="admin1", actor_password=PASSWORD)
    assert client.get("/bench", follow_redirects=False).headers["location"] == "/login"
    r = _wrong_login(client, password=PASSWORD)
    assert r.status_code == 401 and "Wrong user name or password, or the account is disabled" in r.text
    [entry] = _audit(store, "disabled_sign_in")  # the right password of a disabled account: refused and audited
    assert entry.who == "tech1" and "disabled (log-in)" in entry.why and '"where":"log-in"' in entry.new
    assert client.get("/bench", follow_redirects=False).headers["location"] == "/login"  # no session opened


def test_a_page_refused_for_the_role_is_audited_with_who_and_where(client, web_app):
    log_in(client, "tech")
    store = web_app.state.web.store
    r = client.get("/qa/qns", follow_redirects=False)
    assert r.status_code == 403 and "the tech role cannot open this page" in r.text
    [entry] = _audit(store, "wrong_role")
    assert entry.who == "tech1" and "a tech cannot GET /qa/qns" in entry.why and "web, station" in entry.why
    assert "MRN" not in entry.new and verify(store).intact


def test_an_idle_screen_locks_and_the_password_unlocks_it(client, web_app):
    clock = web_app.state.web.clock
    log_in(client, "tech")
    token = csrf_of(client)
    clock.advance(14 * 60)
    assert client.get("/bench", follow_redirects=False).status_code == 200  # in use: not idle
    clock.advance(15 * 60 + 1)
    assert client.get("/bench", follow_redirects=False).headers["location"] == "/lock"
    r = client.post("/bench/new", data={"csrf": token, "accession": "ST-2026-000123"}, follow_redirects=False)
    assert r.headers["location"] == "/lock"  # refused: the lock screen, nothing opened
    assert client.get("/runs/nosuchrun/live").status_code == 404  # live updates still answer while locked
    page = client.get("/lock")
    assert "Screen locked" in page.text and "Tess Tech" in page.text
    r = client.post("/lock", data={"csrf": token, "password": "wrong password"})
    assert r.status_code == 401 and "Wrong password" in r.text
    r = client.post("/lock", data={"csrf": token, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/bench", follow_redirects=False).status_code == 200
    whats = [e.what for e in _audit(web_app.state.web.store, "lock_session")]
    assert whats == ["lock_session"]


def test_an_idle_lock_keeps_the_run_going_and_visible(client, web_app):
    log_in(client, "tech")
    run_url = start_run(client, csrf_of(client))
    assert wait_for_prompt(client, run_url, web_app) is not None
    web_app.state.web.clock.advance(16 * 60)
    page = client.get("/lock").text
    assert run_url.rsplit("/", 1)[1] in page and "Runs at this station" in page
    assert client.get(f"{run_url}/live").status_code == 200
    assert web_app.state.web.bench.session(run_url.rsplit("/", 1)[1]).active


def test_repeated_wrong_passwords_lock_the_account_with_a_growing_delay(client, web_app):
    clock, store = web_app.state.web.clock, web_app.state.web.store
    for _ in range(5):
        assert "Wrong user name or password" in _wrong_login(client).text
    r = _wrong_login(client, password=PASSWORD)  # the right password, too late
    assert r.status_code == 401 and "locked after repeated wrong passwords" in r.text
    clock.advance(61)
    assert "Wrong user name" in _wrong_login(client).text  # the sixth: locked again, twice as long
    clock.advance(61)
    assert "locked" in _wrong_login(client, password=PASSWORD).text
    clock.advance(60)
    log_in(client, "tech")  # the delay is over: the right password opens, and the count starts again
    entries = _audit(store, "lock_out")
    assert [e.who for e in entries] == ["tech1", "tech1"]
    assert ['"locked_seconds":60' in e.new for e in entries] == [True, False]
    assert '"locked_seconds":120' in entries[1].new


def test_repeated_wrong_passwords_when_signing_lock_the_account(client, web_app):
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    run_id = run_url.rsplit("/", 1)[1]
    for _ in range(5):
        r = client.post(f"{run_url}/sign", data={"csrf": token, "meaning": "performed", "password": "nope nope"})
        assert "authentication failed" in r.text  # the error shown on the run screen after post, redirect, get
    r = client.post(f"{run_url}/sign", data={"csrf": token, "meaning": "performed", "password": PASSWORD})
    assert "locked after repeated wrong passwords" in r.text
    assert [e.why for e in _audit(web_app.state.web.store, "lock_out")] == ["5 wrong passwords in a row (signing)"]
    assert not any(e.what.startswith("sign") for e in history(web_app.state.web.store, run_id))


def test_two_techs_on_one_run_each_recorded_under_their_own_name(client, web_app):
    store = web_app.state.web.store
    add_user(store, "tech2", "Tom Tech", "tech", "battery staple 7", actor="admin1", actor_password=PASSWORD)
    log_in(client, "tech")
    run_url = start_run(client, csrf_of(client))
    run_id = run_url.rsplit("/", 1)[1]
    with TestClient(web_app, base_url="http://127.0.0.1", client=("10.0.0.2", 5000)) as other:
        other.get("/login")
        r = other.post("/login", data={"username": "tech2", "password": "battery staple 7",
                                       "csrf": csrf_of(other)}, follow_redirects=False)
        assert r.status_code == 303
        tom = csrf_of(other)
        prompt = wait_for_prompt(client, run_url, web_app)  # apply the collector: a step, not a value
        r = other.post(f"{run_url}/confirm", data={"csrf": tom, "prompt": str(prompt.id)}, follow_redirects=False)
        assert r.status_code == 303
        answered = prompt.id
        while ((prompt := wait_for_prompt(client, run_url, web_app, after=answered)) is not None
               and prompt.kind != "read_volume"):
            skin = {"grade": "none", "note": ""} if prompt.kind == "check_skin" else {}  # no reaction
            client.post(f"{run_url}/confirm", data={"csrf": csrf_of(client), "prompt": str(prompt.id)} | skin)
            answered = prompt.id  # each prompt answered once: the bench may not have moved on yet
        assert prompt is not None
        amount = re.search(r"coil shows ([\d.]+)", prompt.hint).group(1)
        r = other.post(f"{run_url}/confirm", data={"csrf": tom, "prompt": str(prompt.id), "amount": amount})
        assert "(tech1) enters its measured values; tech2 cannot" in r.text
        assert web_app.state.web.bench.session(run_id).operator.prompt.id == prompt.id  # still waiting
    events = store.events(run_id)
    applied = next(e for e in events if e.kind == "start_collection")  # tech2 confirmed the collector applied
    assert applied.data["actor"] == "tech2" and applied.data["station"] == "web 10.0.0.2"
    timed = next(e for e in events if e.kind == "finish_collection")
    assert timed.data["actor"] == "timer" and timed.data["station"].startswith("host ")
    started = next(e for e in events if e.kind == "verify_patient")
    assert started.data["actor"] == "tech1" and started.data["station"] == "web testclient"
    refused = [e for e in history(store, run_id) if e.what == "confirm (refused)"]
    assert [(e.who, e.new["station"], e.new["step"]) for e in refused] == [("tech2", "web 10.0.0.2", "read_volume")]
