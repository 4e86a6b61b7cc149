"""Opening the store: where it lives, bad URLs, migrations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sweattest.errors import StoreError
from sweattest.store import engine as engines
from sweattest.store import open_store
from sweattest.store.migrations import MIGRATIONS, applied
from sweattest.store.schema import metadata, schema_migrations


def test_plain_path_is_a_sqlite_file(tmp_path, clock):
    store = open_store(str(tmp_path / "runs.db"), clock=clock)
    try:
        assert store.backend == "sqlite"
        assert (tmp_path / "runs.db").exists()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.close()


def test_env_var_names_the_database(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("SWEATTEST_DB", str(tmp_path / "env.db"))
    open_store(clock=clock).close()
    assert (tmp_path / "env.db").exists()


def test_default_is_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SWEATTEST_DB", raising=False)
    monkeypatch.setattr(engines.platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    url = engines.resolve_url(None)
    assert url.database == str(tmp_path / "data" / "sweattest" / "sweattest.db")
    assert (tmp_path / "data" / "sweattest").is_dir()


@pytest.mark.parametrize("url, message", [
    ("mysql://x@y/z", "SQLite or PostgreSQL only"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot open the run store"),
    ("not a url://", "not valid"),
])
def test_bad_or_unreachable_database_is_a_clear_error(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "no" / "such" / "runs.db"))


def test_password_is_not_printed():
    with pytest.raises(StoreError) as err:
        open_store("postgresql+psycopg://user:secret@127.0.0.1:1/none")
    assert "secret" not in str(err.value)


def test_migrations_are_recorded_and_rerun_is_a_no_op(db_url, clock):
    open_store(db_url, clock=clock).close()
    store = open_store(db_url, clock=clock)
    try:
        with store.engine.connect() as conn:
            assert applied(conn) == [version for version, _, _ in MIGRATIONS]
    finally:
        store.close()


def test_database_matches_the_current_schema(store):
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_newer_database_is_refused(store, db_url, clock):
    with store.write() as conn:
        conn.execute(schema_migrations.insert().values(version=9999, name="future",
                                                       applied_at=clock.utcnow()))
    with pytest.raises(StoreError, match="newer sweattest"):
        open_store(db_url, clock=clock)
