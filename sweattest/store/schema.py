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
