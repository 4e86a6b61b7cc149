"""Tables. Changes to them are made only by a new migration in ``migrations.py``."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.store.types import UTCDateTime

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("accession", sa.String(40), nullable=False, index=True),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("operator", sa.String(80), nullable=False, index=True),
    sa.Column("patient_mrn", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("order_json", sa.JSON, nullable=False),
    # added by migration 4, read by QA (docs/store.md)
    sa.Column("created_month", sa.String(7), nullable=True),  # YYYY-MM (UTC) of created_at
    sa.Column("patient_dob", sa.String(10), nullable=True),
    sa.Column("age_group", sa.String(8), nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("qns", sa.Boolean, nullable=True),
    sa.Column("result_status", sa.String(16), nullable=True),
    sa.Column("result_version", sa.Integer, nullable=True),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("site", sa.String(40), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.UniqueConstraint("run_id", "seq", name="uq_events_run_seq"),
)

readings = sa.Table(
    "readings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("site", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_readings_run_site_kind", "run_id", "site", "kind"),
)

#: Append-only, hash-chained: hash = SHA-256(prev_hash + canonical JSON of the entry). See auditlog.py.
audit = sa.Table(
    "audit", metadata,
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

users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(80), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

signatures = sa.Table(
    "signatures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("meaning", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("result_version", sa.Integer, nullable=True),
)

#: Version 1 is the final result; each amendment adds a version with its reason (never an overwrite).
result_versions = sa.Table(
    "result_versions", metadata,
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "version", name="pk_result_versions"),
)

qc_results = sa.Table(
    "qc_results", metadata,
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
)

sa.Index("ix_runs_qa", runs.c.operator, runs.c.created_month, runs.c.age_group, runs.c.qns, runs.c.created_at)
