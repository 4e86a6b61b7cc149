"""Migration 13 on a store written before runs carried their purpose: simulated runs (their order carries a
simulation) are found, every other run is a patient run, the run rows are chained again with their purpose,
signatures made before still verify, and a run row changed behind the program's back before the upgrade is
still caught after it. After the upgrade a changed purpose is caught too."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.record.audit import verify
from sweattest.record.signoff import sign
from sweattest.record.store import migrations, rowhash
from sweattest.record.store.store import Store
from sweattest.record.users import add_user
from tests.store import backends
from tests.store.backends import make_run
from tests.store.test_record_chain import _tamper

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def _store_before_purposes(store_url, clock, monkeypatch) -> None:
    """A store as migration 12 left it: a signed patient run (R1), a simulated run (SIM) and another patient
    run (R3), their rows chained without a purpose."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:12])
        m.setitem(rowhash.COLUMNS, "runs", rowhash.RUNS_BEFORE_PURPOSE)
        store = Store(store_url, clock)
        with store.engine.begin() as conn:  # the program of then wrote no purpose: the column is dropped below
            conn.execute(sa.text("ALTER TABLE runs ADD COLUMN purpose VARCHAR(12) DEFAULT 'patient' NOT NULL"))
            conn.execute(sa.text("ALTER TABLE runs ADD COLUMN patient_dob VARCHAR(10)"))  # nor this (migration 17)
            conn.execute(sa.text("ALTER TABLE runs ADD COLUMN station VARCHAR(120)"))  # nor this (migration 28)
        add_user(store, "tech1", "Tina Tech", "tech", "tech password")
        make_run(store, clock, "R1", judge=False)
        sign(store, clock, "R1", "tech1", "tech password", "performed")
        make_run(store, clock, "SIM", order_extra={"simulation": {"sites": {}}}, judge=False)
        make_run(store, clock, "R3", judge=False)
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE runs DROP COLUMN purpose"))
            conn.execute(sa.text("ALTER TABLE runs DROP COLUMN patient_dob"))
            conn.execute(sa.text("ALTER TABLE runs DROP COLUMN station"))
        store.close()


def test_an_old_store_gets_purposes_and_still_verifies(store_url, clock, monkeypatch):
    _store_before_purposes(store_url, clock, monkeypatch)
    store = Store(store_url, clock)
    try:
        assert {r["run_id"]: r["purpose"] for r in store.list_runs()} == {
            "R1": "patient", "SIM": "simulated", "R3": "patient"}
        result = verify(store)
        assert result.intact, result.message()
        with store.engine.connect() as conn:
            entry = conn.execute(sa.text("SELECT new FROM audit WHERE what = 'chain_run_purposes'")).scalar_one()
        assert '"rows":3' in entry and '"column":"purpose"' in entry
    finally:
        store.close()


def test_a_run_changed_before_the_upgrade_is_not_chained_again(store_url, clock, monkeypatch):
    _store_before_purposes(store_url, clock, monkeypatch)
    engine = sa.create_engine(store_url)  # the old store, not opened: a row changed behind the program's back
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET accession = 'ST-FORGED' WHERE run_id = 'R3'"))
    engine.dispose()
    store = Store(store_url, clock)
    try:
        result = verify(store)
        assert (result.intact, result.table, result.row) == (False, "runs", "R3")
    finally:
        store.close()


def test_a_run_passed_off_as_simulated_is_caught(store, clock):
    make_run(store, clock, "R1")
    _tamper(store, "UPDATE runs SET purpose = 'simulated' WHERE run_id = 'R1'")
    result = verify(store)
    assert (result.intact, result.table, result.row) == (False, "runs", "R1")
    assert "changed after entry" in result.message()
