"""Versioned, named, transactional schema migrations recorded in ``schema_migrations``.

An upgraded installation applies the migrations it has not seen yet, in order, each in its own
transaction, and keeps its data. Never edit a released migration: add a new one. A migration creates the
tables as they were at its version (``_v1`` below is frozen), so a later migration can alter them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from sweattest.record.qc_verdicts_existing import judge_existing
from sweattest.record.store import guards, schema
from sweattest.record.store.chain_existing import chain_existing_rows, chain_rest_of_record, chain_run_purposes
from sweattest.record.store.derived import age_group, patient_dob
from sweattest.record.store.pack_readings import pack_existing_readings
from sweattest.record.store.types import UTCDateTime

Migration = tuple[int, str, Callable[[sa.Connection], None]]

GENESIS_HASH = "0" * 64

_v1 = sa.MetaData()
sa.Table(
    "runs", _v1,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("accession", sa.String(40), nullable=False, index=True),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("operator", sa.String(80), nullable=False, index=True),
    sa.Column("patient_mrn", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("order_json", sa.JSON, nullable=False),
)
for _table in (schema.events, schema.readings):
    _table.to_metadata(_v1)

#: users as migration 2 created them (migration 9 added columns)
_v2 = sa.MetaData()
sa.Table(
    "users", _v2,
    sa.Column("username", sa.String(80), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def _initial(conn: sa.Connection) -> None:
    for name in ("runs", "events", "readings"):
        _v1.tables[name].create(conn)


def _users_signatures_audit(conn: sa.Connection) -> None:
    for table in (_v2.tables["users"], schema.signatures, schema.result_versions, schema.audit, schema.audit_head):
        table.create(conn)
    conn.execute(schema.audit_head.insert().values(id=1, last_id=0, last_hash=GENESIS_HASH))


def _qa_columns(conn: sa.Connection) -> None:
    """Denormalized QA columns on runs (filled for existing runs from their orders), and QC results."""
    runs = schema.runs
    for name in ("month", "age_group", "sites_measured", "qns", "reported_at"):
        column = runs.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    sa.Index("ix_runs_qa", runs.c.operator, runs.c.month, runs.c.age_group, runs.c.qns).create(conn)
    schema.qc_results.create(conn)

    for run_id, created_at, order in conn.execute(sa.select(runs.c.run_id, runs.c.created_at, runs.c.order_json)):
        conn.execute(runs.update().where(runs.c.run_id == run_id).values(month=f"{created_at:%Y-%m}",
                                                                         age_group=age_group(order, created_at)))


def _month_for_early_stores(conn: sa.Connection) -> None:
    """Stores that applied migration 3 before it carried the ``month`` column get it now (filled from
    ``created_at``), with the QA index over it; stores that already have it are left as they are."""
    if "month" in {c["name"] for c in sa.inspect(conn).get_columns("runs")}:
        return
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN month VARCHAR(7)")
    conn.exec_driver_sql("UPDATE runs SET month = substr(created_at, 1, 7)")
    conn.exec_driver_sql("DROP INDEX ix_runs_qa")
    conn.exec_driver_sql("CREATE INDEX ix_runs_qa ON runs (operator, month, age_group, qns)")


#: The audit trail refuses UPDATE and DELETE in the database itself; dropping these needs owner rights,
#: and whatever is changed after that still breaks the hash chain.
APPEND_ONLY = {
    "sqlite": ("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
               "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"),
    "postgresql": ("CREATE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
                   "RAISE EXCEPTION 'the audit trail is append-only'; END $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"),
}


def _append_only(conn: sa.Connection) -> None:
    for statement in APPEND_ONLY[conn.dialect.name]:
        conn.exec_driver_sql(statement)


def _method_snapshot(conn: sa.Connection) -> None:
    """Each run keeps the text and hash of the method it was created with. Runs already stored are left
    without one (they replay against the method file of the same name, as before)."""
    for name in ("protocol_text", "protocol_sha256"):
        kind = schema.runs.c[name].type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

def _run_leases(conn: sa.Connection) -> None:
    """The lease of a live run: which process performs it, and until when (NULL: nobody)."""
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN lease_owner VARCHAR(120)")
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN lease_until VARCHAR(32)")


def _whole_record_chain(conn: sa.Connection) -> None:
    """The whole record under the chain: the columns that carry row hashes, the guards of the other
    append-only tables, and one entry chaining the rows already stored (as they are now)."""

    for table, name in (("audit", "rows"), ("audit_head", "readings_from"), ("audit_head", "readings_to"),
                        ("audit_head", "readings_acc"), ("signatures", "signed_seq"),
                        ("signatures", "signed_hash")):
        _add_column(conn, schema.metadata.tables[table].c[name])
    guards.create(conn, guards.V8_TABLES, ("audit", "audit_head", *guards.V8_TABLES))
    chain_existing_rows(conn)


def _add_column(conn: sa.Connection, column: sa.Column) -> None:
    """Add ``column`` as the schema defines it, unless the table was created with it already (the tables of
    migration 2 are created as the schema defines them today)."""
    table = column.table.name
    if column.name in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
        return
    kind = column.type.compile(dialect=conn.dialect)
    default = f" DEFAULT {column.server_default.arg}" if column.server_default is not None else ""
    null = "" if column.nullable else " NOT NULL"
    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}{default}{null}")


def _reading_blocks(conn: sa.Connection) -> None:
    """Readings stored compactly: the rows of ``readings`` packed into ``reading_blocks`` (after checking them
    against the chain), chained, and the old table dropped."""
    pack_existing_readings(conn)


#: the outbox as migration 9 created it (migration 24 changed it)
_v9 = sa.MetaData()
sa.Table(
    "outbox", _v9,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("destination", sa.String(400), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("control_id", sa.String(20), nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("run_id", "version", "format", "channel", "destination", name="uq_outbox_delivery"),
    sa.Index("ix_outbox_state", "channel", "state", "id"),
)
sa.Table("runs", _v9, sa.Column("run_id", sa.String(40), primary_key=True))


def _outbox(conn: sa.Connection) -> None:
    """The durable outbox of messages leaving for the LIS."""
    _v9.tables["outbox"].create(conn)


def _outbox_per_accession(conn: sa.Connection) -> None:
    """The outbox keeps order per accession (its column, filled from the runs) and counts AE answers; a
    message may have no run (an order refused before its run: the order status message of IHE LTW)."""
    columns = [c.name for c in _v9.tables["outbox"].columns]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE outbox ALTER COLUMN run_id DROP NOT NULL")
        _add_column(conn, schema.outbox.c.accession)
        _add_column(conn, schema.outbox.c.ae_count)
    else:  # SQLite changes a column's NOT NULL only by rebuilding the table
        conn.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_v9")
        for index in ("ix_outbox_state", "ix_outbox_run_id"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        schema.outbox.create(conn)
        names = ", ".join(columns)
        conn.exec_driver_sql(f"INSERT INTO outbox ({names}) SELECT {names} FROM outbox_v9")
        conn.exec_driver_sql("DROP TABLE outbox_v9")
    ob, runs = schema.outbox, schema.runs
    conn.execute(ob.update().values(accession=sa.select(runs.c.accession).where(runs.c.run_id == ob.c.run_id)
                                    .scalar_subquery()))


def _order_closed_by_lab(conn: sa.Connection) -> None:
    """Why the laboratory closed an order (told to the LIS by an order status message)."""
    _add_column(conn, schema.lis_orders.c.closed_reason)


def _worklist(conn: sa.Connection) -> None:
    """Orders received from the LIS (the worklist) and the order messages received."""
    schema.lis_orders.create(conn)
    schema.lis_messages.create(conn)


def _access(conn: sa.Connection) -> None:
    """Lock-out and password age on users; the server-side web sessions."""
    conn.exec_driver_sql("ALTER TABLE users ADD COLUMN failed_passwords INTEGER NOT NULL DEFAULT 0")
    conn.exec_driver_sql("ALTER TABLE users ADD COLUMN locked_until VARCHAR(32)")
    conn.exec_driver_sql("ALTER TABLE users ADD COLUMN password_changed_at VARCHAR(32)")
    schema.web_sessions.create(conn)


def _run_purpose(conn: sa.Connection) -> None:
    """Why each run was performed: patient unless its order carries a simulation (the demo, `run --simulate`
    and the training bench of `serve --simulate` all did); the run rows chained again with it."""
    runs = schema.runs
    _add_column(conn, runs.c.purpose)
    conn.exec_driver_sql("CREATE INDEX ix_runs_purpose ON runs (purpose)")
    simulated = [run_id for run_id, order in conn.execute(sa.select(runs.c.run_id, runs.c.order_json))
                 if isinstance(order, dict) and "simulation" in order]
    for i in range(0, len(simulated), 500):
        conn.execute(runs.update().where(runs.c.run_id.in_(simulated[i:i + 500])).values(purpose="simulated"))
    chain_run_purposes(conn)


def _proficiency_testing(conn: sa.Connection) -> None:
    """Proficiency testing: events, their samples, the provider's targets, grades and corrective actions, each
    append-only (guarded) and chained."""
    for name in guards.PT_TABLES:
        schema.metadata.tables[name].create(conn)
    guards.create(conn, guards.PT_TABLES, guards.PT_TABLES)


def _qc_lots_calibrations_equipment(conn: sa.Connection) -> None:
    """Control lots with their targets, calibrations and the equipment log: append-only and chained."""
    for table in guards.V14_TABLES:
        schema.metadata.tables[table].create(conn)
    guards.create(conn, guards.V14_TABLES, guards.V14_TABLES)


def _patient_history(conn: sa.Connection) -> None:
    """The patient's date of birth beside the MRN on runs (filled for existing runs from their orders) with
    the index the patient's history is found by, and the repeat links between runs (append-only, guarded)."""

    _add_column(conn, schema.runs.c.patient_dob)
    runs = schema.runs
    known = [{"rid": run_id, "dob_value": dob} for run_id, order in
             conn.execute(sa.select(runs.c.run_id, runs.c.order_json)).all()
             if (dob := patient_dob(order)) is not None]
    if known:  # one statement executed for many rows, not one round trip per run
        conn.execute(runs.update().where(runs.c.run_id == sa.bindparam("rid"))
                     .values(patient_dob=sa.bindparam("dob_value")), known)
    sa.Index("ix_runs_patient", runs.c.patient_mrn, runs.c.patient_dob).create(conn)
    schema.repeat_links.create(conn)
    guards.create(conn, ("repeat_links",), ("repeat_links",))


def _people(conn: sa.Connection) -> None:
    """Skin reactions after stimulation and operator competency records, append-only and chained."""
    schema.skin_reactions.create(conn)
    schema.competency_records.create(conn)
    guards.create(conn, guards.PEOPLE_TABLES, guards.PEOPLE_TABLES)


def _qc_verdicts(conn: sa.Connection) -> None:
    """QC verdicts recorded when made, and the corrective actions and overrides of held analytical runs:
    append-only (guarded) and chained."""
    for name in guards.QC_VERDICT_TABLES:
        schema.metadata.tables[name].create(conn)
    guards.create(conn, guards.QC_VERDICT_TABLES, guards.QC_VERDICT_TABLES)


def _verdicts_of_existing_qc(conn: sa.Connection) -> None:
    """A verdict for each analytical run stored before verdicts were records, judged at the upgrade."""
    judge_existing(conn)


def _reorder_cancelled(conn: sa.Connection) -> None:
    """An accession whose order was cancelled may be ordered again: ``lis_orders.placer`` indexed, no longer
    unique (PostgreSQL drops the constraint; SQLite, which cannot, copies the table into one without it)."""
    if conn.dialect.name == "postgresql":
        inspector = sa.inspect(conn)
        for constraint in inspector.get_unique_constraints("lis_orders"):
            if constraint["column_names"] == ["placer"]:
                conn.exec_driver_sql(f'ALTER TABLE lis_orders DROP CONSTRAINT "{constraint["name"]}"')
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_lis_orders_placer ON lis_orders (placer)")
        return
    unique = [row[1] for row in conn.exec_driver_sql("PRAGMA index_list(lis_orders)") if row[2]
              and [c[2] for c in conn.exec_driver_sql(f'PRAGMA index_info("{row[1]}")')] == ["placer"]]
    if unique:
        conn.exec_driver_sql("ALTER TABLE lis_orders RENAME TO lis_orders_v10")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_lis_orders_state")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_lis_orders_placer")
        schema.lis_orders.create(conn)
        columns = ", ".join(c.name for c in schema.lis_orders.columns)
        conn.exec_driver_sql(f"INSERT INTO lis_orders ({columns}) SELECT {columns} FROM lis_orders_v10")
        conn.exec_driver_sql("DROP TABLE lis_orders_v10")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_lis_orders_placer ON lis_orders (placer)")


def _rest_of_record(conn: sa.Connection) -> None:
    """The rest of the record under the chain: run states and QA columns, users' access, the worklist, the order
    messages received and the outbox, chained as they are now; the order messages append-only, and runs,
    users, orders and outbox messages never removed (DELETE refused; TRUNCATE too on PostgreSQL)."""

    guards.create(conn, ("lis_messages",), ("lis_messages", *guards.KEPT_TABLES), guards.KEPT_TABLES)
    chain_rest_of_record(conn)


def _run_station(conn: sa.Connection) -> None:
    """The bench station that performs each run (operational, like the lease): a station resumes its own."""
    _add_column(conn, schema.runs.c.station)


MIGRATIONS: list[Migration] = [
    (1, "runs, events and readings", _initial),
    (2, "users, e-signatures, result versions and the hash-chained audit trail", _users_signatures_audit),
    (3, "QA columns on runs (age group, QNS, reported time) and QC results", _qa_columns),
    (4, "month column for stores migrated before migration 3 carried it", _month_for_early_stores),
    (5, "audit trail append-only in the database (UPDATE and DELETE refused)", _append_only),
    (6, "method snapshot on runs (protocol text and its SHA-256)", _method_snapshot),
    (7, "run leases: one process performs a live run", _run_leases),
    (8, "the whole record under the hash chain (row hashes, signatures bound to what they sign, guards)",
     _whole_record_chain),
    (9, "outbox of messages leaving for the LIS", _outbox),
    (10, "worklist of LIS orders and the order messages received", _worklist),
    (11, "readings stored compactly: one row per write, packed", _reading_blocks),
    (12, "web sessions, lock-out after failed passwords, password age", _access),
    (13, "the purpose of each run (patient, simulated, training, proficiency), chained", _run_purpose),
    (14, "control lots and targets, calibrations, equipment log", _qc_lots_calibrations_equipment),
    (15, "skin reactions after stimulation and operator competency records", _people),
    (16, "proficiency testing: events, samples, targets, grades and corrective actions", _proficiency_testing),
    (17, "patient history: date of birth on runs (indexed with the MRN) and repeat links", _patient_history),
    (22, "QC verdicts recorded when made; corrective actions and overrides of held analytical runs", _qc_verdicts),
    (23, "a verdict for each analytical run stored before verdicts were records, in its run's series",
     _verdicts_of_existing_qc),
    (24, "outbox in order per accession, AE answers counted, order status messages without a run",
     _outbox_per_accession),
    (25, "why the laboratory closed an LIS order (eligibility, QNS not repeated, cancelled)", _order_closed_by_lab),
    (26, "a cancelled accession may be ordered again (LIS order placer numbers no longer unique)",
     _reorder_cancelled),
    (28, "the bench station performing each run: a station resumes its own runs", _run_station),
    (32, "the rest of the record under the chain: run states, users' access, worklist, order messages, outbox",
     _rest_of_record),
]


def applied(conn: sa.Connection) -> set[int]:
    return {row.version for row in conn.execute(sa.select(schema.schema_migrations.c.version))}


#: PostgreSQL advisory lock key held while migrating, so two stations starting at once migrate once.
MIGRATION_LOCK = 0x5EA7_7E57


def migrate(engine: sa.Engine, now: datetime) -> list[int]:
    """Apply pending migrations; return the versions applied."""
    if engine.dialect.name != "postgresql":
        return _migrate(engine, now)
    with engine.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            return _migrate(engine, now)
        finally:
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            lock.commit()


def _migrate(engine: sa.Engine, now: datetime) -> list[int]:
    schema.schema_migrations.create(engine, checkfirst=True)
    done: list[int] = []
    with engine.connect() as conn:
        have = applied(conn)
    for version, name, fn in MIGRATIONS:
        if version in have:
            continue
        with engine.begin() as conn:
            conn.info["migrating_at"] = now
            fn(conn)
            conn.execute(schema.schema_migrations.insert().values(version=version, name=name, applied_at=now))
        done.append(version)
    return done
