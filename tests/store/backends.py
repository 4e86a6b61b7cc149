"""Fresh stores on each backend for the store and QA tests.

PostgreSQL tests use the server at ``SWEATTEST_TEST_PG`` (default: postgres on 127.0.0.1:5432, database
``test``), each in its own schema dropped afterwards. They are skipped when the server cannot be
reached, except under ``CI=true`` or ``SWEATTEST_REQUIRE_POSTGRES=1``, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("SWEATTEST_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("SWEATTEST_REQUIRE_POSTGRES") == "1"


_pg_reachable: bool | None = None


def _postgres_admin() -> sa.Engine:
    global _pg_reachable
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    if _pg_reachable is None:
        try:
            with engine.connect():
                _pg_reachable = True
        except sa.exc.OperationalError as exc:
            _pg_reachable = False
            reason = str(exc.orig).splitlines()[0]
            if postgres_required():
                pytest.fail(f"PostgreSQL at {PG_URL} is required here (CI) but unreachable: {reason}")
    if not _pg_reachable:
        if postgres_required():
            pytest.fail(f"PostgreSQL at {PG_URL} is required here (CI) but unreachable")
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable")
    return engine


@contextmanager
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a fresh, private schema (dropped afterwards)."""
    admin = _postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(tmp_path / "runs.db")
    else:
        with postgres_url() as url:
            yield url

