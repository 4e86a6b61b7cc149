"""The database's own guards over the record: triggers that refuse changing or removing chained rows.

Migration 5 guards ``audit`` against UPDATE and DELETE; migration 8 adds the same for the other append-only
tables of the record and, on PostgreSQL, refuses TRUNCATE of all of them (TRUNCATE fires no row trigger).
``audit verify`` checks that every guard is still in place: dropping one needs owner rights and is itself
a sign of tampering. Migration 32 guards the order messages received (append-only) and refuses DELETE on the
tables whose rows change under the chain (runs, users, the worklist, the outbox), and TRUNCATE of them.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

#: Rows that are only ever added, besides the audit trail itself (migration 5): migration 8's tables, and
#: ``reading_blocks`` in place of ``readings`` since migration 11. ``readings_pending`` rows are removed when
#: they are sealed into blocks: there only TRUNCATE is refused (its rows are covered by the head's fold).
V8_TABLES = ("events", "readings", "signatures", "result_versions", "qc_results")
#: The records of proficiency testing (migration 16).
PT_TABLES = ("pt_events", "pt_samples", "pt_targets", "pt_grades", "pt_corrective_actions")
#: Migration 14: control lots, calibrations, the equipment log.
V14_TABLES = ("qc_lots", "calibrations", "equipment_log")
#: Migration 15: skin reactions and competency records.
PEOPLE_TABLES = ("skin_reactions", "competency_records")
#: Migration 22: QC verdicts and the corrective actions and overrides of held analytical runs.
QC_VERDICT_TABLES = ("qc_verdicts", "qc_actions")
APPEND_ONLY_TABLES = ("events", "reading_blocks", "signatures", "result_versions", "qc_results", *V14_TABLES,
                      *PEOPLE_TABLES, *PT_TABLES, "repeat_links", *QC_VERDICT_TABLES, "lis_messages")
#: Migration 32: tables whose rows change (each change chained) but are never removed: DELETE refused.
KEPT_TABLES = ("runs", "users", "lis_orders", "outbox")
TRUNCATE_GUARDED = ("audit", "audit_head", *APPEND_ONLY_TABLES, "readings_pending", *KEPT_TABLES)

_PG_FUNCTION = ("CREATE OR REPLACE FUNCTION record_append_only() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'the record is append-only: %% refused on %%', TG_OP, TG_TABLE_NAME; END $$ "
                "LANGUAGE plpgsql")


def expected(dialect: str) -> set[str]:
    """The names of the triggers a store of this backend must have."""
    kept = {f"{t}_no_delete" for t in KEPT_TABLES}
    if dialect == "postgresql":
        return ({"audit_no_change"} | {f"{t}_no_change" for t in APPEND_ONLY_TABLES}
                | {f"{t}_no_truncate" for t in TRUNCATE_GUARDED} | kept)
    return {f"{t}_no_{op}" for t in ("audit", *APPEND_ONLY_TABLES) for op in ("update", "delete")} | kept


def create(conn: sa.Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES,
           truncate: tuple[str, ...] = TRUNCATE_GUARDED, kept: tuple[str, ...] = ()) -> None:
    """Guards: ``tables`` refuse UPDATE and DELETE, ``kept`` refuse DELETE; on PostgreSQL ``truncate`` cannot be
    truncated."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_FUNCTION)
        for table in tables:
            conn.exec_driver_sql(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                                 "FOR EACH ROW EXECUTE FUNCTION record_append_only()")
        for table in kept:
            conn.exec_driver_sql(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                                 "FOR EACH ROW EXECUTE FUNCTION record_append_only()")
        if truncate:
            for table in truncate:
                conn.exec_driver_sql(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                                     "FOR EACH STATEMENT EXECUTE FUNCTION record_append_only()")
        return
    for table, op in [(t, op) for t in tables for op in ("update", "delete")] + [(t, "delete") for t in kept]:
        conn.exec_driver_sql(f"CREATE TRIGGER {table}_no_{op} BEFORE {op.upper()} ON {table} BEGIN "
                             f"SELECT RAISE(ABORT, 'the record is append-only: {op} refused on {table}'); END")


def create_all(conn: sa.Connection) -> None:
    """Every guard of a store at the latest migration (the audit trail's own, of migration 5, apart)."""
    create(conn, APPEND_ONLY_TABLES, TRUNCATE_GUARDED, KEPT_TABLES)


def present(conn: sa.Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        return set(conn.exec_driver_sql(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
            "AND t.tgenabled IN ('O', 'A')").scalars())  # a disabled (or replica-only) trigger guards nothing
    return set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())


def missing(conn: sa.Connection) -> list[str]:
    """Guards that should be there and are not, sorted."""
    return sorted(expected(conn.dialect.name) - present(conn))


#: What each guard's function does on PostgreSQL (``pg_proc.prosrc``, whitespace aside): refuse, nothing else.
_PG_BODIES = {
    "record_append_only": ("BEGIN RAISE EXCEPTION 'the record is append-only: % refused on %', TG_OP, "
                           "TG_TABLE_NAME; END"),
    "audit_append_only": "BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END",
}
_PG_DEF = re.compile(r'CREATE TRIGGER (\w+) BEFORE ([A-Z ]+?) ON (?:"?[^".]+"?\.)?(\w+) FOR EACH (ROW|STATEMENT) '
                     r"EXECUTE FUNCTION (\w+)\(\)")
_PG_EVENTS = {"change": ("DELETE OR UPDATE", "ROW"), "delete": ("DELETE", "ROW"), "truncate": ("TRUNCATE", "STATEMENT")}
_SQLITE_DEF = re.compile(r"CREATE TRIGGER (\w+) BEFORE (UPDATE|DELETE) ON (\w+) BEGIN SELECT RAISE\(ABORT, '[^']*'\); "
                         r"END")


def foreign(conn: sa.Connection) -> list[str]:
    """Triggers on the store's tables that are not the program's guards as it made them, sorted: a trigger
    planted (one that rewrites what the program writes would be chained as written), or a guard re-created
    to do nothing (``WHEN`` false, a function that returns instead of refusing); on PostgreSQL also any rule
    (``rule NAME``: the program makes none, and a rule rewrites writes as a trigger would)."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT t.tgname, pg_get_triggerdef(t.oid), p.proname, p.prosrc, "
            "p.pronamespace = current_schema()::regnamespace FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal").all()
        rules = conn.exec_driver_sql("SELECT 'rule ' || rulename FROM pg_rules WHERE schemaname = current_schema()")
        return sorted([name for name, definition, function, body, here in rows
                       if not _pg_guard(name, definition, function, body, here)] + list(rules.scalars()))
    rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
    return sorted(name for name, sql in rows if not _sqlite_guard(name, sql or ""))


def _pg_guard(name: str, definition: str, function: str, body: str, here: bool) -> bool:
    match = _PG_DEF.fullmatch(" ".join(definition.split()))
    if not match or not here or " ".join(body.split()) != _PG_BODIES.get(function):
        return False
    trigger, events, table, each, called = match.groups()
    kind = trigger.rsplit("_no_", 1)[-1]
    want = "audit_append_only" if trigger == "audit_no_change" else "record_append_only"
    return (trigger == name and name in expected("postgresql") and trigger == f"{table}_no_{kind}"
            and _PG_EVENTS.get(kind) == (events, each) and called == want)


def _sqlite_guard(name: str, sql: str) -> bool:
    match = _SQLITE_DEF.fullmatch(" ".join(sql.split()))
    if not match:
        return False
    trigger, op, table = match.groups()
    return trigger == name and name in expected("sqlite") and trigger == f"{table}_no_{op.lower()}"
