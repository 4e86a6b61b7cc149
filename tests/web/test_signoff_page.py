"""The result screen offers each signer the signature they may give, and shows the amended result."""

from __future__ import annotations

from starlette.testclient import TestClient

from sweattest.record.signoff import versions
from sweattest.record.users import add_user
from tests.store.backends import make_run
from tests.web.conftest import PASSWORD, csrf_of, log_in


def test_a_reviewer_who_performed_the_run_is_offered_performed_then_another_reviews(web_app):
    store, clock = web_app.state.web.store, web_app.state.web.clock
    make_run(store, clock, operator="rev1")
    add_user(store, "rev2", "Rob Reviewer", "reviewer", PASSWORD, actor="admin1", actor_password=PASSWORD)
    with TestClient(web_app, base_url="http://127.0.0.1") as client:
        log_in(client, "reviewer")
        page = client.get("/runs/R1").text
        assert 'name="meaning" value="performed"' in page and "Sign as performed" in page
        r = client.post("/runs/R1/sign", data={"csrf": csrf_of(client), "meaning": "performed",
                                               "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/runs/R1").text
        assert "Sign as" not in page and "until a reviewer who did not perform the run signs it" in page
        log_in(client, "tech")  # not the operator: nothing to sign
        assert "Sign as" not in client.get("/runs/R1").text
        client.cookies.clear()
        r = client.post("/login", data={"username": "rev2", "password": PASSWORD, "csrf": csrf_of(client)},
                        follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/runs/R1").text
        assert "Sign as reviewed" in page
        r = client.post("/runs/R1/sign", data={"csrf": csrf_of(client), "meaning": "reviewed",
                                               "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        assert 'option>left_forearm.chloride<' in client.get("/qa/runs/R1").text
        form = {"csrf": csrf_of(client), "field": "left_forearm.chloride", "reason": "misread", "password": PASSWORD}
        r = client.post("/qa/runs/R1/amend", data=form | {"value": "45 mmol/L"})
        assert r.status_code == 422 and "cannot read &#39;45 mmol/L&#39; as a number" in r.text
        r = client.post("/qa/runs/R1/amend", data=form | {"field": "right_forarm.chloride", "value": "50"})
        assert r.status_code == 422 and "not a field that can change" in r.text
        assert versions(store, "R1") == []
        r = client.post("/qa/runs/R1/amend", data=form | {"value": "62"}, follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/runs/R1").text
        assert ">62 mmol/L<" in page and ">45 mmol/L<" not in page
