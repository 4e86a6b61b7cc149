"""The run store: writes commit before returning, times stay aware UTC, bad URLs give clear errors."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sweattest.errors import StoreError
from sweattest.store import open_store

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "runs.db"))
    yield s
    s.close()


def _run(store, run_id="R1"):
    store.create_run(run_id, accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1",
                     created_at=AT, order={"accession": "ST-1", "sites": ["left_forearm"]})


def test_events_are_numbered_and_come_back_as_written(store):
    _run(store)
    assert store.append_event("R1", kind="verify_patient", site=None, at=AT, t=0.0, data={"a": 1}) == 1
    assert store.append_event("R1", kind="abort", site="left_forearm", at=AT + timedelta(seconds=5), t=5.0,
                              data={"reason": "x"}, accepted=False) == 2
    [first, second] = store.events("R1")
    assert (first.kind, first.seq, first.data, first.accepted) == ("verify_patient", 1, {"a": 1}, True)
    assert second.site == "left_forearm" and second.at == AT + timedelta(seconds=5) and not second.accepted
    assert second.at.utcoffset() == timedelta(0)


def test_a_write_survives_reopening(tmp_path):
    path = str(tmp_path / "runs.db")
    s = open_store(path)
    _run(s)
    s.append_readings("R1", [{"site": "left_forearm", "kind": "stimulation_sample", "at": AT, "t": 0.1,
                              "data": {"current_ma": 1.5}}])
    s.close()
    again = open_store(path)
    assert again.get_run("R1")["order"]["accession"] == "ST-1"
    assert again.readings("R1", kind="stimulation_sample")[0]["data"] == {"current_ma": 1.5}
    again.close()


def test_other_zones_are_stored_as_utc_and_naive_times_refused(store):
    _run(store)
    plus_two = datetime(2026, 11, 20, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    store.append_event("R1", kind="k", site=None, at=plus_two, t=0, data={})
    assert store.events("R1")[0].at == AT
    with pytest.raises(StoreError, match="naive datetime"):
        store.append_event("R1", kind="k", site=None, at=datetime(2026, 1, 1), t=0, data={})  # noqa: DTZ001
    assert len(store.events("R1")) == 1  # nothing half-written


def test_an_event_for_an_unknown_run_is_refused(store):
    with pytest.raises(StoreError, match="cannot write"):
        store.append_event("nope", kind="k", site=None, at=AT, t=0, data={})


@pytest.mark.parametrize("url, message", [
    ("nosuchdb://x", "cannot use the run store"),
    ("sqlite:////no/such/folder/runs.db", "folder /no/such/folder does not exist"),
])
def test_bad_urls_are_clear(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_migrations_are_recorded_once(tmp_path):
    import sqlalchemy as sa

    from sweattest.store.migrations import MIGRATIONS

    path = str(tmp_path / "runs.db")
    open_store(path).close()
    s = open_store(path)
    with s.engine.connect() as conn:
        versions = [r.version for r in conn.execute(sa.text("select version from schema_migrations"))]
    s.close()
    assert versions == sorted(v for v, _, _ in MIGRATIONS)
