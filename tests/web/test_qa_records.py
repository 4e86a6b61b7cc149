"""The QA pages of the lab's records: control lots (/qa/qc-lots), calibrations (/qa/calibrations) and the
equipment log (/qa/equipment) list what is recorded and take new entries; a bad entry is shown again with its
one-line error and nothing is stored; the pages are for QA (reviewer, admin) only."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.instruments import InstrumentConfig
from sweattest.record.calibrations import calibrations
from sweattest.record.equipment import entries
from sweattest.record.qc_lots import lots
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.web.conftest import accounts_for_tests, csrf_of, log_in

CONFIG = LabConfig(instruments=(InstrumentConfig("analyzer", "line", port="/dev/ttyUSB1", serial_number="CL-9"),
                                InstrumentConfig("inducer", "scpi", port="/dev/ttyUSB0", serial_number="IND-1")))


@pytest.fixture
def client(tmp_path):
    clock = VirtualClock()
    store = open_store(str(tmp_path / "runs.db"), clock)
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=None, config=CONFIG)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        c.store = store
        yield c
    app.state.web.bench.close()
    store.close()


def _post(client, path, **data):
    return client.post(path, data={"csrf": csrf_of(client)} | data, follow_redirects=False)


LOT = {"action": "add", "analyzer": "chloridometer-1", "level": "normal", "lot": "QCN-2701",
       "material": "Chloride control", "expires": "2099-06-30", "mean": "40 mmol/L", "sd": "1.5 mmol/L"}


def test_a_lot_is_added_listed_and_retired(client):
    log_in(client, "reviewer")
    assert _post(client, "/qa/qc-lots", **LOT).status_code == 303
    page = client.get("/qa/qc-lots").text
    assert re.search(r"<td>QCN-2701</td><td>Chloride control</td><td>established</td>\s*<td>40</td><td>1.5</td>", page)
    assert _post(client, "/qa/qc-lots", action="retire", analyzer="chloridometer-1", lot="QCN-2701",
                 reason="vial contaminated").status_code == 303
    assert [x.state for x in lots(client.store)] == ["retired"]


@pytest.mark.parametrize("change, words", [
    ({"mean": "forty"}, "target mean: &#39;forty&#39; has no number"),
    ({"sd": "1.5 mg"}, "target SD: 1.5 mg is not a concentration"),
    ({"expires": "30/06/2027"}, "expiry: &#39;30/06/2027&#39; is not a date"),
])
def test_a_bad_lot_is_shown_again_with_its_error_and_nothing_is_stored(client, change, words):
    log_in(client, "reviewer")
    page = _post(client, "/qa/qc-lots", **(LOT | change))
    assert page.status_code == 422 and words in page.text and 'value="QCN-2701"' in page.text
    assert lots(client.store) == []


def test_a_calibration_of_a_configured_instrument_takes_its_role_and_interval(client):
    log_in(client, "reviewer")
    today = client.store.clock.utcnow().date().isoformat()
    r = _post(client, "/qa/calibrations", serial="CL-9", kind="calibration", outcome="pass", on=today,
              reference="NaCl 100 mmol/L read 99")
    assert r.status_code == 303
    [c] = calibrations(client.store)
    assert (c.role, c.interval_days, c.who) == ("analyzer", 30, "rev1")
    assert "NaCl 100 mmol/L read 99" in client.get("/qa/calibrations").text
    bad = _post(client, "/qa/calibrations", serial="XX-1", kind="calibration", outcome="pass", on=today)
    assert bad.status_code == 422 and "XX-1 is not a configured instrument: choose its role" in bad.text


def test_an_instrument_taken_out_of_service_shows_as_such(client):
    log_in(client, "reviewer")
    today = client.store.clock.utcnow().date().isoformat()
    assert _post(client, "/qa/equipment", serial="IND-1", kind="out_of_service", on=today,
                 text="channel 2 current unstable").status_code == 303
    page = client.get("/qa/equipment").text
    assert f"OUT OF SERVICE since {today}: channel 2 current unstable" in page
    assert [e.kind for e in entries(client.store)] == ["out_of_service"]


def test_the_record_pages_are_for_qa(client):
    log_in(client, "tech")
    for path in ("/qa/qc-lots", "/qa/calibrations", "/qa/equipment"):
        assert client.get(path).status_code == 403


def test_a_provisional_lot_cannot_be_established_before_its_runs(client):
    log_in(client, "reviewer")
    assert _post(client, "/qa/qc-lots", **(LOT | {"provisional": "yes"})).status_code == 303
    assert "provisional (20 runs to establish)" in client.get("/qa/qc-lots").text
    page = _post(client, "/qa/qc-lots", action="establish", analyzer="chloridometer-1", lot="QCN-2701")
    assert page.status_code == 422 and "lot QCN-2701 has 0 of the 20 runs needed" in page.text
    assert [x.state for x in lots(client.store)] == ["provisional"]
