"""The people at the bench from the command line: a simulated run grades the skin (none, or what the scenario
says), an adverse event is told and printed on the report, the performer is warned of a competency shortfall
(and runs all the same), and `sweattest competency add|list` records training and assessments (bad input: one
line, nothing stored)."""

import io
import json
from unittest import mock

import pytest

from sweattest.cli.main import main
from sweattest.record.competency import list_records
from sweattest.record.skin_reactions import run_skin_reactions
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user
from tests.conftest import PERFORMER_PASSWORD, as_performer
from tests.run_folder import record_in

QA_PASSWORD = "rev1 review password"


def _run(write_json, order, scenario, out, db_url):
    args = ["run", "--order", write_json("order.json", order), "--simulate",
            write_json("scenario.json", scenario), "--out", str(out), "--db", db_url]
    with as_performer(db_url, PERFORMER_PASSWORD) as actor:
        return main(args + actor)


def test_a_simulated_run_grades_the_skin_and_an_adverse_event_is_told_and_reported(write_json, order_doc,
                                                                                  scenario_doc, tmp_path, db_url,
                                                                                  capsys):
    scenario_doc["sites"]["right_forearm"] |= {"skin": "burn", "skin_note": "4 mm burn at the anode; Dr P told"}
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 0
    out = capsys.readouterr().out
    assert "right forearm: burn. Adverse skin reaction: document it" in out
    assert "inform the requesting clinician today" in out
    store = open_store(db_url)
    try:
        [run] = store.list_runs()
        reactions = run_skin_reactions(store, run["run_id"])
    finally:
        store.close()
    assert {s: r.grade for s, r in reactions.items()} == {"left_forearm": "none", "right_forearm": "burn"}
    record = record_in(tmp_path / "out")
    assert [(s["site"], s["grade"], s["adverse"]) for s in record["skin"]] == [
        ("left_forearm", "none", False), ("right_forearm", "burn", True)]
    report = next((tmp_path / "out").glob("*.html")).read_text()
    assert "Right forearm: adverse event — burn after stimulation, recorded by tech1: 4 mm burn at the anode" in report


def test_a_scenario_burn_without_a_note_is_refused_before_anything_runs(write_json, order_doc, scenario_doc,
                                                                        tmp_path, db_url, capsys):
    scenario_doc["sites"]["left_forearm"]["skin"] = "burn"
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scenario.sites.left_forearm.skin: a burn is an adverse event" in err
    assert not (tmp_path / "out").exists()


def test_the_performer_is_warned_of_a_competency_shortfall_and_the_run_goes_on(write_json, order_doc, scenario_doc,
                                                                               tmp_path, db_url, capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 0
    out = capsys.readouterr().out
    assert ("sweattest: warning: Competency: 0 patient tests in the last 365 days, below the lab's minimum of 10 a "
            "year. Tell QA; you may go on working.") in out
    assert "sweattest: warning: Competency: no competency assessment recorded." in out
    assert "Files written to" in out


@pytest.fixture
def qa_db(db_url):
    from tests.conftest import add_performer

    add_performer(db_url)
    store = open_store(db_url)
    try:
        add_user(store, "rev1", "Rita Reviewer", "reviewer", QA_PASSWORD, actor="setup")
    finally:
        store.close()
    return db_url


def _add(db_url, *extra, password=QA_PASSWORD, actor="rev1"):
    args = ["competency", "add", "tech1", "--kind", "assessment", "--what", "Macroduct collection, observed",
            "--date", "2026-01-15", "--assessor", "Rita Reviewer", "--outcome", "pass", "--next-due", "2027-01-15",
            "--as", actor, "--password-stdin", "--db", db_url, *extra]
    with mock.patch("sys.stdin", io.StringIO(password + "\n")):
        return main(args)


def _records(db_url):
    store = open_store(db_url)
    try:
        return list_records(store)
    finally:
        store.close()


def test_competency_add_and_list(qa_db, capsys):
    assert _add(qa_db) == 0
    assert "recorded assessment #1 of tech1 on 2026-01-15: pass, next due 2027-01-15" in capsys.readouterr().out
    assert main(["competency", "list", "--db", qa_db, "--format", "json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) | {"at": None} == {
        "id": 1, "operator": "tech1", "kind": "assessment", "what": "Macroduct collection, observed",
        "done_on": "2026-01-15", "assessor": "Rita Reviewer", "outcome": "pass", "next_due": "2027-01-15",
        "recorded_by": "rev1", "at": None}
    assert main(["competency", "list", "--db", qa_db, "--operator", "nobody"]) == 0
    assert capsys.readouterr().out == "no competency records\n"


@pytest.mark.parametrize("extra, kw, message", [
    (("--date", "15/01/2026"), {}, "date '15/01/2026': use a date such as 2026-11-01"),
    (("--next-due", "2025-01-01"), {}, "next due 2025-01-01: must be after the date of this assessment"),
    ((), {"actor": "tech1", "password": PERFORMER_PASSWORD},
     "tech1 is a tech: only a reviewer or qa or admin can record"),
    ((), {"password": "wrong"}, "authentication failed"),
])
def test_a_wrong_competency_entry_is_one_line_and_nothing_is_stored(qa_db, capsys, extra, kw, message):
    assert _add(qa_db, *extra, **kw) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert _records(qa_db) == []


def test_an_unknown_outcome_is_refused_by_the_command_line(qa_db, capsys):
    with pytest.raises(SystemExit) as exit_:
        _add(qa_db, "--outcome", "ok")
    assert exit_.value.code == 2 and "invalid choice: 'ok'" in capsys.readouterr().err
    assert _records(qa_db) == []


def test_a_scenario_skin_survives_the_record_a_resumed_run_reads_it_from(scenario_doc):
    from sweattest.bench.simulation.scenario import parse_scenario

    scenario_doc["sites"]["left_forearm"] |= {"skin": "erythema"}
    scenario = parse_scenario(scenario_doc, ("left_forearm", "right_forearm"))
    assert parse_scenario(scenario.as_dict(), ("left_forearm", "right_forearm")) == scenario
    assert (scenario.sites["left_forearm"].skin, scenario.sites["right_forearm"].skin) == ("erythema", "none")


def test_at_the_terminal_enter_alone_chooses_no_grade_and_a_burn_asks_for_its_note():
    from sweattest.cli.operator import ConsoleOperator
    from sweattest.core.rules.skin import SkinCheck

    out = io.StringIO()
    tech = ConsoleOperator("tech1", stdin=io.StringIO("\nnone\nrash\nburn\n4 mm at the anode, Dr P told\n"
                                                      "erythema: faded in 10 min\n"), out=out)
    assert tech.check_skin("left_forearm") == SkinCheck("none", "")  # Enter alone was asked again
    assert ("not accepted: left forearm: choose how its skin looks where the electrodes were (no reaction, redness, "
            "blister or burn); nothing is chosen for you") in out.getvalue()
    assert "[Enter" not in out.getvalue()  # no answer is offered as the default
    assert tech.check_skin("left_forearm") == SkinCheck("burn", "4 mm at the anode, Dr P told")
    assert "not accepted: left forearm: skin reaction 'rash' is not a grade" in out.getvalue()
    assert "a burn is an adverse event: write what you saw and did" in out.getvalue()
    assert tech.check_skin("right_forearm") == SkinCheck("erythema", "faded in 10 min")
