"""Proficiency testing in the browser: a PT sample scanned at the bench opens a blinded test (no patient to
identify) that runs as a proficiency run; a failed event shows on the QA desk until QA records its corrective
action on /qa/pt."""

from __future__ import annotations

from sweattest.qa.pt import grade_event
from sweattest.record import proficiency as pt
from tests.web.conftest import csrf_of, log_in
from tests.web.test_bench_flow import GOOD, open_test, step


def _event(store, clock, code: str, samples: tuple[str, ...]) -> None:
    pt.add_event(store, provider="UK NEQAS", scheme="Sweat", event_code=code, received_on="2026-11-02",
                 due_on="2026-11-30", who="rev1")
    for sample in samples:
        pt.add_sample(store, event_code=code, sample_id=sample, who="rev1")


def test_a_pt_sample_scanned_at_the_bench_runs_blinded(client, web_app):
    ctx = web_app.state.web
    _event(ctx.store, ctx.clock, "NQ-301", ("NQ-301-A",))
    log_in(client, "tech")
    token = csrf_of(client)
    r = client.post("/bench/new", data={"csrf": token, "accession": "NQ-301-A"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/eligibility")  # nobody to identify
    base = r.headers["location"].rsplit("/", 1)[0]
    page = client.get(f"{base}/eligibility").text
    assert "PROFICIENCY TEST" in page
    for name in ("eligibility", "method", "lot", "checklist"):
        data = GOOD[name] | ({"site": ["left_forearm"]} if name == "method" else {})
        r = step(client, token, base, name, data)
        assert r.status_code == 303, (name, r.text)
    run_id = r.headers["location"].rsplit("/", 1)[1]
    run = ctx.store.get_run(run_id)
    assert (run["purpose"], run["accession"], run["order"]["patient"]["family"]) == (
        "proficiency", "NQ-301-A", "PROFICIENCY TEST")
    assert run["order"]["proficiency"]["event"] == "NQ-301"
    # the same sample again: refused when the run would start, nothing written
    base = open_test(client, token, "NQ-301-A")
    for name in ("eligibility", "method", "lot", "checklist"):
        data = GOOD[name] | ({"site": ["left_forearm"]} if name == "method" else {})
        r = step(client, token, base, name, data)
    text = r.text if r.status_code != 303 else client.get(r.headers["location"]).text
    assert "PT sample NQ-301-A was run already" in text
    assert [row["run_id"] for row in ctx.store.list_runs()] == [run_id]


def test_a_failed_event_stays_on_the_desk_until_its_corrective_action(client, web_app):
    ctx = web_app.state.web
    _event(ctx.store, ctx.clock, "NQ-302", ("NQ-302-A",))
    pt.set_targets(ctx.store, sample_id="NQ-302-A", target="60", low="54", high="66", who="rev1")
    grade_event(ctx.store, "NQ-302", ctx.clock, who="rev1")  # never run: unacceptable, the event failed
    log_in(client, "reviewer")
    desk = client.get("/qa/runs").text
    assert 'id="desk-alerts"' in desk and "NQ-302" in desk and "unacceptable: NQ-302-A" in desk
    page = client.get("/qa/pt").text
    assert "event NQ-302: failed" in page and "corrective action due" in page and "54–66" in page
    token = csrf_of(client)
    r = client.post("/qa/pt", data={"csrf": token, "event": "NQ-302", "found": "sample never run",
                                    "done": "log PT samples on receipt", "done_by": "Rita Reviewer",
                                    "done_on": "01/12/2026"})
    assert r.status_code == 422 and "--on" in r.text and "use a date such as" in r.text
    assert pt.rows(ctx.store, "pt_corrective_actions") == []
    r = client.post("/qa/pt", data={"csrf": token, "event": "NQ-302", "found": "sample never run",
                                    "done": "log PT samples on receipt", "done_by": "Rita Reviewer",
                                    "done_on": "2026-12-01"}, follow_redirects=False)
    assert r.status_code == 303
    assert 'id="desk-alerts"' not in client.get("/qa/runs").text
    page = client.get("/qa/pt").text
    assert "Corrective action 2026-12-01 by Rita Reviewer: found sample never run" in page
    assert "corrective action due" not in page


def test_the_pt_page_is_for_qa(client, web_app):
    log_in(client, "tech")
    assert client.get("/qa/pt", follow_redirects=False).status_code in (303, 403)


def test_a_run_of_the_training_bench_is_a_training_run(client, web_app):
    from tests.web.test_bench_flow import start_run

    log_in(client, "tech")
    run_url = start_run(client, csrf_of(client))
    assert web_app.state.web.store.get_run(run_url.rsplit("/", 1)[1])["purpose"] == "training"
