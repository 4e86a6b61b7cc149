"""Write-ahead: a run's state is rebuilt from its stored events alone and equals the state the runner
reached, for the demo run and its variants (QNS site, stimulation fault), on both backends."""

from __future__ import annotations

import copy

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.record.runs import load_run
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def _qns_left(doc):
    doc["sites"]["left_forearm"]["sweat_rate_g_m2_min"] = 0.3
    return doc


def _open_circuit(doc):
    doc["faults"] = [{"device": "inducer", "kind": "open_circuit", "site": "right_forearm", "at_s": 60}]
    return doc


@pytest.mark.parametrize("variant", [lambda d: d, _qns_left, _open_circuit], ids=["demo", "qns", "fault"])
def test_every_demo_run_rebuilds_from_its_events(store, tmp_path, variant):
    order = parse_order(copy.deepcopy(DEMO_ORDER))
    scenario = parse_scenario(variant(copy.deepcopy(DEMO_SCENARIO)), order.sites)
    result = perform_simulated_run(order, scenario, store=store, clock=VirtualClock(), out_dir=tmp_path / "out")
    rebuilt, stored_order = load_run(store, result.run.run_id)
    assert rebuilt == result.run
    assert store.get_run(result.run.run_id)["state"] == result.run.state
    assert stored_order["accession"] == order.accession
