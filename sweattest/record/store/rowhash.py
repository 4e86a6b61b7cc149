"""The content hash of a stored row, from the bytes as stored (never re-encoding its JSON).

A row's text is the JSON array of its chained columns as the database returns them: JSON columns as their
stored text, booleans as 0/1, times as their stored UTC text, binary as hex. Its hash is SHA-256 of that
text. Rows written together are folded in id order: ``fold = SHA-256(fold + text)``, starting from the
empty string, so one row folds to its own hash. Writers read their rows back with the same query ``audit
verify`` streams, so both hash the same bytes.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache

import sqlalchemy as sa


def _hex(value):
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot chain a {type(value).__name__}")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_hex).encode
_sha256 = hashlib.sha256

#: Chained columns of each table (the key first). ``runs``: its content (what a signature binds); its state
#: and QA columns are chained apart (``run_state``), the lease is operational and patient_dob a copy of the
#: chained order's date of birth, for the index (docs/store.md).
#: ``purpose`` (migration 13) comes last: a run row as chained before it is the row without its last column.
COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "accession", "method", "operator", "patient_mrn", "created_at", "order_json", "month",
             "age_group", "protocol_sha256", "protocol_text", "purpose"),
    "events": ("id", "run_id", "seq", "kind", "site", "at", "t", "data", "accepted"),
    "readings": ("id", "run_id", "site", "kind", "at", "t", "data"),  # until migration 11
    "reading_blocks": ("id", "run_id", "site", "kind", "at", "t_first", "t_last", "n", "data"),
    "readings_pending": ("id", "run_id", "site", "kind", "at", "t_first", "t_last", "n", "data"),
    "users": ("username", "full_name", "role", "active", "password_hash", "created_at"),
    "signatures": ("id", "run_id", "username", "full_name", "meaning", "at", "reason", "version", "signed_seq",
                   "signed_hash"),
    "result_versions": ("id", "run_id", "version", "changes", "reason", "by", "at"),
    "qc_results": ("id", "analyzer", "level", "lot", "target_mean", "target_sd", "value", "qc_run", "at", "who"),
    # proficiency testing (migration 16)
    "pt_events": ("id", "provider", "scheme", "event_code", "received_on", "due_on", "at", "who"),
    "pt_samples": ("id", "event_id", "sample_id", "at", "who"),
    "pt_targets": ("id", "sample_id", "target", "low", "high", "reason", "at", "who"),
    "pt_grades": ("id", "event_id", "sample_id", "run_id", "result", "low", "high", "grade", "at", "who"),
    "pt_corrective_actions": ("id", "event_id", "found", "done", "done_by", "done_on", "at", "who"),
    "qc_lots": ("id", "analyzer", "level", "lot", "material", "expires", "target_mean", "target_sd", "state",
                "establish_runs", "action", "reason", "at", "who"),
    "calibrations": ("id", "instrument", "role", "kind", "outcome", "performed_on", "interval_days", "next_due",
                     "reference", "notes", "at", "who"),
    "equipment_log": ("id", "instrument", "role", "kind", "on_date", "text", "lot", "at", "who"),
    "repeat_links": ("id", "run_id", "repeat_of", "reason", "note", "who", "at"),
    "skin_reactions": ("id", "run_id", "site", "grade", "note", "who", "at"),
    "competency_records": ("id", "operator", "kind", "what", "done_on", "assessor", "outcome", "next_due",
                           "recorded_by", "at"),
    # QC verdicts and the acts on held analytical runs (migration 22)
    "qc_verdicts": ("id", "qc_run", "analyzer", "purpose", "verdict", "findings", "made_from", "at", "who"),
    "qc_actions": ("id", "qc_run", "kind", "text", "at", "who"),
    # the rest of the record (migration 32): the worklist, the order messages received, the outbox
    "lis_orders": ("id", "placer", "filler", "mrn", "test_code", "state", "order_json", "control_id",
                   "received_at", "run_id", "closed_reason"),
    "lis_messages": ("id", "sender", "control_id", "kind", "sha256", "ack_code", "ack", "received_at"),
    #: ``next_attempt_at`` is left out: a sender claims a message by moving it (operational, docs/store.md)
    "outbox": ("id", "run_id", "version", "format", "channel", "destination", "name", "control_id", "body",
               "state", "attempts", "last_error", "created_at", "delivered_at", "accession", "ae_count"),
    # views: columns of a table chained apart from its content (``SOURCE``), each change by an entry of its own
    "run_state": ("run_id", "state", "updated_at", "sites_measured", "qns", "reported_at"),
    "user_access": ("username", "failed_passwords", "locked_until", "password_changed_at"),
}
#: Tables outside the chain, and why (docs/store.md, *What protects each table*); ``audit`` and ``audit_head`` are
#: the chain itself.
OUTSIDE = {
    "schema_migrations": "which migrations were applied: the program's own bookkeeping; what a migration changes "
                         "in the record is chained by it",
    "web_sessions": "who is signed in at which browser now: operational; a session forged or prolonged by the "
                    "database owner records nothing by itself, and every record made in it is chained with its "
                    "author",
}
#: The table a view reads: a run's state and QA columns change with its events, a user's lock-out with each
#: wrong password, apart from the content a signature binds (the run's) or an admin changes (the user's).
SOURCE = {"run_state": "runs", "user_access": "users"}
#: The chained columns of ``runs`` before migration 13 added the run's purpose.
RUNS_BEFORE_PURPOSE = COLUMNS["runs"][:-1]
#: Tables whose rows change: each change chains the row's new hash by its key, and verify compares each row with
#: the last hash chained for it (the others add rows only, chained by ranges of ids).
KEYED = frozenset({"runs", "users", "lis_orders", "outbox", *SOURCE})
_JSON = frozenset({("runs", "order_json"), ("events", "data"), ("readings", "data"), ("result_versions", "changes"),
                   ("lis_orders", "order_json"), ("lis_orders", "closed_reason")})
#: Booleans: 0/1 on both backends. PostgreSQL's are cast; SQLite's are read as stored (the program writes 0 and
#: 1), since a column there keeps any value: 0.5 or '0x' would read as true in the program and CAST to 0.
_BOOL = frozenset({"accepted", "active", "qns"})


def select_sql(table: str, dialect: str, where: str = "", columns: tuple[str, ...] | None = None) -> str:
    """The query that reads ``table``'s chained columns (or ``columns``) as stored, ordered by its key."""
    columns = columns or COLUMNS[table]
    parts = []
    for name in columns:
        quoted = f'"{name}"'
        if (table, name) in _JSON and dialect == "postgresql":
            parts.append(f"{quoted}::text")
        elif name in _BOOL and dialect == "postgresql":
            parts.append(f"CAST({quoted} AS INTEGER)")
        else:
            parts.append(quoted)
    return f'SELECT {", ".join(parts)} FROM "{SOURCE.get(table, table)}" {where} ORDER BY "{columns[0]}"'


#: The text of a row (as read by ``select_sql``).
row_text = _encode


def digest(row: tuple, acc: str = "") -> str:
    """SHA-256 of ``acc`` followed by the row's text: the row's hash (``acc`` empty) or one step of a fold.
    A row ending in binary (a block of readings, tens of kB) is hashed without building its text: the JSON of
    the other columns, then the hex digits straight from the bytes, which is the same text hashed."""
    last = row[-1] if len(row) > 1 else None
    if isinstance(last, bytes | memoryview):
        sha = _sha256((acc + _encode(row[:-1])[:-1] + ',"').encode())
        sha.update(binascii.hexlify(last))
        sha.update(b'"]')
        return sha.hexdigest()
    return _sha256((acc + _encode(row)).encode()).hexdigest()


def row_hash(row: tuple) -> str:
    return digest(row)


def fold(rows: Iterable[tuple], start: str = "") -> str:
    acc = start
    for row in rows:
        acc = digest(row, acc)
    return acc


@lru_cache(maxsize=256)
def _select(table: str, dialect: str, where: str, columns: tuple[str, ...] | None) -> sa.TextClause:
    return sa.text(select_sql(table, dialect, f"WHERE {where}", columns))


def read_rows(conn: sa.Connection, table: str, where: str, columns: tuple[str, ...] | None = None,
              **params) -> list[tuple]:
    """``table``'s chained rows matching ``where`` (SQL with named parameters), as stored, by key."""
    # the cache is keyed by the columns read, never by the table alone (older chains read fewer columns)
    return [tuple(r) for r in conn.execute(_select(table, conn.dialect.name, where, columns or COLUMNS[table]),
                                           params)]


def keyed_item(conn: sa.Connection, table: str, key: str | int) -> list:
    """The chain item for one row of a keyed table (``KEYED``) as it is now: [table, key, hash]."""
    rows = read_rows(conn, table, f'"{COLUMNS[table][0]}" = :key', key=key)
    return [table, key, row_hash(rows[0])]


def range_item(conn: sa.Connection, table: str, lo: int, hi: int) -> list:
    """The chain item for rows ``lo``..``hi`` of a table with integer ids: [table, lo, hi, fold]."""
    return [table, lo, hi, fold(read_rows(conn, table, "id BETWEEN :lo AND :hi", lo=lo, hi=hi))]
