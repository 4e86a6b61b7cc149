"""The checks of a start are one: `RunService.check` writes nothing and says what a start would refuse, and the
start (the command line's and the bench screens') takes the same checks again."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import NoInstruments, OrderRefused, RunService
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.core.purpose import SIMULATED
from sweattest.record.audit import verify
from sweattest.record.store.store import open_store

ON = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=ON))
    yield store
    store.close()


def _entries(store) -> int:
    return int(verify(store).message().split(": ", 1)[1].split(" ", 1)[0])


def test_check_writes_nothing_and_refuses_what_the_start_refuses(store):
    order = parse_order(copy.deepcopy(DEMO_ORDER))
    scenario = parse_scenario(DEMO_SCENARIO, order.sites)
    service = RunService(store)
    before = _entries(store)
    checks = service.check(order, clock=VirtualClock(start=ON), scenario=scenario)
    assert checks.purpose == SIMULATED and checks.repeat is None and checks.proficiency is None
    assert _entries(store) == before and store.list_runs() == []
    with pytest.raises(NoInstruments, match="no instruments are configured for this station"):
        service.check(order, clock=VirtualClock(start=ON))  # a run on instruments, none configured
    active = service.start(order, clock=VirtualClock(start=ON, speed=None), scenario=scenario)
    active.bench.shutdown()
    active.runner.lease.release()
    with pytest.raises(ValidationError, match="already has run") as by_check:  # the accession has a run now
        service.check(order, clock=VirtualClock(start=ON), scenario=scenario)
    with pytest.raises(ValidationError, match="already has run") as by_start:
        service.start(order, clock=VirtualClock(start=ON), scenario=scenario)
    assert str(by_check.value) == str(by_start.value) and len(store.list_runs()) == 1


def test_an_expired_lot_is_refused_by_the_check_and_is_not_an_lis_refusal(store):
    doc = copy.deepcopy(DEMO_ORDER) | {"pilocarpine_lot": {"lot": "P1", "expires": "2026-11-19"}}
    order = parse_order(doc)
    with pytest.raises(OrderRefused, match="expired on 2026-11-19") as refused:
        RunService(store).check(order, clock=VirtualClock(start=ON), scenario=parse_scenario(DEMO_SCENARIO,
                                                                                               order.sites))
    assert refused.value.for_lis is False  # not an open LIS order: nothing to tell the LIS
