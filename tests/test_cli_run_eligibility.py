"""`sweattest run` applies the run service's eligibility check: a block or a warning without its own reason
refuses the order before anything is written (no run, no event, nothing stimulated); reasons given per
warning are kept with the run and printed on the report. Sources are cited per case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sweattest.cli import run as cli_run
from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store
from tests.conftest import as_performer
from tests.run_folder import record_in

ON = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock_at_on(monkeypatch):
    monkeypatch.setattr(cli_run, "run_clock", lambda speed, simulated: VirtualClock(start=ON))


def _run(write_json, order, scenario, out, db_url, *extra):
    with as_performer(db_url) as actor:
        return main(["run", "--order", write_json("order.json", order), "--simulate",
                     write_json("scenario.json", scenario), "--out", str(out), "--db", db_url, *extra, *actor])


def _nothing_written(out, db_url):
    assert not out.exists()
    store = open_store(db_url)
    try:
        assert store.list_runs() == []  # no run, hence no event and no start_stimulation
    finally:
        store.close()


def _patient(order_doc, **fields):
    order_doc["patient"] |= fields
    return order_doc


# (patient fields, order fields, message, source)
REFUSED = [
    ({"dob": "2026-11-20"}, {}, "do not stimulate: patient is under the minimum age of 48 h",
     "CLSI C34; CFF 2007: born today, under 48 hours: block"),
    ({"dob": "2026-11-19"}, {}, "under the minimum age", "CLSI C34; CFF 2007: born yesterday: block"),
    ({"dob": "2026-11-21"}, {}, "the date of birth is in the future", "entry error: born tomorrow"),
    ({"weight": "1.9 kg"}, {}, "no reason yet for: weight_at_or_under_minimum", "CFF 2017: > 2 kg"),
    ({"dob": "2026-11-17", "gestational_age_at_birth": "35 weeks"}, {"overrides": [
        {"code": "age_under_10_days", "reason": "newborn screen positive, clinician asked"}]},
     "no reason yet for: corrected_ga_under_minimum", "CFF 2017: >= 36 weeks corrected gestational age"),
    ({}, {"conditions": ["open_oxygen", "eczema"],
          "overrides": [{"code": "condition_eczema", "reason": "forearms clear"}]},
     "no reason yet for: condition_open_oxygen", "CLSI C34: one reason does not cover a fire-risk warning too"),
    ({}, {"conditions": ["dehydration"]}, "no reason yet for: condition_dehydration", "CLSI C34"),
    ({}, {"conditions": ["flu"]}, "order.conditions[0]: unknown condition 'flu'", "the order's own validation"),
    ({"weight": "3.2"}, {}, "order.patient.weight: 3.2 has no unit", "units travel with numbers"),
    ({"weight": "3.2 weeks"}, {}, "order.patient.weight: 3.2 week is not a mass", "units travel with numbers"),
    ({"weight": 3.2}, {}, 'order.patient.weight: 3.2: write it as text with its unit, like "3.2 kg"',
     "units travel with numbers"),
    ({"gestational_age_at_birth": "50 weeks"}, {}, "order.patient.gestational_age_at_birth: 50 weeks is not a "
     "possible value (20-45 week)", "an impossible gestational age is an entry error"),
    ({"weight": "32 kg"}, {"overrides": [{"code": "condition_eczema", "reason": "x"}]},
     "override 'condition_eczema': there is no such finding", "an override must name a finding"),
    ({}, {"overrides": [{"code": "condition_eczema"}]}, "order.overrides[0]: expected", "order format"),
    ({}, {"conditions": ["eczema"], "overrides": [{"code": "condition_eczema", "reason": " "}]},
     "order.overrides[0].reason: empty", "a reason is recorded, never blank"),
]


@pytest.mark.parametrize(("patient", "fields", "message", "source"), REFUSED)
def test_an_ineligible_order_is_refused_before_anything_is_written(write_json, order_doc, scenario_doc, tmp_path,
                                                                   db_url, capsys, patient, fields, message, source):
    doc = _patient(order_doc, **patient) | fields
    assert _run(write_json, doc, scenario_doc, tmp_path / "out", db_url) == 2, source
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, (source, err)
    _nothing_written(tmp_path / "out", db_url)


# (patient fields, order fields, overridden codes, source)
ALLOWED = [
    ({"weight": "2.1 kg"}, {}, [], "CFF 2017: 2.1 kg is above 2 kg"),
    ({"weight": "1.9 kg"}, {"overrides": [{"code": "weight_at_or_under_minimum", "reason": "symptomatic, "
                                           "clinician asked"}]}, ["weight_at_or_under_minimum"],
     "CFF 2017: a warning may proceed with a recorded reason"),
    ({"dob": "2026-11-06"}, {}, [], "CFF 2007; CLSI C34: 2 weeks of age"),
    ({"dob": "2026-11-17", "gestational_age_at_birth": "36 weeks"},
     {"overrides": [{"code": "age_under_10_days", "reason": "meconium ileus, clinician asked"}]},
     ["age_under_10_days"], "CFF 2017: 36 weeks corrected; under 10 days with a reason"),
    ({}, {"conditions": ["open_oxygen", "eczema"],
          "overrides": [{"code": "condition_eczema", "reason": "forearms clear"},
                        {"code": "condition_open_oxygen", "reason": "oxygen by nasal cannula, off during test"}]},
     ["condition_eczema", "condition_open_oxygen"], "CLSI C34: each warning with its own reason"),
]


@pytest.mark.parametrize(("patient", "fields", "overridden", "source"), ALLOWED)
def test_an_eligible_order_runs_and_keeps_its_findings_and_reasons(write_json, order_doc, scenario_doc, tmp_path,
                                                                   db_url, capsys, patient, fields, overridden,
                                                                   source):
    doc = _patient(order_doc, **patient) | fields
    assert _run(write_json, doc, scenario_doc, tmp_path / "out", db_url) == 0, source
    record = record_in(tmp_path / "out")
    assert [o["code"] for o in record["eligibility"]["overrides"]] == overridden, source
    assert record["eligibility"]["limits"]["min_age"] == "48 h"
    assert record["interpretation"]["category"] is not None
    html = next((tmp_path / "out").glob("*.html")).read_text()
    for o in fields.get("overrides", []):
        assert f"Proceeded despite {o['code']}: {o['reason']}" in html, source
    store = open_store(db_url)
    try:
        run_id = store.list_runs()[0]["run_id"]
        verify = next(e for e in store.events(run_id) if e.kind == "verify_patient")
        assert [o["code"] for o in verify.data["overrides"]] == overridden
    finally:
        store.close()


def test_a_lab_that_sets_2_weeks_as_its_minimum_age_refuses_a_10_day_old(write_json, order_doc, scenario_doc,
                                                                         tmp_path, db_url, capsys):
    """ACB 2014 (UK): >= 2 weeks; lab configuration [eligibility] min_age."""
    config = tmp_path / "sweattest.toml"
    config.write_text('[eligibility]\nmin_age = "2 weeks"\nmin_weight = "3 kg"\n', encoding="utf-8")
    doc = _patient(order_doc, dob="2026-11-10")
    assert _run(write_json, doc, scenario_doc, tmp_path / "out", db_url, "--config", str(config)) == 2
    assert "under the minimum age of 2 week" in capsys.readouterr().err
    _nothing_written(tmp_path / "out", db_url)


def test_collection_to_analysis_past_the_lab_limit_is_flagged_in_the_record_and_report(
        write_json, order_doc, scenario_doc, tmp_path, db_url, capsys):
    """CFF 2017 statement 5: analyse within a few hours; the lab's limit here is 30 s, so the left site
    (analysed a minute after its collection ended) is flagged and the right one (20 s) is not."""
    config = tmp_path / "sweattest.toml"
    config.write_text('[analysis]\nmax_delay = "30 s"\n', encoding="utf-8")
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url, "--config", str(config)) == 0
    record = record_in(tmp_path / "out")
    left, right = record["sites"]
    assert left["analysis"]["delay_min"] == 1 and left["analysis"]["limit"]["max_delay"] == "30 s"
    assert [f["code"] for f in left["findings"]].count("analysis_delayed") == 1
    assert "analysis_delayed" not in [f["code"] for f in right["findings"]]
    html = next((tmp_path / "out").glob("*.html")).read_text()
    assert "left_forearm: analysed more than 30 s after collection (delay 1 min)" in html


def test_by_default_a_same_day_analysis_is_not_flagged(write_json, order_doc, scenario_doc, tmp_path, db_url):
    assert _run(write_json, order_doc, scenario_doc, tmp_path / "out", db_url) == 0
    record = record_in(tmp_path / "out")
    assert all(s["analysis"]["limit"]["max_delay"] == "same day" for s in record["sites"])
    assert not any(f["code"] == "analysis_delayed" for s in record["sites"] for f in s["findings"])
