"""A store migrated before migration 3 carried the month column upgrades and keeps its runs."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.qa.qns import qns_rate
from sweattest.record.store import Store
from sweattest.record.store.migrations import MIGRATIONS
from tests.store import backends
from tests.store.backends import make_run

store_url, clock = backends.store_url, backends.clock  # both backends


def test_store_without_month_column_gets_it_on_opening(store_url, clock):
    store = Store(store_url, clock)
    make_run(store, clock, volumes=(5, 5))
    with store.engine.begin() as conn:  # the shape migration 3 once left behind
        conn.execute(sa.text("DROP INDEX ix_runs_qa"))
        conn.execute(sa.text("ALTER TABLE runs DROP COLUMN month"))
        conn.execute(sa.text("CREATE INDEX ix_runs_qa ON runs (created_at, operator, age_group, qns)"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 4"))
    store.close()
    store = Store(store_url, clock)
    try:
        assert store.get_run("R1")["month"] == "2026-11"
        frame = qns_rate(store)
        assert (frame["tests"].tolist(), frame["qns"].tolist()) == ([1], [1])
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM schema_migrations ORDER BY version")).scalars()
            assert list(versions) == [v for v, _, _ in MIGRATIONS]
    finally:
        store.close()


def test_a_store_from_before_lots_were_records_gets_the_tables_and_keeps_its_qc(store_url, clock):
    """Migration 14 on a store that kept QC with the targets stored on each result: the lot, calibration and
    equipment tables arrive guarded, the chain stays intact, and the stored QC keeps its verdict."""
    from sweattest.record.analytical_qc import qc_status
    from sweattest.record.audit import verify
    from sweattest.record.store import guards

    store = Store(store_url, clock)
    make_run(store, clock)
    with store.engine.begin() as conn:  # the shape the store had at migration 12
        for table in guards.V14_TABLES:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 14"))
    store.close()
    store = Store(store_url, clock)
    try:
        with store.engine.connect() as conn:
            assert guards.missing(conn) == []
        assert verify(store).intact
        assert qc_status(store, "R1")["status"] == "in_control"
    finally:
        store.close()


def test_qc_runs_stored_before_verdicts_were_records_get_one_at_the_upgrade(store_url, clock):
    """Migration 23: each stored analytical run is judged once, by the default rules, recorded by system; a day
    whose controls only a simulated run used leaves the patient series; a held run stays held."""
    from datetime import timedelta

    from sweattest.qa.qc_chart import chart_points
    from sweattest.record.analytical_qc import qc_status, release_findings
    from sweattest.record.audit import verify
    from sweattest.record.qc_verdicts import verdicts

    store = Store(store_url, clock)
    make_run(store, clock, "R1", qc="rejected", judge=False)
    clock.sleep(timedelta(days=1).total_seconds())
    make_run(store, clock, "SIM", purpose="simulated", judge=False)
    with store.engine.begin() as conn:  # the store as migration 22 found it: no verdict recorded
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 23"))
    store.close()
    store = Store(store_url, clock)
    try:
        held, sim = (e.data["qc_run"] for run in ("R1", "SIM") for e in store.events(run) if e.kind == "analyze"
                     and e.site == "left_forearm")
        [verdict] = verdicts(store, held)
        assert (verdict.who, verdict.purpose, verdict.state, verdict.codes) == \
            ("system", "patient", "rejected", ["westgard_1_3s"])
        assert verdict.made_from["controls"][0]["z"] == 5.0
        assert [v.purpose for v in verdicts(store, sim)] == ["simulated"]
        points, _ = chart_points(store, "chloridometer-1", "normal")
        assert [p.qc_run for p in points] == [held]
        assert qc_status(store, "R1")["status"] == "rejected" and release_findings(store, "R1")
        assert verify(store).intact
    finally:
        store.close()
