"""Migrations 2 onwards: audit trail, users and signatures, QA columns and QC results.

Kept apart from the first migration only to keep files short; the order is the version number.
"""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.store.migrations import migration
from sweattest.store.types import UTCDateTime

_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)
_PG_APPEND_ONLY = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit trail is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
)


@migration(2, "audit trail")
def _audit(conn: sa.Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "audit", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.String(40), nullable=True, index=True),
        sa.Column("who", sa.String(80), nullable=False),
        sa.Column("what", sa.String(80), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("why", sa.Text, nullable=True),
        sa.Column("old", sa.Text, nullable=True),
        sa.Column("new", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    table.create(conn)
    for statement in (_PG_APPEND_ONLY if conn.dialect.name == "postgresql" else _SQLITE_APPEND_ONLY):
        conn.exec_driver_sql(statement)


@migration(3, "users, e-signatures and result versions")
def _users(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("runs", md, sa.Column("run_id", sa.String(40), primary_key=True))
    sa.Table(
        "users", md,
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    sa.Table(
        "signatures", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
        sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("meaning", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("result_version", sa.Integer, nullable=True),
    )
    sa.Table(
        "result_versions", md,
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("who", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "version", name="pk_result_versions"),
    )
    for name in ("users", "signatures", "result_versions"):
        md.tables[name].create(conn)


@migration(4, "QA columns on runs and QC results")
def _qa(conn: sa.Connection) -> None:
    for name, kind in (("created_month", "VARCHAR(7)"), ("patient_dob", "VARCHAR(10)"), ("age_group", "VARCHAR(8)"),
                       ("finished_at", "VARCHAR(32)"), ("qns", "BOOLEAN"), ("result_status", "VARCHAR(16)"),
                       ("result_version", "INTEGER")):
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    conn.exec_driver_sql("UPDATE runs SET created_month = substr(created_at, 1, 7)")
    conn.exec_driver_sql(
        "CREATE INDEX ix_runs_qa ON runs (operator, created_month, age_group, qns, created_at)")
    md = sa.MetaData()
    sa.Table(
        "qc_results", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("analyzer", sa.String(80), nullable=False),
        sa.Column("level", sa.String(40), nullable=False),
        sa.Column("lot", sa.String(40), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("target_mean", sa.Float, nullable=True),
        sa.Column("target_sd", sa.Float, nullable=True),
        sa.Column("who", sa.String(80), nullable=False),
        sa.Index("ix_qc_analyzer_level_at", "analyzer", "level", "at"),
    ).create(conn)
