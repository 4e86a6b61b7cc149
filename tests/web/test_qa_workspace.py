"""The QA workspace against a store of known runs and QC: the review queue, the runs list with its free
search, Levey-Jennings by date with Westgard violations, the QNS and turnaround dashboards, and the audit
trail in words (names, units, lab time zone) with its amendments. One app for the module; the tests read."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from sweattest.core.clock import VirtualClock
from sweattest.core.config import Lab, LabConfig
from sweattest.record.analytical_qc import judge_and_record
from sweattest.record.qc_lots import DEFAULT_ANALYZER as ANALYZER
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.store.backends import START, make_run
from tests.web.conftest import PASSWORD, accounts_for_tests, csrf_of, log_in


@pytest.fixture(scope="module")
def web_app(tmp_path_factory):
    """November 2026 (lab in Paris, UTC+1): N1 tech1 both sites QNS; N2 tech1 65/70 mmol/L (CF likely) of
    patient Martin, Louise (MRN77); N3 tech2 45/48 (intermediate), reviewed by rev1 two hours after its
    start, then amended; a QC run two days later with the normal control +2.5 SD (1-2s warning).
    December: D1 tech1 with its normal control +5 SD (1-3s, rejected)."""
    clock = VirtualClock(start=START)
    store = open_store(str(tmp_path_factory.mktemp("qadesk") / "runs.db"), clock)
    accounts = accounts_for_tests(store)
    accounts.users.add_user(store, "tech2", "Theo Second", "tech", PASSWORD, actor="admin1", actor_password=PASSWORD)
    make_run(store, clock, "N1", volumes=(5, 3))
    make_run(store, clock, "N2", chlorides=(65, 70), accession="ACC-2002",
             patient={"mrn": "MRN77", "family": "Martin", "given": "Louise"})
    make_run(store, clock, "N3", operator="tech2")
    clock.sleep((store.get_run("N3")["created_at"] + timedelta(hours=2) - clock.utcnow()).total_seconds())
    accounts.signoff.sign(store, clock, "N3", "tech2", PASSWORD, "performed")
    accounts.signoff.sign(store, clock, "N3", "rev1", PASSWORD, "reviewed")
    clock.sleep(timedelta(days=2).total_seconds())
    store.add_qc_result(analyzer=ANALYZER, level="normal", lot="QCN-2611", target_mean=40.0, target_sd=1.5,
                        value=43.75, qc_run="extra-qc", at=clock.utcnow(), who="tech1")
    judge_and_record(store, "extra-qc", who="tech1")  # one level: incomplete, with its 1-2s warning
    clock.sleep(timedelta(days=20).total_seconds())
    make_run(store, clock, "D1", qc="rejected")
    app = create_app(store, clock, accounts, pace=None,
                     config=LabConfig(lab=Lab(timezone="Europe/Paris")))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        log_in(client, "reviewer")
        r = client.post("/qa/runs/N3/amend", data={"csrf": csrf_of(client), "field": "comment",
                                                   "value": "haemolysed sample",
                                                   "reason": "comment omitted", "password": PASSWORD})
        assert r.status_code == 200, r.text
    yield app
    app.state.web.bench.close()
    store.close()


@pytest.fixture(scope="module")
def client(web_app):
    with TestClient(web_app, base_url="http://127.0.0.1") as c:
        yield c


def rows(html: str, table_id: str) -> list[list[str]]:
    """The table's body rows as lists of cell texts (tags removed, spaces collapsed)."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_review_queue_holds_the_runs_awaiting_my_signature(client):
    log_in(client, "tech")
    mine = {r[0]: r[-1] for r in rows(client.get("/qa/runs").text, "queue")}
    assert mine == {"N1": "performed", "N2": "performed", "D1": "performed"}
    log_in(client, "reviewer")
    page = client.get("/qa/runs").text
    assert {r[0]: r[-1] for r in rows(page, "queue")} == {"N1": "reviewed", "N2": "reviewed", "D1": "reviewed"}
    assert "N3" not in [r[0] for r in rows(page, "queue")]  # reviewed and reported already


def test_runs_list_shows_patient_result_interpretation_and_flags(client):
    log_in(client, "reviewer")
    page = client.get("/qa/runs").text
    table = {r[0]: r for r in rows(page, "runs")}
    assert list(table) == ["D1", "N3", "N2", "N1"]  # newest first
    run, accession, patient, started, operator, state, result, interpretation, flags = table["N2"]
    assert (accession, patient, operator, state) == ("ACC-2002", "Martin, Louise MRN77", "Tess Tech (tech1)",
                                                     "result ready")
    assert started.startswith("2026-11-20 1")  # lab time (Paris), not UTC 09:xx
    assert "Left forearm 65" in result and "Right forearm 70" in result
    assert interpretation == "CF likely" and table["N3"][7] == "intermediate"
    assert flags.split() == ["H"]
    assert table["N1"][-1].split() == ["QNS", "repeat"] and table["N1"][6] == "Left forearm QNS Right forearm QNS"
    assert table["N3"][-1].split() == ["A", "repeat", "amended"] and table["N3"][5] == "reported"
    assert "QC" in table["D1"][-1].split()


@pytest.mark.parametrize(("text", "expected"), [
    ("acc-2002", ["N2"]), ("MRN77", ["N2"]), ("louise", ["N2"]), ("martin", ["N2"]),
    ("Theo", ["N3"]), ("second", ["N3"]), ("tech2", ["N3"]), ("doe", ["D1", "N3", "N1"]), ("nobody", []),
])
def test_free_search_finds_accession_mrn_name_and_operator_by_part(client, text, expected):
    log_in(client, "reviewer")
    r = client.post("/qa/runs", data={"csrf": csrf_of(client), "q": text}, follow_redirects=False)
    assert r.status_code == 200 and str(r.url).endswith("/qa/runs")  # the search stays out of the URL
    assert [row[0] for row in rows(r.text, "runs")] == expected


def test_levey_jennings_by_date_with_choices_from_the_recorded_qc_and_westgard_marks(client):
    log_in(client, "reviewer")
    page = client.get("/qa/qc").text  # the first analyzer and level recorded, chosen by default
    assert re.search(rf'<select name="analyzer"><option value="{ANALYZER}" selected>', page)
    assert re.findall(r'<option value="(\w+)"', page.split('name="level"')[1]) == ["abnormal", "normal"]
    page = client.get(f"/qa/qc?analyzer={ANALYZER}&level=normal").text
    points = rows(page, "qc-points")
    assert [p[0][:10] for p in points] == ["2026-11-20", "2026-11-22", "2026-12-12"]  # by date, lab time
    assert [(p[2], p[3], p[4], p[5]) for p in points] == [("40.0", "+0.0", "—", "in control"),
                                                           ("43.75", "+2.5", "1-2s", "warning"),
                                                           ("47.5", "+5.0", "1-3s, 2-2s across", "rejected")]
    held = rows(page, "qc-held")  # the one-level run is incomplete; the 1-3s run rejected, nothing done about it
    assert [(r[0], r[1], r[3]) for r in held] == [("extra-qc", "incomplete", ""),
                                                  (points[2][1], "rejected", "none recorded")]
    stats = rows(page, "qc-stats")
    assert ["QCN-2611", "all", "3", "43.75", "3.75", "8.6"] in stats  # 40, 43.75, 47.5: SD 3.75
    png = client.get(f"/qa/qc.png?analyzer={ANALYZER}&level=normal")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_qns_dashboard_in_words_with_the_monthly_trend(client):
    log_in(client, "reviewer")
    page = client.get("/qa/qns").text
    assert "rate_pct" not in page and "age_group" not in page
    assert rows(page, "qns-trend") == [["2026-11", "3", "1", "33.3 %", "above target"],
                                       ["2026-12", "1", "0", "0.0 %", "met"]]
    assert ["tech1", "2026-11", "over 3 months", "2", "1", "50.0 %", "5 %", "above target"] in rows(page, "qns")
    assert 'aria-label="QNS rate, per month; 2026-11: 33.3 %; 2026-12: 0.0 %"' in page


def test_turnaround_dashboard_per_month(client):
    log_in(client, "reviewer")
    page = client.get("/qa/turnaround").text
    assert rows(page, "turnaround") == [["2026-11", "3", "1", "2.0 h", "2.0 h"], ["2026-12", "1", "0", "—", "—"]]


def test_audit_trail_in_words_with_names_units_lab_time_and_the_amendment(client):
    log_in(client, "reviewer")
    page = client.get("/qa/runs/N3").text
    audit = rows(page, "audit")
    assert "{'value'" not in page and "Europe/Paris" in page
    charge = next(r for r in audit if r[3] == "finish stimulation")
    assert charge[5] == "Theo Second (tech2)" and "charge: 2.5 mA·min" in charge[7] and charge[1].endswith("CET")
    review = next(r for r in audit if r[3] == "review")
    assert "reviewer: Rita Reviewer (rev1)" in review[7]
    amendment = audit[-1]
    assert amendment[3] == "amendment (version 2)" and amendment[5] == "Rita Reviewer (rev1)"
    assert "comment: — → haemolysed sample" in amendment[7] and "reason: comment omitted" in amendment[7]


def test_runs_filters_by_state_and_date_and_refuses_a_bad_date_in_one_line(client):
    log_in(client, "reviewer")
    r = client.post("/qa/runs", data={"csrf": csrf_of(client), "state": "reported", "date_to": "2026-11-30"})
    assert [row[0] for row in rows(r.text, "runs")] == ["N3"]
    r = client.post("/qa/runs", data={"csrf": csrf_of(client), "date_from": "2026-13-01"})
    error = re.search(r'id="error">([^<]*)<', r.text).group(1)
    assert r.status_code == 200 and error == "From &#39;2026-13-01&#39;: use a date such as 2026-11-01"
