"""Where the store lives and how to connect: SQLite by default, PostgreSQL by URL.

Resolution order: the URL given (``--db``), then ``SWEATTEST_DB``, then ``sweattest.db`` in the
user data folder. A plain path is a SQLite file. SQLite runs in WAL mode with ``synchronous=FULL``
(a committed event survives a power cut) and foreign keys on.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sweattest.errors import StoreError

ENV_VAR = "SWEATTEST_DB"
DEFAULT_FILE = "sweattest.db"


def default_path() -> Path:
    """``sweattest.db`` in the user data folder (created if missing)."""
    folder = Path(platformdirs.user_data_dir("sweattest"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / DEFAULT_FILE


def resolve_url(url: str | None = None) -> sa.URL:
    """The database URL to use, from the argument, ``SWEATTEST_DB`` or the default file."""
    text = url or os.environ.get(ENV_VAR) or ""
    if not text:
        return make_url(f"sqlite:///{default_path()}")
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().resolve()}")
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f"the database URL {text!r} is not valid ({exc}); use a path to a SQLite file "
                         "or a URL like postgresql+psycopg://user@host:5432/dbname") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"the database URL names {parsed.get_backend_name()!r}; sweattest stores runs "
                         "in SQLite or PostgreSQL only")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url`` with the store's connection settings; the database is reached once."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = _sqlite_engine(url)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use the database {describe(url)}: {exc}") from exc
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open the run store at {describe(url)}: {reason}. Check the path or URL "
                         f"(--db or {ENV_VAR}) and that the database server is running") from exc
    return engine


def describe(url: sa.URL) -> str:
    """The URL as safe to print (no password)."""
    return url.render_as_string(hide_password=True)


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise StoreError(f"cannot open the run store at {describe(url)}: the folder {folder} does not "
                             "exist; create it or choose another path")
    engine = sa.create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
        dbapi_conn.isolation_level = None  # sweattest emits BEGIN itself, so DDL is transactional too
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
