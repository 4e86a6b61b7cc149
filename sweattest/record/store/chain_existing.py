"""Rows stored before the whole record was chained (migration 8) enter the chain as they are then."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import KEYED, range_item, read_rows, row_hash

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
            items = [[table, row[0], row_hash(row)] for row in read_rows(conn, table, "1 = 1")]
            for i in range(0, len(items), KEYS_PER_ENTRY):
                append_audit(conn, who="system", what="chain_existing_rows", at=at,
                             new={"table": table, "rows": len(items[i:i + KEYS_PER_ENTRY])},
                             rows=items[i:i + KEYS_PER_ENTRY])
            continue
        t = schema.metadata.tables[table]
        lo, hi, count = conn.execute(sa.select(sa.func.min(t.c.id), sa.func.max(t.c.id), sa.func.count())).one()
        if count:
            append_audit(conn, who="system", what="chain_existing_rows", at=at, new={"table": table, "rows": count},
                         rows=[range_item(conn, table, lo, hi)])
