"""Rows stored before the whole record was chained (migration 8) enter the chain as they are then; run rows
stored before they carried their purpose (migration 13) are chained again with it; the rest of the record
(migration 32: run states, users' access, the worklist, the order messages, the outbox) enters it as it is."""

from __future__ import annotations

import json

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import KEYED, RUNS_BEFORE_PURPOSE, range_item, read_rows, row_hash

#: The chained tables as they were at migration 8.
TABLES = ("runs", "events", "readings", "users", "signatures", "result_versions", "qc_results")
#: Keyed rows per entry, so a large store's migration writes entries of a bounded size.
KEYS_PER_ENTRY = 10_000


def chain_existing_rows(conn: sa.Connection) -> None:
    """One ``chain_existing_rows`` entry per table that has rows (more for many keyed rows): a range item
    over every row of a table with integer ids, one item per row of ``runs`` and ``users``. Readings are
    chained like the other tables with integer ids."""
    at = conn.info["migrating_at"]  # the time the store was opened for migrating (the store's clock)
    for table in TABLES:
        if table in KEYED:
            columns = RUNS_BEFORE_PURPOSE if table == "runs" else None  # as they were at migration 8
            items = [[table, row[0], row_hash(row)] for row in read_rows(conn, table, "1 = 1", columns)]
            _append_keyed(conn, "chain_existing_rows", table, items)
            continue
        t = schema.metadata.tables[table]
        lo, hi, count = conn.execute(sa.select(sa.func.min(t.c.id), sa.func.max(t.c.id), sa.func.count())).one()
        if count:
            append_audit(conn, who="system", what="chain_existing_rows", at=at, new={"table": table, "rows": count},
                         rows=[range_item(conn, table, lo, hi)])


def _append_keyed(conn: sa.Connection, what: str, table: str, items: list[list], **new) -> None:
    for i in range(0, len(items), KEYS_PER_ENTRY):
        append_audit(conn, who="system", what=what, at=conn.info["migrating_at"],
                     new={"table": table, "rows": len(items[i:i + KEYS_PER_ENTRY])} | new,
                     rows=items[i:i + KEYS_PER_ENTRY])


def chain_run_purposes(conn: sa.Connection) -> int:
    """Migration 13: each run row whose content still matches the chain (hashed without its purpose) is
    chained again as it is now, with its purpose. A row that no longer matches keeps its old chain item, so
    ``audit verify`` still names it. Returns the number of rows chained again."""
    chained: dict[str, str] = {}
    audit = schema.audit
    query = sa.select(audit.c.rows).where(audit.c.rows.like('%["runs",%')).order_by(audit.c.id)
    for (rows_text,) in conn.execute(query):
        for item in json.loads(rows_text):
            if item[0] == "runs":
                chained[item[1]] = item[2]
    items = [["runs", row[0], row_hash(row)] for row in read_rows(conn, "runs", "1 = 1")
             if chained.get(row[0]) == row_hash(row[:-1])]
    _append_keyed(conn, "chain_run_purposes", "runs", items, column="purpose")
    return len(items)


#: Migration 32: keyed tables and views chained as they are, then the order messages received (ids only grow).
REST = ("run_state", "user_access", "lis_orders", "outbox")


def chain_rest_of_record(conn: sa.Connection) -> None:
    """Migration 32: one ``chain_existing_rows`` entry per table or view that has rows (more for many keys)."""
    for table in REST:
        items = [[table, row[0], row_hash(row)] for row in read_rows(conn, table, "1 = 1")]
        _append_keyed(conn, "chain_existing_rows", table, items)
    t = schema.lis_messages
    lo, hi, count = conn.execute(sa.select(sa.func.min(t.c.id), sa.func.max(t.c.id), sa.func.count())).one()
    if count:
        append_audit(conn, who="system", what="chain_existing_rows", at=conn.info["migrating_at"],
                     new={"table": "lis_messages", "rows": count}, rows=[range_item(conn, "lis_messages", lo, hi)])
