"""A patient run from the bench screens on instruments with no calibration on record: the checklist asks why it
goes ahead (kept with the run, as `sweattest run --unverified-reason` does), or says the lab refuses it; the
field is shown only when an instrument is not verified. In process: a stand-alone inducer and a manual
analyzer, which open no port."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from sweattest.bench.demo import DEMO_ORDER
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.instruments import InstrumentConfig
from sweattest.record.calibrations import add_calibration
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.web.conftest import accounts_for_tests, csrf_of, log_in
from tests.web.test_bench_flow import GOOD, open_test, step, wait_for_prompt

INSTRUMENTS = (InstrumentConfig("inducer", "standalone", serial_number="WS-3700-17"),
               InstrumentConfig("analyzer", "manual", serial_number="CC3400-5"))
NOT_VERIFIED = "inducer standalone WS-3700-17; analyzer manual CC3400-5: no calibration or verification on record"
REASON = "first day on these instruments; calibration booked for tomorrow"


@pytest.fixture
def bench(tmp_path):
    """A bench station (no simulation) on the lab's instruments; ``bench(config)`` gives its client and app."""
    made = []

    def start(config: LabConfig | None = None):
        config = config or LabConfig(instruments=INSTRUMENTS)
        clock = VirtualClock(speed=2000)
        store = open_store(str(tmp_path / f"runs{len(made)}.db"), clock)
        app = create_app(store, clock, accounts_for_tests(store), simulate=False, config=config,
                         order_book={DEMO_ORDER["accession"]: DEMO_ORDER})
        client = TestClient(app, base_url="http://127.0.0.1").__enter__()
        made.append((client, app, store))
        log_in(client, "tech")
        return client, app, csrf_of(client)

    yield start
    for client, app, store in made:
        app.state.web.bench.close()
        client.__exit__(None, None, None)
        store.close()


def _to_checklist(client, token) -> str:
    base = open_test(client, token)
    for name in ("identify", "eligibility", "method", "lot"):
        assert step(client, token, base, name, GOOD[name]).status_code == 303, name
    return base


def test_a_patient_run_on_instruments_not_verified_asks_why_and_keeps_the_reason_with_the_run(bench):
    client, app, token = bench()
    base = _to_checklist(client, token)
    page = client.get(f"{base}/checklist").text
    assert NOT_VERIFIED in page and 'name="unverified_reason"' in page
    # no reason given: refused in words, nothing run, the ticks stay for the next try
    r = step(client, token, base, "checklist", GOOD["checklist"])
    page = client.get(r.headers["location"]).text
    assert r.headers["location"].endswith("/checklist")
    assert "A patient run on it needs the reason it goes ahead, recorded with the run" in page
    assert page.count('name="item"') == page.count("checked") == 5
    assert app.state.web.store.list_runs() == []
    r = step(client, token, base, "checklist", GOOD["checklist"] | {"unverified_reason": f"  {REASON} "})
    assert r.headers["location"].startswith("/runs/"), client.get(r.headers["location"]).text
    store = app.state.web.store
    [row] = store.list_runs()
    assert row["purpose"] == "patient"
    _, order = load_run(store, row["run_id"])
    assert order["unverified_instruments"] == {
        "instruments": ["inducer standalone WS-3700-17", "analyzer manual CC3400-5"], "reason": REASON, "by": "tech1"}
    wait_for_prompt(client, r.headers["location"], app)  # the run's thread has checked its instruments by then
    ready = next(e for e in store.events(row["run_id"]) if e.kind == "check_ready")
    assert ready.data["instruments"]["inducer"]["calibration"] == "not verified (no calibration on record)"


def test_instruments_with_a_calibration_on_record_ask_no_reason(bench):
    client, app, token = bench()
    for instrument in INSTRUMENTS:
        add_calibration(app.state.web.store, instrument=instrument.serial_number, role=instrument.role,
                        kind="verification", outcome="pass", performed_on=app.state.web.clock.utcnow().date(),
                        interval_days=365, who="qa1")
    base = _to_checklist(client, token)
    page = client.get(f"{base}/checklist").text
    assert "Not verified" not in page and "unverified_reason" not in page
    r = step(client, token, base, "checklist", GOOD["checklist"])
    assert r.headers["location"].startswith("/runs/")
    [row] = app.state.web.store.list_runs()
    assert "unverified_instruments" not in load_run(app.state.web.store, row["run_id"])[1]


def test_a_lab_that_refuses_runs_on_instruments_not_verified_says_so_and_runs_nothing(bench):
    client, app, token = bench(replace(LabConfig(instruments=INSTRUMENTS), unrecorded_calibration="refuse"))
    base = _to_checklist(client, token)
    page = client.get(f"{base}/checklist").text
    assert NOT_VERIFIED in page and "This lab refuses patient runs on an instrument not verified" in page
    assert "unverified_reason" not in page
    r = step(client, token, base, "checklist", GOOD["checklist"] | {"unverified_reason": REASON})  # a forged field
    page = client.get(r.headers["location"]).text
    assert "This lab refuses patient runs on an instrument not verified: record its calibration" in page
    assert app.state.web.store.list_runs() == []
