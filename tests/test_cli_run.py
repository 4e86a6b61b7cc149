"""`sweattest run`: bad order or scenario files give one clear line, exit 2, and leave nothing behind."""

import json
import re

import pytest

from sweattest.cli.main import main
from sweattest.record.store.store import open_store
from tests.conftest import PERFORMER_PASSWORD, as_performer
from tests.run_folder import record_in


def _run(write_json, order, scenario, out, db_url, password=PERFORMER_PASSWORD):
    args = ["run", "--order", write_json("order.json", order), "--simulate",
            write_json("scenario.json", scenario), "--out", str(out), "--db", db_url]
    with as_performer(db_url, password) as actor:
        return main(args + actor)


def test_a_wrong_password_refuses_the_run_in_one_line_and_writes_nothing(write_json, order_doc, scenario_doc,
                                                                          tmp_path, db_url, capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url, password="not the password") != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "authentication failed" in err
    _nothing_written(tmp_path / "out", db_url)


def test_the_run_is_recorded_under_the_person_who_gave_the_password(write_json, order_doc, scenario_doc, tmp_path,
                                                                    db_url, capsys):
    order_doc["operator"] = "somebody else"
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 0
    assert "tech1 performs the run" in capsys.readouterr().out
    store = open_store(db_url)
    try:
        [run] = store.list_runs()
        assert run["operator"] == "tech1"
        events = store.events(run["run_id"])
        assert {e.data["actor"] for e in events} <= {"tech1", "timer"}
        assert all(e.data["station"].startswith("host ") for e in events)
    finally:
        store.close()


def _nothing_written(out, db_url):
    assert not out.exists()
    store = open_store(db_url)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_a_good_order_runs(write_json, order_doc, scenario_doc, tmp_path, db_url, capsys):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 0
    record = record_in(tmp_path / "out")
    assert record["order"]["accession"] == "ST-2026-000123"


def _set(doc, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        doc = doc[k]
    if value is _DELETE:
        del doc[keys[-1]]
    else:
        doc[keys[-1]] = value


_DELETE = object()


@pytest.mark.parametrize("path, value, message", [
    ("patient.dob", _DELETE, "order.patient.dob: missing"),
    ("patient.dob", "01/06/2025", "order.patient.dob: '01/06/2025' is not a date; write it as YYYY-MM-DD"),
    ("patient.sex", "female", "order.patient.sex: 'female'; use one of F, M, O, U"),
    ("sites", "left_forearm", "order.sites: expected a list"),
    ("sites", ["left_forearm", "chest"], "order.sites[1]: unknown site 'chest'"),
    ("method", "sweatpatch", "order.method: unknown method 'sweatpatch'"),
    ("accession", 123, "order.accession: expected a string"),
    ("pilocarpine_lot.expires", "2020-01-31", "order.pilocarpine_lot.expires:"),
])
def test_bad_orders_name_the_field(write_json, order_doc, scenario_doc, tmp_path, db_url, capsys, path, value,
                                   message):
    _set(order_doc, path, value)
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    _nothing_written(tmp_path / "out", db_url)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s["sites"].pop("right_forearm"), "scenario.sites.right_forearm: missing"),
    (lambda s: s["sites"]["left_forearm"].update(chloride_mmol_l="45"),
     "scenario.sites.left_forearm.chloride_mmol_l: expected a number"),
    (lambda s: s.update(faults=[{"device": "inducer", "site": "left_forearm", "kind": "fire"}]),
     "scenario.faults[0].kind: 'fire' is not a inducer fault"),
])
def test_bad_scenarios_name_the_field(write_json, order_doc, scenario_doc, tmp_path, db_url, capsys, edit,
                                      message):
    edit(scenario_doc)
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 2
    assert message in capsys.readouterr().err
    _nothing_written(tmp_path / "out", db_url)


def test_invalid_json_names_the_file(write_json, scenario_doc, tmp_path, db_url, capsys):
    assert _run(write_json, '{"accession": "ST-1",', scenario_doc, tmp_path / "out", db_url) == 2
    err = capsys.readouterr().err
    assert "order file" in err and "is not valid JSON" in err
    _nothing_written(tmp_path / "out", db_url)


def _json_with(doc, path, literal):
    """The document as JSON with ``literal`` written verbatim at ``path`` (NaN, Infinity, 1e999999 ...)."""
    _set(doc, path, "@@VALUE@@")
    return json.dumps(doc).replace('"@@VALUE@@"', literal)


@pytest.mark.parametrize("literal, message", [
    ("NaN", "order file .* NaN is not a number"),
    ("Infinity", "order file .* Infinity is not a number"),
    ("-Infinity", "order file .* -Infinity is not a number"),
    ("9**9**9", "order file .* is not valid JSON"),
    ("1" + "0" * 5000, "order file .* a number is too long"),
])
def test_an_order_with_a_number_that_is_not_finite_is_refused(write_json, order_doc, scenario_doc, tmp_path,
                                                              db_url, capsys, literal, message):
    text = _json_with(order_doc, "accession", literal)
    assert _run(write_json, text, scenario_doc, tmp_path / "out", db_url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err) and "Traceback" not in err
    _nothing_written(tmp_path / "out", db_url)


@pytest.mark.parametrize("path, literal, message", [
    ("sites.left_forearm.chloride_mmol_l", "NaN", "scenario file .* NaN is not a number"),
    ("sites.left_forearm.sweat_rate_g_m2_min", "Infinity", "scenario file .* Infinity is not a number"),
    ("sites.left_forearm.chloride_mmol_l", "1e999999",
     r"scenario.sites.left_forearm.chloride_mmol_l: inf is not a finite number"),
    ("sites.left_forearm.chloride_mmol_l", "1" + "0" * 400,
     r"scenario.sites.left_forearm.chloride_mmol_l: a number of 401 digits is not a finite number"),
    ("sites.left_forearm.chloride_mmol_l", '"9**9**9"', r"chloride_mmol_l: expected a number"),
    ("sites.left_forearm.chloride_mmol_l", "1e3", r"chloride_mmol_l: 1000.0 is out of range"),
])
def test_a_scenario_with_a_number_that_is_not_finite_is_refused(write_json, order_doc, scenario_doc, tmp_path,
                                                                db_url, capsys, path, literal, message):
    text = _json_with(scenario_doc, path, literal)
    assert _run(write_json, order_doc, text, tmp_path / "out", db_url) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err) and "Traceback" not in err
    _nothing_written(tmp_path / "out", db_url)


@pytest.mark.parametrize("speed", ["nan", "inf", "-inf", "9**9**9", "1e999999", "1,5", "0"])
def test_a_speed_that_is_not_a_positive_finite_number_is_refused(write_json, order_doc, scenario_doc, tmp_path,
                                                                 db_url, capsys, speed):
    args = ["run", "--order", write_json("order.json", order_doc), "--simulate",
            write_json("scenario.json", scenario_doc), "--out", str(tmp_path / "out"), "--db", db_url,
            f"--speed={speed}"]
    with as_performer(db_url) as actor:
        assert main(args + actor) == 2
    err = capsys.readouterr().err
    assert f"--speed: {speed!r}; use 'instant' or a positive factor such as 60" in err
    _nothing_written(tmp_path / "out", db_url)

def test_a_run_whose_every_site_aborts_exits_3_and_says_why(write_json, order_doc, scenario_doc, tmp_path, db_url,
                                                             capsys):
    scenario_doc["faults"] = [{"device": "inducer", "kind": "open_circuit", "site": site, "at_s": 10}
                              for site in ("left_forearm", "right_forearm")]
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 3
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == ("sweattest: every site was aborted; there is no result for this run: "
                                             "repeat the test (exit status 3)")
    assert "ALARM" not in out  # the inducer confirmed both barriers each time: no inducer alarm


def test_an_output_not_confirmed_off_at_the_normal_end_alarms_and_exits_3(write_json, order_doc, scenario_doc,
                                                                          tmp_path, db_url, capsys):
    scenario_doc["faults"] = [{"device": "inducer", "kind": "stuck_relay", "site": "left_forearm", "at_s": 200}]
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 3
    out = capsys.readouterr().out
    banner = out.index("!! ALARM (left forearm): THE INDUCER IS NOT CONFIRMED SAFE")
    assert "Switch the inducer off at its power switch NOW and remove the electrodes." in out[banner:]
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("sweattest: INDUCER NOT CONFIRMED SAFE: stimulation completed, but the inducer is not "
                           "confirmed safe. Off check: as shown above.") and last.endswith("(exit status 3)")
    # the off check and what to do are on the screen once, in the alarm; every later line points to it
    assert out.count("setpoint 0 confirmed; output NOT confirmed off (OUTP1? read 1 twice)") == 1
    assert out.index("output NOT confirmed off (OUTP1? read 1 twice)") > banner
    assert out.count("take the inducer out of service and call engineering") == 1
    assert "right_forearm  ABORTED: not stimulated: the inducer was declared faulty" in out
