"""A store migrated before migration 3 carried the month column upgrades and keeps its runs."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.qa.qns import qns_rate
from sweattest.record.store.migrations import MIGRATIONS
from sweattest.record.store.store import Store
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


def test_a_store_from_before_the_rest_of_the_record_was_chained_chains_it_as_it_is(store_url, clock, monkeypatch):
    """Migration 32 on a store whose run states, worklist and outbox were outside the chain: they are chained as
    they are, the chain verifies, and a state changed afterwards is named."""
    from sweattest.core.protocol import load_protocol
    from sweattest.record.audit import verify
    from sweattest.record.store import guards, schema
    from sweattest.record.store.chain import append_audit
    from sweattest.record.store.rowhash import keyed_item
    from sweattest.record.users import add_user
    from tests.store.test_record_chain import _tamper

    with monkeypatch.context() as m:
        m.setattr("sweattest.record.store.migrations.MIGRATIONS", [mig for mig in MIGRATIONS if mig[0] < 32])
        store = Store(store_url, clock)
    at = clock.utcnow()
    with store.engine.begin() as conn:  # written as the program wrote them before: only the run's content chained
        protocol = load_protocol("macroduct")
        conn.execute(schema.runs.insert().values(
            run_id="R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1", created_at=at,
            state="reported", updated_at=at, order_json={"accession": "ST-1"}, month="2026-11", qns=False,
            protocol_text=protocol.text, protocol_sha256=protocol.sha256))
        append_audit(conn, run_id="R1", who="tech1", what="create_run", at=at, rows=[keyed_item(conn, "runs", "R1")])
        conn.execute(schema.lis_orders.insert().values(placer="ST-2", mrn="MRN2", test_code="SWEATCL", state="open",
                                                       order_json={"patient": {"mrn": "MRN2"}}, control_id="M1",
                                                       received_at=at))
        conn.execute(schema.lis_messages.insert().values(sender="HIS^HOSPITAL", control_id="M1", kind="ORM^O01",
                                                         sha256="0" * 64, ack_code="AA", ack="MSA|AA|M1",
                                                         received_at=at))
        conn.execute(schema.outbox.insert().values(run_id="R1", version=1, format="hl7", channel="mllp",
                                                   destination="lis:2575", name="R1.hl7", body="MSH|x",
                                                   state="delivered", attempts=1, created_at=at, delivered_at=at))
    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    store.close()
    store = Store(store_url, clock)
    try:
        with store.engine.connect() as conn:
            assert guards.missing(conn) == []
        result = verify(store)
        assert result.intact and result.rows == 7  # run, its state, user, access, order, message, outbox
        _tamper(store, "UPDATE runs SET state = 'aborted' WHERE run_id = 'R1'")
        result = verify(store)
        assert (result.intact, result.table, result.row) == (False, "runs", "R1") and "state" in result.problem
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
