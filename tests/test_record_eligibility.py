"""The run record keeps eligibility and withholds the interpretation when a block finding exists for the run
(CLSI C34; CFF 2017: a test collected against a block is not interpreted; repeat the test)."""

from __future__ import annotations

from datetime import UTC, datetime

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.run_record import run_record
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store

BLOCK = {"code": "age_under_minimum", "severity": "block", "message": "patient is under the minimum age of 48 h",
         "source": "CLSI C34; CFF 2007"}


def _finished_run(tmp_path):
    order = parse_order(DEMO_ORDER)
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    result = perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=store,
                                   clock=VirtualClock(start=datetime(2026, 11, 20, 10, tzinfo=UTC)),
                                   out_dir=tmp_path / "out")
    return store, result


def test_a_run_keeps_its_eligibility_and_is_interpreted_without_a_block(tmp_path):
    store, result = _finished_run(tmp_path)
    try:
        assert result.record.eligibility["findings"] == [] and result.record.interpretation.category
        run, order = load_run(store, result.run.run_id)
        assert order["eligibility"]["limits"]["min_weight"] == "2 kg"
    finally:
        store.close()


def test_a_block_finding_withholds_the_interpretation_in_the_record(tmp_path):
    store, result = _finished_run(tmp_path)
    try:
        run, order = load_run(store, result.run.run_id)
        order["eligibility"]["findings"].append(BLOCK)
        record = run_record(run, order, generated_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    finally:
        store.close()
    interp = record.interpretation
    assert interp.category is None and interp.repeat_recommended is True
    assert interp.wording.startswith("Interpretation withheld: ")  # never blank: it says why
    assert "age_under_minimum" in interp.withheld and "Repeat the test" in interp.withheld
    assert record.sites[0].chloride.text  # the measurement stays on record, uninterpreted


def test_the_report_prints_why_the_interpretation_is_withheld_and_no_category(tmp_path):
    from sweattest.outputs.report import render_html

    store, result = _finished_run(tmp_path)
    try:
        run, order = load_run(store, result.run.run_id)
        order["eligibility"]["findings"].append(BLOCK)
        html = render_html(run_record(run, order, generated_at=datetime(2026, 11, 20, 12, tzinfo=UTC)))
    finally:
        store.close()
    assert ">Interpretation withheld: patient is under the minimum age of 48 h" in html
    assert "Repeat the test" in html and "BLOCK: patient is under the minimum age" in html
    assert "Intermediate" not in html.split('id="interpretation"')[1].split("</p>")[0]
