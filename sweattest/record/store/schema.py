"""Tables. Changes to them are made only by a new migration in ``migrations.py``."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.record.store.types import UTCDateTime

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
    # denormalized for QA queries (migration 3), kept up to date by the store as events are recorded
    sa.Column("month", sa.String(7), nullable=True),  # "YYYY-MM" of created_at (UTC), for monthly QA
    sa.Column("age_group", sa.String(8), nullable=True),  # "<=3m" or ">3m" at the test date; NULL: no dob
    sa.Column("sites_measured", sa.Integer, nullable=True),  # sites with a sample measured, once judged
    sa.Column("qns", sa.Boolean, nullable=True),  # every measured site QNS; NULL: not judged yet
    sa.Column("reported_at", UTCDateTime, nullable=True),
    # the method the run was created with (migration 6); NULL for runs created before it: those replay
    # against the shipped method file of the same name
    sa.Column("protocol_text", sa.Text, nullable=True),
    sa.Column("protocol_sha256", sa.String(64), nullable=True),
    # the process performing the run (migration 6; sweattest/record/lease.py): host:pid:random, and until when
    sa.Column("lease_owner", sa.String(120), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Index("ix_runs_qa", "operator", "month", "age_group", "qns"),
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

# -- users, e-signatures, amendments (migration 2) ------------------------------------------------------
users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(80), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # migration 9: lock-out after failed passwords, password age
    sa.Column("failed_passwords", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=True),  # NULL: when the user was created
)

signatures = sa.Table(
    "signatures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("meaning", sa.String(20), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

result_versions = sa.Table(
    "result_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by", sa.String(80), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("run_id", "version", name="uq_result_versions_run_version"),
)

# -- the audit trail (migration 2): append-only, hash-chained; format in docs/store.md ------------------
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.String(40), nullable=True, index=True),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("what", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("why", sa.Text, nullable=True),
    sa.Column("old", sa.Text, nullable=False),  # canonical JSON text (hashed as stored)
    sa.Column("new", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

#: One row (id 1): the last entry's id and hash. Appends lock it, so the chain never forks; verify compares
#: the chain's end with it, so cutting entries off the end is detected too.
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# -- QC results of the chloride analyzer (migration 3) -------------------------------------------------
qc_results = sa.Table(
    "qc_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("analyzer", sa.String(40), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("lot", sa.String(40), nullable=False),
    sa.Column("target_mean", sa.Float, nullable=False),  # mmol/L
    sa.Column("target_sd", sa.Float, nullable=False),  # mmol/L
    sa.Column("value", sa.Float, nullable=False),  # mmol/L
    sa.Column("qc_run", sa.String(40), nullable=False),  # the analytical run the control belongs to
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Index("ix_qc_results_analyzer_level", "analyzer", "level", "at"),
)

# -- server-side web sessions (migration 9) ------------------------------------------------------------
#: One row per log-in; the browser's cookie holds a random token, the row only its SHA-256. A session ends
#: (``ended_at``, ``end_reason``) at log-out, when its user is disabled, or after the idle time.
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(80), sa.ForeignKey("users.username"), nullable=False, index=True),
    sa.Column("station", sa.String(120), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("locked", sa.Boolean, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("end_reason", sa.String(40), nullable=True),
)
