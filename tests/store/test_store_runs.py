"""Runs, events and readings: what the runner writes comes back exactly, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sweattest.errors import StoreError
from sweattest.store import INITIAL_STATE, StoredEvent, open_store

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ORDER = {"patient": {"mrn": "MRN1", "dob": "2024-01-02"}, "sites": ["left", "right"], "weight": None}


def new_run(store, run_id="R1", **kw):
    args = dict(accession="ACC1", method="macroduct", operator="amy", patient_mrn="MRN1",
                created_at=T0, order=ORDER)
    args.update(kw)
    store.create_run(run_id, **args)


def test_created_run_reads_back_with_its_order(store):
    new_run(store)
    run = store.get_run("R1")
    assert run["state"] == INITIAL_STATE
    assert run["order"] == ORDER
    assert run["created_at"] == T0 and run["created_at"].tzinfo is not None
    assert run["accession"] == "ACC1" and run["operator"] == "amy"


def test_unknown_run_is_none(store):
    assert store.get_run("nope") is None


def test_duplicate_run_id_is_refused_and_first_run_kept(store):
    new_run(store)
    with pytest.raises(StoreError, match="R1 already exists"):
        new_run(store, accession="OTHER")
    assert store.get_run("R1")["accession"] == "ACC1"


def test_events_get_consecutive_sequence_numbers_and_round_trip(store):
    new_run(store)
    data = {"current": {"value": 1.5, "unit": "mA"}, "ok": True, "list": [1, "a", None], "n": 3}
    seqs = [store.append_event("R1", kind="stim_started", site="left", at=T0 + timedelta(seconds=i),
                               t=float(i), data=data) for i in range(3)]
    store.append_event("R1", kind="override", site=None, at=T0, t=9.5, data={}, accepted=False)
    assert seqs == [1, 2, 3]
    evs = store.events("R1")
    assert [e.seq for e in evs] == [1, 2, 3, 4]
    assert isinstance(evs[0], StoredEvent)
    assert evs[1] == StoredEvent("R1", 2, "stim_started", "left", T0 + timedelta(seconds=1), 1.0, data, True)
    assert evs[3].accepted is False and evs[3].site is None
    assert evs[0].at.tzinfo == UTC


def test_sequence_numbers_are_per_run(store):
    new_run(store, "R1")
    new_run(store, "R2")
    store.append_event("R1", kind="a", site=None, at=T0, t=0, data={})
    assert store.append_event("R2", kind="a", site=None, at=T0, t=0, data={}) == 1


def test_event_for_unknown_run_is_refused(store):
    with pytest.raises(StoreError, match="no run 'R9'"):
        store.append_event("R9", kind="a", site=None, at=T0, t=0, data={})


def test_naive_time_is_refused_and_nothing_stored(store):
    new_run(store)
    with pytest.raises(StoreError, match="naive datetime"):
        store.append_event("R1", kind="a", site=None, at=datetime(2026, 1, 1), t=0, data={})  # noqa: DTZ001
    with pytest.raises(StoreError, match="naive"):
        new_run(store, "R2", created_at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert store.events("R1") == [] and store.get_run("R2") is None


def test_other_time_zones_are_stored_as_utc(store):
    new_run(store, created_at=datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    assert store.get_run("R1")["created_at"] == T0


@pytest.mark.parametrize("bad", [{"q": object()}, {"x": (1, 2)}, {"x": float("nan")}, {1: "a"}])
def test_data_that_is_not_plain_json_is_refused(store, bad):
    new_run(store)
    with pytest.raises(StoreError, match="nothing was stored"):
        store.append_event("R1", kind="a", site=None, at=T0, t=0, data=bad)
    assert store.events("R1") == []


def test_readings_batch_round_trips_and_filters(store):
    new_run(store)
    rows = [{"site": "left", "kind": "stimulation_sample", "at": T0 + timedelta(seconds=i), "t": i * 0.5,
             "data": {"current": {"value": 1.5, "unit": "mA"}}} for i in range(5)]
    rows.append({"site": "right", "kind": "weight", "at": T0, "t": 60.0,
                 "data": {"value": 100.0, "unit": "mg"}})
    store.append_readings("R1", rows)
    assert len(store.readings("R1")) == 6
    assert [r["t"] for r in store.readings("R1", site="left")] == [0.0, 0.5, 1.0, 1.5, 2.0]
    weight = store.readings("R1", kind="weight")
    assert weight == [{"site": "right", "kind": "weight", "at": T0, "t": 60.0,
                       "data": {"value": 100.0, "unit": "mg"}}]


def test_bad_reading_in_batch_stores_none_of_the_batch(store):
    new_run(store)
    good = {"site": "left", "kind": "weight", "at": T0, "t": 1.0, "data": {}}
    with pytest.raises(StoreError, match="no reading of the batch was stored"):
        store.append_readings("R1", [good, {"site": "left", "kind": "weight", "t": 1.0, "data": {}}])
    with pytest.raises(StoreError, match="naive"):
        store.append_readings("R1", [good, dict(good, at=datetime(2026, 1, 1))])  # noqa: DTZ001
    assert store.readings("R1") == []


def test_state_change_updates_run(store):
    new_run(store)
    store.set_run_state("R1", "stimulating", T0 + timedelta(minutes=1))
    run = store.get_run("R1")
    assert run["state"] == "stimulating" and run["updated_at"] == T0 + timedelta(minutes=1)
    with pytest.raises(StoreError, match="no run"):
        store.set_run_state("R9", "x", T0)


def test_list_runs_filters(store):
    new_run(store, "R1", operator="amy")
    new_run(store, "R2", operator="bob", created_at=T0 + timedelta(days=1))
    new_run(store, "R3", operator="amy", created_at=T0 + timedelta(days=2))
    store.set_run_state("R3", "reported", T0 + timedelta(days=2))
    assert [r["run_id"] for r in store.list_runs()] == ["R1", "R2", "R3"]
    assert [r["run_id"] for r in store.list_runs(operator="amy")] == ["R1", "R3"]
    assert [r["run_id"] for r in store.list_runs(state="reported")] == ["R3"]
    assert [r["run_id"] for r in store.list_runs(since=T0 + timedelta(days=1))] == ["R2", "R3"]
    assert [r["run_id"] for r in store.list_runs(until=T0 + timedelta(days=1))] == ["R1"]
    assert len(store.list_runs(limit=2)) == 2


def test_committed_events_survive_reopening(db_url, clock):
    store = open_store(db_url, clock=clock)
    new_run(store)
    store.append_event("R1", kind="a", site=None, at=T0, t=0, data={"x": 1})
    store.close()
    again = open_store(db_url, clock=clock)
    try:
        assert [e.data for e in again.events("R1")] == [{"x": 1}]
    finally:
        again.close()
