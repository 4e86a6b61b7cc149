"""A simulated run shows the procedure clock's times, marked as simulated: a 30-minute collection never starts and
ends at the same minute because the simulation wrote its records within a second (issue 24)."""

from __future__ import annotations

import copy

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.outputs.report import render_html
from sweattest.record.store.store import open_store
from tests.golden.build import START


def test_an_instant_simulated_run_prints_a_consistent_timeline(tmp_path):
    order = parse_order(copy.deepcopy(DEMO_ORDER))
    records_clock = VirtualClock(start=START)  # the store's clock stands still: every record written "at once"
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", records_clock)
    try:
        result = perform_simulated_run(order, parse_scenario(copy.deepcopy(DEMO_SCENARIO), order.sites), store=store,
                                       clock=VirtualClock(start=START), out_dir=tmp_path / "out")
    finally:
        store.close()
    record = result.record
    assert {e.at for e in store_events(tmp_path)} == {START}  # written at one instant...
    left = record.sites[0]
    start, end, analysed = left.collection.started_at, left.collection.ended_at, left.analysis.at
    assert (end - start).total_seconds() == 30 * 60  # ...shown on the procedure clock: 30 minutes
    assert analysed > end and left.analysis.delay_min == round((analysed - end).total_seconds() / 60)
    assert left.stimulation.started_at < start
    assert record.timeline.startswith("Simulated run: its times are the procedure clock's")
    html = render_html(record)
    assert 'id="timeline">Simulated run: its times are the procedure clock' in html
    assert f"{start:%Y-%m-%d %H:%M} UTC to {end:%H:%M}; 30.0 min" in html


def store_events(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        [run] = store.list_runs()
        return store.events(run["run_id"])
    finally:
        store.close()
