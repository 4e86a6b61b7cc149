"""The demo run (and variants) on the virtual clock with a fixed run id: stable inputs for golden files."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store

#: 06:00 UTC on the day the US changes to daylight saving time: the report shows lab-zone times.
START = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
RUN_ID = "R20260308-GOLDEN01"
#: Every HL7 delimiter, markup and a quote in one patient name; a comment with a line break.
HOSTILE_FAMILY = "O'Brien|Smith^<script>alert(1)</script>&~\\"
HOSTILE_COMMENT = "=cmd|' /C calc'!A0 patient anxious\nsecond line: see ~ & \\ | ^"


def demo_order(hostile: bool = False) -> dict:
    order = copy.deepcopy(DEMO_ORDER)
    if hostile:
        order["patient"]["family"] = HOSTILE_FAMILY
        order["patient"]["given"] = "Ann & <b>Marie</b>"
        order["comment"] = HOSTILE_COMMENT
    return order


def simulated(tmp: Path, order_doc: dict | None = None, scenario_doc: dict | None = None, run_id: str = RUN_ID,
              db_url: str | None = None):
    """Run the demo (or the given order/scenario) on the virtual clock; returns (RunResult, store URL)."""
    order = parse_order(order_doc or demo_order())
    scenario = parse_scenario(scenario_doc or copy.deepcopy(DEMO_SCENARIO), order.sites)
    url = db_url or f"sqlite:///{tmp / 'runs.db'}"
    clock = VirtualClock(start=START)
    store = open_store(url, clock)  # records written on the run's clock: the same files every time
    try:
        result = perform_simulated_run(order, scenario, store=store, clock=clock,
                                       out_dir=tmp / "out", run_id=run_id)
    finally:
        store.close()
    return result, url
