"""Run leases on both backends: one process performs a live run; a stale writer's event is refused.

Times are explicit (a virtual store clock); owners are named as two stations would be.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sweattest.core.errors import ConfigError, RunLeased, RunTakenOver
from sweattest.core.protocol import load_protocol
from sweattest.record.audit import verify as verify_chain
from sweattest.record.lease import Lease, lease_ttl
from sweattest.record.runs import load_run_at, record_event
from tests.store import backends
from tests.store.backends import START

store_url, clock, store = backends.store_url, backends.clock, backends.store  # both backends

A = "bench-a:101:aaaa1111"
B = "bench-b:202:bbbb2222"
ORDER = {"accession": "ST-1", "method": "macroduct", "sites": ["left_forearm"], "operator": "tech1",
         "patient": {"mrn": "MRN1", "dob": "2020-01-01", "family": "Doe", "given": "J", "sex": "F"}}


def _create(store, clock, lease: Lease | None = None) -> None:
    store.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1",
                     created_at=clock.utcnow(), order=ORDER, protocol=load_protocol("macroduct"),
                     lease=lease.for_new_run() if lease else None)


def _append(store, clock, kind="verify_patient", **where):
    return store.append_event("R1", kind=kind, site=None, at=clock.utcnow(), t=0.0, data={"actor": "tech1"},
                              **where)


def test_a_new_run_is_created_leased_and_another_station_is_refused(store, clock):
    _create(store, clock, Lease(store, "R1", owner=A, ttl_s=15))
    row = store.get_run("R1")
    assert (row["lease_owner"], row["lease_until"]) == (A, START + timedelta(seconds=15))
    with pytest.raises(RunLeased) as refused:
        Lease(store, "R1", owner=B, ttl_s=15).acquire()
    assert str(refused.value).startswith("run R1 is being performed by bench-a:101 (lease until 09:00:15 UTC); "
                                         "left alone")
    assert store.get_run("R1")["lease_owner"] == A


def test_renewal_keeps_the_run_and_expiry_lets_another_station_take_it_over(store, clock):
    lease = Lease(store, "R1", owner=A, ttl_s=15)
    _create(store, clock, lease)
    clock.advance(10)
    lease.renew()
    assert store.get_run("R1")["lease_until"] == START + timedelta(seconds=25)
    clock.advance(14.999)
    with pytest.raises(RunLeased):
        Lease(store, "R1", owner=B, ttl_s=15).acquire()
    clock.advance(0.001)  # 15 s without a renewal: the owner is taken for dead
    Lease(store, "R1", owner=B, ttl_s=15).acquire()
    assert store.get_run("R1")["lease_owner"] == B
    with pytest.raises(RunTakenOver, match="run R1 was taken over by another process; this station stops"):
        lease.renew()
    assert store.get_run("R1")["lease_owner"] == B


def test_renewal_writes_at_most_once_a_second(store, clock):
    lease = Lease(store, "R1", owner=A, ttl_s=3)
    _create(store, clock, lease)
    for _ in range(7):  # the stimulation loop calls it at every reading
        clock.advance(0.125)
        lease.renew()
    assert store.get_run("R1")["lease_until"] == START + timedelta(seconds=3)
    clock.advance(0.125)
    lease.renew()
    assert store.get_run("R1")["lease_until"] == START + timedelta(seconds=4)


def test_a_released_run_can_be_taken_at_once_and_releasing_a_lost_lease_changes_nothing(store, clock):
    lease = Lease(store, "R1", owner=A, ttl_s=15)
    _create(store, clock, lease)
    lease.release()
    taker = Lease(store, "R1", owner=B, ttl_s=15).acquire()
    lease.release()  # A no longer holds it: B keeps it
    assert store.get_run("R1")["lease_owner"] == B
    taker.release()
    assert store.get_run("R1")["lease_owner"] is None


def test_the_same_process_may_take_its_own_lease_again(store, clock):
    _create(store, clock, Lease(store, "R1", owner=A, ttl_s=15))
    Lease(store, "R1", owner=A, ttl_s=15).acquire()
    assert store.get_run("R1")["lease_owner"] == A


def test_leasing_a_run_that_does_not_exist_says_so(store, clock):
    with pytest.raises(Exception, match="no run 'R9' in the store"):
        Lease(store, "R9", owner=A, ttl_s=15).acquire()


def test_a_stale_writer_is_refused_and_nothing_is_written(store, clock):
    _create(store, clock, Lease(store, "R1", owner=A, ttl_s=15))
    assert _append(store, clock, after=0, owner=A) == 1
    audit_before = verify_chain(store).entries
    with pytest.raises(RunTakenOver, match="run R1 was changed by another process .*this station stops working "
                                           "on it"):
        _append(store, clock, kind="check_ready", after=0, owner=A)  # it knew no event: the run moved on
    assert [e.kind for e in store.events("R1")] == ["verify_patient"]
    assert verify_chain(store).entries == audit_before
    assert _append(store, clock, kind="check_ready", after=1, owner=A) == 2


def test_an_append_is_refused_while_another_live_process_holds_the_lease(store, clock):
    _create(store, clock, Lease(store, "R1", owner=A, ttl_s=15))
    with pytest.raises(RunTakenOver, match="run R1 is being performed by bench-a:101 .*this station stops"):
        _append(store, clock, after=0, owner=B)
    assert store.events("R1") == []
    clock.advance(15)  # A's lease ran out: B may write (after the events it knows)
    assert _append(store, clock, after=0, owner=B) == 1


def test_an_event_recorded_outside_the_runner_waits_for_the_live_owner(store, clock):
    _create(store, clock, Lease(store, "R1", owner=A, ttl_s=15))
    with pytest.raises(RunTakenOver, match="run R1 is being performed by bench-a:101"):
        record_event(store, clock, "R1", "abort", data={"reason": "by hand"}, actor="rev1")
    run, _, seq = load_run_at(store, "R1")
    assert (run.state, seq) == ("created", 0)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan", "15s", "0.5", "2.9"])
def test_a_bad_lease_time_to_live_is_refused_with_the_variable_named(value):
    """Below 3 s a lease renewed at most once a second runs out between renewals: another process could take
    a live run over."""
    with pytest.raises(ConfigError, match=f"SWEATTEST_LEASE_TTL='{value}': give the run lease time to live in "
                                          "seconds, 3 or more"):
        lease_ttl({"SWEATTEST_LEASE_TTL": value})


def test_the_lease_time_to_live_is_15_s_unless_set():
    assert lease_ttl({}) == 15.0
    assert lease_ttl({"SWEATTEST_LEASE_TTL": " 3.5 "}) == 3.5
    assert lease_ttl({"SWEATTEST_LEASE_TTL": "3"}) == 3.0
