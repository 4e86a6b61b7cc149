"""Resume re-checks nothing: the eligibility findings, reasons and limits stored when the run started are kept,
even if the lab's limits changed meanwhile (the decision was taken, and recorded, before stimulation)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import RunService
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.rules.eligibility import Limits
from sweattest.core.units import Q_
from sweattest.record.store.store import open_store

ON = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_a_resumed_run_keeps_its_stored_eligibility(tmp_path):
    doc = copy.deepcopy(DEMO_ORDER) | {"overrides": [{"code": "age_under_10_days", "reason": "clinician asked"}]}
    doc["patient"]["dob"] = "2026-11-15"  # 5 days old: CFF 2017 < 10 days warns
    order = parse_order(doc)
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        started = RunService(store).start(order, clock=VirtualClock(start=ON),
                                          scenario=parse_scenario(DEMO_SCENARIO, order.sites))
        started.bench.shutdown()  # the process stops before stimulation; its lease is given up
        started.runner.lease.release()
        # the lab now blocks under 2 weeks (ACB 2014): resume does not re-check the patient
        uk = RunService(store, LabConfig(eligibility=Limits(min_age=Q_(2, "week"))))
        active = uk.resume(started.run_id)
        result = uk.finish(active, active.perform(), tmp_path / "out")
    finally:
        store.close()
    eligibility = result.record.eligibility
    assert [f["code"] for f in eligibility["findings"]] == ["age_under_10_days", "override"]
    assert eligibility["overrides"] == [{"code": "age_under_10_days", "reason": "clinician asked", "by": "tech1"}]
    assert eligibility["limits"]["min_age"] == "48 h"
    assert result.record.interpretation.category is not None
