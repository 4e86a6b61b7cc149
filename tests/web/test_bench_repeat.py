"""The bench asks whether a test is a repeat when the accession (or the patient) has been tested already,
showing the earlier runs with their dates and results; the link is recorded with the run and shown on the QA
run page and the patient's page."""

from __future__ import annotations

import re

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.repeats import repeat_link
from tests.store.backends import make_run
from tests.web.conftest import log_in
from tests.web.test_bench_flow import GOOD, open_test, step


@pytest.fixture
def tech(client):
    from tests.web.conftest import csrf_of

    log_in(client, "tech")
    return csrf_of(client)


def _finish(client, token, base, after="repeat"):
    names = list(GOOD)
    for name in names[names.index("eligibility"):]:
        r = step(client, token, base, name, GOOD[name])
        assert r.status_code == 303, (name, r.text)
    return r.headers["location"]


def _earlier_training_run(web_app, tmp_path) -> str:
    """A finished training run of the demo's accession (simulated instruments, as at a training bench)."""
    order = parse_order(DEMO_ORDER)
    return perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=web_app.state.web.store,
                                 clock=VirtualClock(), out_dir=tmp_path / "out").run.run_id


def test_a_second_test_of_an_accession_asks_which_run_it_repeats(client, tech, web_app, tmp_path):
    first = _earlier_training_run(web_app, tmp_path)
    base = open_test(client, tech)
    r = step(client, tech, base, "identify", GOOD["identify"])
    assert r.headers["location"].endswith("/repeat")
    page = client.get(f"{base}/repeat").text
    assert "has been tested already" in page and first in page and "Not a repeat" not in page
    table = page.split('id="earlier-runs"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{first}</td>" in table and re.search(r"<td>2026-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", table)
    assert "first test" in table  # the reason column: the earlier run was not a repeat itself
    # nothing is chosen for the tech, and Enter does not land on Continue while the choice is unmade
    assert '<option value="" selected>Choose the reason</option>' in page and "selected>quantity" not in page
    assert 'class="primary" autofocus' not in page and f'value="{first}"  autofocus' in page
    r = step(client, tech, base, "repeat", {"repeat_of": first})  # a run, no reason: asked again
    assert "choose one from the list" in client.get(f"{base}/repeat").text
    r = step(client, tech, base, "repeat", {"reason": "qns"})  # no run picked: asked again, nothing started
    assert r.headers["location"].endswith("/repeat")
    assert "pick the run this test repeats" in client.get(f"{base}/repeat").text
    assert step(client, tech, base, "repeat", {"repeat_of": "R-NOPE", "reason": "qns"}).headers[
        "location"].endswith("/repeat")
    assert "is not one of this patient" in client.get(f"{base}/repeat").text
    assert step(client, tech, base, "repeat", {"repeat_of": first, "reason": "other"}).headers[
        "location"].endswith("/repeat")
    assert "say why in the note" in client.get(f"{base}/repeat").text
    assert len(web_app.state.web.store.list_runs()) == 1
    assert step(client, tech, base, "repeat", {"repeat_of": first, "reason": "technical_failure"}).status_code == 303
    second = _finish(client, tech, base).rsplit("/", 1)[1]
    store = web_app.state.web.store
    assert repeat_link(store, second)["run_id"] == first and repeat_link(store, second)["reason"] == "technical_failure"
    page = client.get(f"/qa/runs/{second}").text
    assert f"Repeat of run <a href=\"/qa/runs/{first}\">{first}</a>" in page and "technical failure" in page
    assert f"/runs/{second}/history" in page
    assert f"Repeated by <a href=\"/qa/runs/{second}\">" in client.get(f"/qa/runs/{first}").text
    assert f"/runs/{first}/history" in client.get(f"/runs/{first}").text  # its result screen


def test_a_run_of_the_accession_made_meanwhile_elsewhere_asks_again_before_starting(client, tech, web_app,
                                                                                   tmp_path):
    base = open_test(client, tech)
    for name in ("identify", "eligibility", "method", "lot"):
        assert step(client, tech, base, name, GOOD[name]).status_code == 303
    first = _earlier_training_run(web_app, tmp_path)  # another station ran the accession meanwhile
    r = step(client, tech, base, "checklist", GOOD["checklist"])
    assert r.headers["location"].endswith("/repeat")
    page = client.get(f"{base}/repeat").text
    assert "already has run" in page and first in page
    assert len(web_app.state.web.store.list_runs()) == 1


def test_the_first_test_of_an_accession_is_not_asked(client, tech, web_app):
    base = open_test(client, tech)
    r = step(client, tech, base, "identify", GOOD["identify"])
    assert r.headers["location"].endswith("/eligibility")


def test_the_patient_page_lists_the_tests_and_a_conflicting_date_of_birth(client, web_app):
    from tests.web.conftest import csrf_of

    store, clock = web_app.state.web.store, web_app.state.web.clock
    make_run(store, clock, "P1", chlorides=(45, 48))
    make_run(store, clock, "P2", chlorides=(20, 22), dob="2024-01-01")
    log_in(client, "reviewer")
    page = client.get("/runs/P1/history").text  # the run's patient: no patient data in the URL
    assert "P1" in page and "left forearm: 45 mmol/L" in page and "Possible identity conflict" in page
    assert "P2" in page  # named in the conflict, not listed as the patient's test
    token = csrf_of(client)
    found = client.post("/history", data={"csrf": token, "mrn": "MRN1", "dob": "2024-01-01"}).text
    assert "left forearm: 20 mmol/L" in found and "also has runs with date of birth 2025-06-01" in found
    bad = client.post("/history", data={"csrf": token, "mrn": "MRN1", "dob": "June"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    assert client.get("/runs/NOPE/history").status_code == 404


def test_a_patients_earlier_test_on_another_accession_asks_and_takes_not_a_repeat_only_when_chosen(client, tech,
                                                                                                   web_app):
    store = web_app.state.web.store
    make_run(store, VirtualClock(), "P9", accession="ST-OTHER", patient={"mrn": "MRN0012345"},
             order_extra={"simulation": True})  # a training bench lists the simulated runs
    base = open_test(client, tech)
    assert step(client, tech, base, "identify", GOOD["identify"]).headers["location"].endswith("/repeat")
    page = client.get(f"{base}/repeat").text
    assert 'value="none" >' in page and 'value="none" checked' not in page  # "Not a repeat" is not preselected
    assert step(client, tech, base, "repeat", {"reason": ""}).headers["location"].endswith("/repeat")  # no answer
    assert "pick its run, or \u201cNot a repeat\u201d" in client.get(f"{base}/repeat").text
    assert step(client, tech, base, "repeat", {"repeat_of": "none", "reason": ""}).headers[
        "location"].endswith("/eligibility")
