"""Versioned, named, transactional schema migrations recorded in ``schema_migrations``.

An upgraded installation applies the migrations it has not seen yet, in order, each in its own
transaction, and keeps its data. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from sweattest.store import schema

Migration = tuple[int, str, Callable[[sa.Connection], None]]


def _initial(conn: sa.Connection) -> None:
    for table in (schema.runs, schema.events, schema.readings):
        table.create(conn)


MIGRATIONS: list[Migration] = [
    (1, "runs, events and readings", _initial),
]


def applied(conn: sa.Connection) -> set[int]:
    return {row.version for row in conn.execute(sa.select(schema.schema_migrations.c.version))}


def migrate(engine: sa.Engine, now: datetime) -> list[int]:
    """Apply pending migrations; return the versions applied."""
    schema.schema_migrations.create(engine, checkfirst=True)
    done: list[int] = []
    with engine.connect() as conn:
        have = applied(conn)
    for version, name, fn in MIGRATIONS:
        if version in have:
            continue
        with engine.begin() as conn:
            fn(conn)
            conn.execute(schema.schema_migrations.insert().values(version=version, name=name, applied_at=now))
        done.append(version)
    return done
