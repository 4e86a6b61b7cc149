"""The run store: runs, their events (the write-ahead log) and readings, on SQLAlchemy Core.

SQLite by default (WAL, synchronous=FULL: a committed event survives a power cut), PostgreSQL by URL.
Opened with ``sweattest.record.store.store.open_store``. This file imports nothing: the store's migrations judge
existing QC with record/analytical_qc.py, which reads the tables here (``schema``).
"""
