"""Every route as every role; CSRF on every form; security headers; no patient data in URLs."""

from __future__ import annotations

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from tests.web.conftest import USERS, csrf_of, log_in, make_web_app

#: Who may call what: written out here so a change to the app's table is a visible change to this test.
EXPECTED = {
    "/": {"tech", "reviewer", "qa", "admin"},
    "/logout": {"tech", "reviewer", "qa", "admin"},
    "/activity": {"tech", "reviewer", "qa", "admin"},
    "/bench": {"tech", "reviewer"},
    "/bench/new": {"tech", "reviewer"},
    "/bench/draft/{draft_id}/{step}": {"tech", "reviewer"},
    "/runs/{run_id}": {"tech", "reviewer", "qa", "admin"},
    "/runs/{run_id}/live": {"tech", "reviewer", "qa", "admin"},
    "/runs/{run_id}/events": {"tech", "reviewer", "qa", "admin"},
    "/runs/{run_id}/confirm": {"tech", "reviewer"},
    "/runs/{run_id}/stop": {"tech", "reviewer"},
    "/runs/{run_id}/alarms/{seq}/acknowledge": {"tech", "reviewer"},
    "/runs/{run_id}/sign": {"tech", "reviewer"},
    "/runs/{run_id}/report": {"tech", "reviewer", "qa", "admin"},
    "/runs/{run_id}/report.pdf": {"tech", "reviewer", "qa", "admin"},
    "/qa/runs": {"tech", "reviewer", "qa", "admin"},
    "/qa/runs/{run_id}": {"tech", "reviewer", "qa", "admin"},
    "/qa/runs/{run_id}/amend": {"reviewer"},
    "/runs/{run_id}/history": {"tech", "reviewer", "qa", "admin"},
    "/history": {"tech", "reviewer", "qa", "admin"},
    "/qa/qc": {"reviewer", "qa", "admin"},
    "/qa/qc.png": {"reviewer", "qa", "admin"},
    "/qa/qns": {"reviewer", "qa", "admin"},
    "/qa/turnaround": {"reviewer", "qa", "admin"},
    "/qa/lis": {"reviewer", "qa", "admin"},
    "/qa/pack": {"reviewer", "qa", "admin"},
    "/qa/pack.pdf": {"reviewer", "qa", "admin"},
    "/qa/pack.zip": {"reviewer", "qa", "admin"},
    "/qa/validations": {"reviewer", "qa", "admin"},
    "/qa/pt": {"reviewer", "qa", "admin"},
    "/qa/records": {"reviewer", "qa", "admin"},
    "/qa/qc-lots": {"reviewer", "qa", "admin"},
    "/qa/calibrations": {"reviewer", "qa", "admin"},
    "/qa/equipment": {"reviewer", "qa", "admin"},
    "/qa/skin-reactions": {"reviewer", "qa", "admin"},
    "/qa/competency": {"reviewer", "qa", "admin"},
    "/admin/users": {"admin"},
}


@pytest.fixture(scope="module")
def web_app(tmp_path_factory):
    """One app and one finished run for the whole module: the tests only read it or are refused."""
    yield from make_web_app(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def run_id(web_app, tmp_path_factory):
    ctx = web_app.state.web
    order = parse_order(DEMO_ORDER)
    result = perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=ctx.store,
                                   clock=VirtualClock(), out_dir=tmp_path_factory.mktemp("out"))  # instant
    return result.run.run_id


def guarded_routes(app):
    return [(r.path, sorted(r.methods - {"HEAD"}), set(r.endpoint.roles)) for r in app.routes
            if hasattr(getattr(r, "endpoint", None), "roles")]


def test_the_role_table_is_the_expected_one(web_app):
    table = {path: roles for path, _, roles in guarded_routes(web_app)}
    assert table == EXPECTED


@pytest.mark.parametrize("role", [None, "tech", "reviewer", "qa", "admin"])
def test_every_route_as_every_role(client, web_app, run_id, role):
    if role is not None:
        log_in(client, role)
    token = csrf_of(client)
    for path, methods, roles in guarded_routes(web_app):
        if path == "/logout":
            continue  # would end the session under test; covered below
        url = path.format(run_id=run_id, draft_id="nosuchdraft", step="identify", seq=1)
        for method in methods:
            r = client.request(method, url, data={"csrf": token} if method == "POST" else None,
                               follow_redirects=False)
            where = f"{method} {url} as {role}"
            if role is None:
                assert r.status_code in (303, 401), where
                if r.status_code == 303:
                    assert r.headers["location"] == "/login", where
            elif role in roles:
                assert r.status_code not in (401, 403), where
            else:
                assert r.status_code == 403, where


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, web_app):
    log_in(client, "tech")
    r = client.post("/bench/new", data={"accession": DEMO_ORDER["accession"]}, follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    assert web_app.state.web.drafts == {}
    r = client.post("/bench/new", data={"accession": DEMO_ORDER["accession"], "csrf": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_log_in_needs_the_right_password_and_a_token(client):
    token = csrf_of(client)
    r = client.post("/login", data={"username": "tech1", "password": "wrong", "csrf": token})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = client.post("/login", data={"username": "tech1", "password": "x"})
    assert r.status_code == 403
    assert client.get("/bench", follow_redirects=False).headers["location"] == "/login"


def test_log_out_ends_the_session(client):
    log_in(client, "tech")
    token = csrf_of(client)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/bench", follow_redirects=False).headers["location"] == "/login"


def test_security_headers_on_pages_and_static_files(client):
    for url in ("/login", "/static/app.css"):
        h = client.get(url).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "script-src 'self'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
    client.cookies.clear()
    set_cookie = client.get("/login").headers.get("set-cookie", "").lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie


def test_patient_names_are_escaped_and_never_in_urls(client, web_app, run_id):
    log_in(client, "tech")
    page = client.get(f"/runs/{run_id}").text
    assert "Doe, Jane" in page
    urls = [r.path for r in web_app.routes]
    assert not any("patient" in u or "mrn" in u for u in urls)
    ctx = web_app.state.web
    ctx.env.globals["probe"] = "<script>alert(1)</script>"
    html = ctx.env.from_string("{{ probe }}").render()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert USERS["tech"][0] in client.get("/qa/runs").text
