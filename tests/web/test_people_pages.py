"""The people at the bench in the browser: an operator short of the lab's minimums is warned on the first page
after log-in (once, and may go on working); the QA pages of skin reactions and competency show the figures,
the adverse events and the operators marked."""

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.record.competency import add_record
from sweattest.record.skin_reactions import record_skin_reaction
from tests.store.backends import START, make_run
from tests.web.conftest import csrf_of, log_in


@pytest.fixture
def lab(web_app):
    """tech1: two runs on inducer WS-9, a burn on one site; passed an assessment, due again next year."""
    store, clock = web_app.state.web.store, VirtualClock(start=START)
    for run_id in ("W1", "W2"):
        make_run(store, clock, run_id, inducer="WS-9")
        record_skin_reaction(store, run_id, "left_forearm", ("none", ""), who="tech1", at=clock.utcnow())
        grade = ("burn", "6 mm burn at the anode; Dr P told") if run_id == "W2" else ("erythema", "")
        record_skin_reaction(store, run_id, "right_forearm", grade, who="tech1", at=clock.utcnow())
    add_record(store, operator="tech1", kind="assessment", what="Macroduct collection, observed",
               done_on="2026-11-02", assessor="Rita Reviewer", outcome="pass", next_due="2027-11-02",
               recorded_by="rev1", at=clock.utcnow())
    return store


def test_a_tech_short_of_the_minimum_is_warned_once_after_log_in(client, web_app):
    log_in(client, "tech")
    page = client.get("/bench")
    assert page.status_code == 200 and 'id="login-warnings"' in page.text
    assert "Competency: 0 patient tests in the last 365 days, below the lab&#39;s minimum of 10 a year" in page.text
    assert "no competency assessment recorded" in page.text and "you may go on working" in page.text
    assert 'id="new-test"' in page.text  # a warning, not a block
    assert 'id="login-warnings"' not in client.get("/bench").text  # shown once


def test_an_administrator_is_not_warned(client, web_app):
    log_in(client, "admin")
    assert 'id="login-warnings"' not in client.get("/qa/runs").text


def test_the_skin_reactions_page(client, lab):
    log_in(client, "reviewer")
    page = client.get("/qa/skin-reactions").text
    adverse = page.split('id="adverse"')[1].split("</table>")[0]
    assert "W2" in adverse and "burn" in adverse and "6 mm burn at the anode; Dr P told" in adverse
    assert "inform the requesting clinician today" in page
    operator = page.split('id="by-operator"')[1].split("</table>")[0]
    assert "<td>tech1</td><td>4</td><td>2</td><td>1</td><td>0</td><td>1</td>" in operator
    assert "50.0 %" in operator and "25.0 %" in operator
    assert "<td>WS-9</td>" in page.split('id="by-inducer"')[1]
    empty = client.get("/qa/skin-reactions?date_from=2030-01-01").text
    assert 'id="no-adverse"' in empty
    bad = client.get("/qa/skin-reactions?date_from=2026-12-01&date_to=2026-11-01").text
    assert 'id="error"' in bad and "is after" in bad


def test_the_competency_page_marks_operators_short_of_the_minimums(client, lab):
    log_in(client, "reviewer")
    page = client.get("/qa/competency?year=2026").text
    rows = {row.split("<td>")[1].split("</td>")[0]: row
            for row in page.split('id="competency"')[1].split("</table>")[0].split("<tr")[2:]}
    assert 'class="marked"' in rows["tech1"] and "2 patient tests in the period" in rows["tech1"]
    assert "100.0 %" in rows["tech1"] and "2026-11-02" in rows["tech1"] and "2027-11-02" in rows["tech1"]
    assert "rev1" not in rows  # a reviewer who never tests is not followed as an operator
    assert "Macroduct collection, observed" in page.split('id="records"')[1]
    assert 'id="error"' in client.get("/qa/competency?year=twenty").text


def test_the_qa_pages_are_for_qa(client, lab):
    log_in(client, "tech")
    csrf_of(client)
    for path in ("/qa/skin-reactions", "/qa/competency"):
        assert client.get(path, follow_redirects=False).status_code == 403


def test_the_runs_list_flags_an_adverse_skin_reaction(client, lab):
    log_in(client, "reviewer")
    page = client.get("/qa/runs").text
    w2 = page.split('href="/qa/runs/W2"')[1].split("</tr>")[0]
    assert 'class="flag flag-skin"' in w2
    assert 'class="flag flag-skin"' not in page.split('href="/qa/runs/W1"')[1].split("</tr>")[0]
