"""The run store: runs, their events (the write-ahead log) and readings, on SQLAlchemy Core.

SQLite by default (WAL, synchronous=FULL: a committed event survives a power cut), PostgreSQL by URL.
"""

from sweattest.store.engine import resolve_url
from sweattest.store.runstore import INITIAL_STATE, Store, StoredEvent, open_store

__all__ = ["INITIAL_STATE", "Store", "StoredEvent", "open_store", "resolve_url"]
