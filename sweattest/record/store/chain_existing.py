"""Rows stored before the whole record was chained (migration 8) enter the chain as they are then."""

from __future__ import annotations

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import COLUMNS, KEYED, fold, range_item, read_rows, row_hash

#: Keyed rows per entry, so a large store's migration writes entries of a bounded size.
KEYS_PER_ENTRY = 10_000


def chain_existing_rows(conn: sa.Connection) -> None:
    """One ``chain_existing_rows`` entry per table that has rows (more for many keyed rows): a range item
    over every row of a table with integer ids, one item per row of ``runs`` and ``users``. Readings are
    folded into the head like any write and sealed by the first of these entries."""
    at = conn.info["migrating_at"]  # the time the store was opened for migrating (the store's clock)
    head = schema.audit_head
    last_reading = conn.execute(sa.select(sa.func.max(schema.readings.c.id))).scalar()
    if last_reading:
        conn.execute(head.update().where(head.c.id == 1).values(
            readings_from=0, readings_to=last_reading, readings_acc=fold(read_rows(conn, "readings", "1 = 1"))))
    for table in COLUMNS:
        if table == "readings":
            continue
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
    if conn.execute(sa.select(head.c.readings_acc)).scalar() is not None:  # only readings were stored
        append_audit(conn, who="system", what="chain_existing_rows", at=at, new={"table": "readings"})
