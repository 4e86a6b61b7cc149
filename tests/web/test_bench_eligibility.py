"""The bench's eligibility step runs the run service's own check: a block stops the test before anything is
written or stimulated; each warning needs its own reason; the order's weight, gestational age and conditions
count. Sources are cited per case."""

from __future__ import annotations

import copy

import pytest
from starlette.testclient import TestClient

from sweattest.bench.demo import DEMO_ORDER
from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.web.conftest import accounts_for_tests, csrf_of, log_in
from tests.web.test_bench_flow import GOOD, open_test, step

# the virtual clock starts on 2026-11-20 09:00 UTC
ORDERS = {
    "ST-BORN-TODAY": {"dob": "2026-11-20"},
    "ST-SMALL": {"dob": "2026-01-01", "weight": "1.9 kg"},
    "ST-PRETERM": {"dob": "2026-11-17", "gestational_age_at_birth": "35 weeks"},
    "ST-OXYGEN": {"dob": "2020-01-01"},
}


def _order(accession, patient):
    doc = copy.deepcopy(DEMO_ORDER) | {"accession": accession}
    doc["patient"] |= patient
    if accession == "ST-OXYGEN":
        doc["conditions"] = ["open_oxygen"]
    return doc


@pytest.fixture
def web_app(tmp_path):
    clock = VirtualClock(speed=2000)
    store = open_store(str(tmp_path / "runs.db"), clock)
    book = {a: _order(a, p) for a, p in ORDERS.items()}
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=None,
                     order_book=book)
    yield app
    app.state.web.bench.close()
    store.close()


@pytest.fixture
def client(web_app):
    with TestClient(web_app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def tech(client):
    log_in(client, "tech")
    return csrf_of(client)


def _at_eligibility(client, tech, accession):
    base = open_test(client, tech, accession)
    identify = {"mrn": "MRN0012345", "dob": ORDERS[accession]["dob"]}
    assert step(client, tech, base, "identify", identify).status_code == 303
    return base


def _finish(client, tech, base):
    for name in ("method", "lot", "checklist"):
        r = step(client, tech, base, name, GOOD[name])
    return r


def test_a_newborn_is_blocked_and_nothing_is_written_or_stimulated(client, tech, web_app):
    """CLSI C34; CFF 2007: under 48 hours of age: do not collect (block, no override)."""
    base = _at_eligibility(client, tech, "ST-BORN-TODAY")
    r = step(client, tech, base, "eligibility", {"reason_age_under_minimum": "parents travelling"})
    assert r.headers["location"] == "/bench/new"  # the draft is cancelled and recorded
    page = client.get("/bench/new").text
    assert "under the minimum age of 48 h" in page and "cannot be done today" in page
    r = client.get(f"{base}/method", follow_redirects=False)  # no way past the block
    assert r.status_code == 404 and "start again with the accession" in r.text.lower()
    assert web_app.state.web.store.list_runs() == []


# (accession, ticked, reasons, passes, source)
CASES = [
    ("ST-SMALL", [], {}, False, "CFF 2017: > 2 kg; 1.9 kg needs a reason"),
    ("ST-SMALL", [], {"reason_weight_at_or_under_minimum": "symptomatic, clinician asked"}, True, "CFF 2017"),
    ("ST-PRETERM", [], {"reason_age_under_10_days": "clinician asked"}, False,
     "CFF 2017: 35 weeks at birth, 3 days old: corrected GA under 36 weeks needs its own reason"),
    ("ST-PRETERM", [], {"reason_age_under_10_days": "clinician asked",
                        "reason_corrected_ga_under_minimum": "neonatologist agreed"}, True, "CFF 2017"),
    ("ST-OXYGEN", ["eczema"], {"reason_condition_eczema": "forearms clear"}, False,
     "CLSI C34: the order's fire-risk warning is not covered by the eczema reason"),
    ("ST-OXYGEN", [], {"reason": "one reason for all"}, False, "CLSI C34: one reason per warning"),
    ("ST-OXYGEN", ["eczema"], {"reason_condition_eczema": "forearms clear",
                               "reason_condition_open_oxygen": "oxygen off during the test"}, True, "CLSI C34"),
]


@pytest.mark.parametrize(("accession", "ticked", "reasons", "passes", "source"), CASES)
def test_each_warning_needs_its_own_reason(client, tech, web_app, accession, ticked, reasons, passes, source):
    base = _at_eligibility(client, tech, accession)
    r = step(client, tech, base, "eligibility", {"condition": ticked, **reasons})
    if not passes:
        assert "Reason to proceed despite" in client.get(r.headers["location"]).text, source
        assert client.get(f"{base}/method", follow_redirects=False).headers["location"].endswith("/eligibility")
        assert web_app.state.web.store.list_runs() == []
        return
    assert r.headers["location"].endswith("/method"), source
    r = _finish(client, tech, base)
    run_id = r.headers["location"].rsplit("/", 1)[1]
    store = web_app.state.web.store
    verify = next(e for e in store.events(run_id) if e.kind == "verify_patient")
    given = {k.removeprefix("reason_"): v for k, v in reasons.items()}
    assert {o["code"]: o["reason"] for o in verify.data["overrides"]} == given, source
    assert all(o["by"] == "tech1" for o in verify.data["overrides"])


def test_the_bench_records_a_cftr_modulator_the_parent_names(client, tech, web_app):
    base = _at_eligibility(client, tech, "ST-OXYGEN")
    reasons = {"reason_condition_open_oxygen": "oxygen off during the test"}
    # only the name, no start date: refused, named, nothing written
    r = step(client, tech, base, "eligibility", {**reasons, "cftr_modulator": "ivacaftor"})
    page = client.get(r.headers["location"]).text
    assert "go together" in page, page[page.find("error"):][:600]
    assert web_app.state.web.store.list_runs() == []
    r = step(client, tech, base, "eligibility", {**reasons, "cftr_modulator": "elexacaftor/tezacaftor/ivacaftor",
                                                  "modulator_start": "2026-06-01"})
    assert r.headers["location"].endswith("/method")
    r = _finish(client, tech, base)
    run_id = r.headers["location"].rsplit("/", 1)[1]
    from sweattest.record.runs import load_run

    _, order = load_run(web_app.state.web.store, run_id)
    assert (order["cftr_modulator"], order["modulator_start"]) == ("elexacaftor/tezacaftor/ivacaftor", "2026-06-01")
