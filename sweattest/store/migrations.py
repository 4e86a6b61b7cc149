"""Versioned schema migrations: named, transactional functions recorded in ``schema_migrations``.

Each migration is numbered and named and describes the tables as they were when it was written
(never the current ``schema.py``), so an old database upgrades step by step and keeps its data.
A migration and its record commit together; a failure leaves the database at the previous version.
On PostgreSQL an advisory lock keeps two stations from migrating the same database at once.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from sweattest.clock import Clock
from sweattest.errors import StoreError
from sweattest.store.schema import schema_migrations
from sweattest.store.types import UTCDateTime

Migration = Callable[[sa.Connection], None]

#: (version, name, function), applied in version order; a released migration is never edited.
MIGRATIONS: list[tuple[int, str, Migration]] = []

_PG_LOCK_KEY = 0x5357_4541  # "SWEA": serialises migrations across stations sharing one database


def migration(version: int, name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((version, name, fn))
        return fn
    return register


@migration(1, "runs, events and readings")
def _runs_events_readings(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "runs", md,
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
    sa.Table(
        "events", md,
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
    sa.Table(
        "readings", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("site", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Index("ix_readings_run_site_kind", "run_id", "site", "kind"),
    )
    md.create_all(conn)


def applied(conn: sa.Connection) -> list[int]:
    """Versions of the migrations already applied to this database."""
    if not sa.inspect(conn).has_table("schema_migrations"):
        return []
    return sorted(conn.execute(sa.select(schema_migrations.c.version)).scalars())


def migrate(engine: sa.Engine, clock: Clock) -> list[int]:
    """Bring the database up to date; returns the versions applied now (empty when already current)."""
    known = {version for version, _, _ in MIGRATIONS}
    now: list[int] = []
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            _lock(conn)
            schema_migrations.create(conn, checkfirst=True)
            unknown = sorted(set(applied(conn)) - known)
        if unknown:
            raise StoreError(
                f"the run store was written by a newer sweattest (schema versions {unknown}); "
                "upgrade sweattest on this station before opening it")
        for version, name, fn in sorted(MIGRATIONS, key=lambda m: m[0]):
            with conn.begin():
                _lock(conn)
                if version in applied(conn):
                    continue
                fn(conn)
                conn.execute(schema_migrations.insert().values(version=version, name=name,
                                                               applied_at=clock.utcnow()))
            now.append(version)
    return now


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


from sweattest.store import migrations_later  # noqa: E402,F401  (registers migrations 2 onwards)
