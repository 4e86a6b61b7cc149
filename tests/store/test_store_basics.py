"""The run store on SQLite and PostgreSQL: writes commit before returning, times stay aware UTC, bad URLs
give clear errors, an upgraded store keeps its data."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from sweattest.core.errors import StoreError
from sweattest.core.protocol import load_protocol
from sweattest.record.store.migrations import MIGRATIONS
from sweattest.record.store.store import Store, open_store
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _run(store, run_id="R1"):
    store.create_run(run_id, accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1",
                     created_at=AT, order={"accession": "ST-1", "sites": ["left_forearm"]},
                     protocol=load_protocol("macroduct"))


def test_events_are_numbered_and_come_back_as_written(store):
    _run(store)
    assert store.append_event("R1", kind="verify_patient", site=None, at=AT, t=0.0, data={"a": 1}) == 1
    assert store.append_event("R1", kind="abort", site="left_forearm", at=AT + timedelta(seconds=5), t=5.0,
                              data={"reason": "x"}, accepted=False) == 2
    [first, second] = store.events("R1")
    assert (first.kind, first.seq, first.data, first.accepted) == ("verify_patient", 1, {"a": 1}, True)
    assert second.site == "left_forearm" and second.at == AT + timedelta(seconds=5) and not second.accepted
    assert second.at.utcoffset() == timedelta(0)


def test_a_write_survives_reopening(store_url, clock):
    s = Store(store_url, clock)
    _run(s)
    s.append_readings("R1", [{"site": "left_forearm", "kind": "stimulation_sample", "at": AT, "t": 0.1,
                              "data": {"current_ma": 1.5}}])
    s.close()
    again = Store(store_url, clock)
    assert again.get_run("R1")["order"]["accession"] == "ST-1"
    assert again.readings("R1", kind="stimulation_sample")[0]["data"] == {"current_ma": 1.5}
    again.close()


def test_readings_of_a_simulated_run_survive_reopening_and_later_writes_stay_power_safe(store_url, clock):
    s = Store(store_url, clock)
    _run(s)
    s.append_readings("R1", [{"site": "left_forearm", "kind": "stimulation_sample", "at": AT, "t": 0.1,
                              "data": {"current_ma": 1.5}}], power_safe=False)
    if s.engine.dialect.name == "sqlite":  # the pooled connection went back to synchronous=FULL (2)
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    s.close()
    again = Store(store_url, clock)
    assert again.readings("R1", kind="stimulation_sample")[0]["data"] == {"current_ma": 1.5}
    again.close()


@pytest.mark.parametrize("power_safe", [True, False])
def test_a_refused_readings_write_is_one_clear_error_and_leaves_nothing_behind(store, power_safe):
    _run(store)
    reading = {"site": "left_forearm", "kind": "stimulation_sample", "at": AT, "t": 0.1, "data": {"current_ma": 1.5}}
    store.append_readings("R1", [reading], power_safe=power_safe)
    with pytest.raises(StoreError, match="^cannot write to the run store"):
        store.append_readings("R1", [reading | {"t": 0.2, "kind": None}], power_safe=power_safe)  # kind required
    head = sa.select(sa.text("readings_to, readings_acc")).select_from(sa.text("audit_head"))
    with store.engine.connect() as conn:
        before = conn.execute(head).one()
    store.append_readings("R1", [reading | {"t": 0.3}], power_safe=power_safe)  # the store takes the next write
    with store.engine.connect() as conn:
        assert conn.execute(head).one() != before
        if store.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # back to power-safe
    assert [r["t"] for r in store.readings("R1")] == [0.1, 0.3]
    from sweattest.record.audit import verify
    store.append_event("R1", kind="verify_patient", site=None, at=AT, t=0.0, data={})  # seals the readings
    assert verify(store).intact


def test_other_zones_are_stored_as_utc_and_naive_times_refused(store):
    _run(store)
    plus_two = datetime(2026, 11, 20, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    store.append_event("R1", kind="k", site=None, at=plus_two, t=0, data={})
    assert store.events("R1")[0].at == AT
    with pytest.raises(StoreError, match="naive datetime"):
        store.append_event("R1", kind="k", site=None, at=datetime(2026, 1, 1), t=0, data={})  # noqa: DTZ001
    assert len(store.events("R1")) == 1  # nothing half-written


def test_an_event_for_an_unknown_run_is_refused_and_not_audited(store):
    with pytest.raises(StoreError, match="cannot write"):
        store.append_event("nope", kind="k", site=None, at=AT, t=0, data={})
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from audit")).scalar() == 0


@pytest.mark.parametrize("url, message", [
    ("nosuchdb://x", "cannot use the run store"),
    ("sqlite:////no/such/folder/runs.db", "folder /no/such/folder does not exist"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot open the run store"),
])
def test_bad_urls_are_clear(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_migrations_are_recorded_once(store_url, clock):
    Store(store_url, clock).close()
    s = Store(store_url, clock)
    with s.engine.connect() as conn:
        versions = [r.version for r in conn.execute(sa.text("select version from schema_migrations order by 1"))]
    s.close()
    assert versions == [v for v, _, _ in MIGRATIONS]


def test_an_upgraded_store_keeps_its_runs_and_events(store_url, clock, monkeypatch):
    from sweattest.record.store import migrations

    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    old = Store(store_url, clock)
    with old.engine.begin() as conn:  # a version-1 store, written as version 1 wrote it
        conn.execute(sa.text("insert into runs (run_id, accession, method, operator, patient_mrn, created_at, "
                             "state, updated_at, order_json) values ('R0', 'ST-0', 'macroduct', 'tech1', 'M', "
                             ":at, 'created', :at, :order)"),
                     {"at": "2026-11-20T09:00:00.000000Z", "order": '{"patient": {"dob": "2026-10-01"}}'})
    old.close()
    monkeypatch.undo()
    new = Store(store_url, clock)
    row = new.get_run("R0")
    assert row["accession"] == "ST-0" and row["age_group"] == "<=3m" and row["qns"] is None
    assert row["protocol_text"] is None and row["protocol_sha256"] is None  # no method snapshot: file by name
    new.append_event("R0", kind="verify_patient", site=None, at=AT, t=0, data={"actor": "tech1"})
    assert [e.kind for e in new.events("R0")] == ["verify_patient"]
    new.close()
