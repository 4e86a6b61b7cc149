"""The run store: runs, their events (the write-ahead log) and readings, on SQLAlchemy Core.

SQLite by default (WAL, synchronous=FULL: a committed event survives a power cut), PostgreSQL by URL.
"""

from sweattest.record.store.store import Store, StoredEvent, open_store, resolve_url

__all__ = ["Store", "StoredEvent", "open_store", "resolve_url"]
