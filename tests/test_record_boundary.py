"""Only ``sweattest/record/`` speaks to the database: every other module reads and writes the record through the
record's functions. Outside it no module imports SQLAlchemy or the store's tables and chain, reaches for the
store's engine, executes a statement, or holds SQL text."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sweattest"
#: What of the store other rooms may import: opening it (``open_store``, ``Store``, its URLs) and the QA columns'
#: derivations (age groups); never its tables, chain, row hashes or migrations.
STORE_MODULES = {"sweattest.record.store", "sweattest.record.store.store", "sweattest.record.store.derived"}
STORE_NAMES = {"Store", "StoredEvent", "open_store", "resolve_url"}
SQL = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|"
                 r"DROP\s+TABLE|PRAGMA|BEGIN|COMMIT)\b")


def _in_store(module: str) -> bool:
    """``module`` is the store package or one of its modules (not a record module whose name begins the same)."""
    return module == "sweattest.record.store" or module.startswith("sweattest.record.store.")


def offences(source: str) -> list[str]:
    """What in ``source`` (a module outside the record) speaks to the database itself, one line each."""
    out = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            out += [f"{line}: imports {a.name}" for a in node.names if a.name.split(".")[0] == "sqlalchemy"
                    or (_in_store(a.name) and a.name not in STORE_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "sqlalchemy":
                out.append(f"{line}: imports from {node.module}")
            elif _in_store(node.module) and node.module not in STORE_MODULES:
                out.append(f"{line}: imports from {node.module}")
            elif node.module == "sweattest.record.store":
                out += [f"{line}: imports {a.name} from the store" for a in node.names if a.name not in STORE_NAMES]
        elif isinstance(node, ast.Attribute) and node.attr in ("engine", "execute", "exec_driver_sql"):
            out.append(f"{line}: uses .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            out.append(f"{line}: SQL text {node.value[:40]!r}")
    return sorted(out, key=lambda o: int(o.split(":")[0]))  # in the order of the source


def test_no_module_outside_the_record_speaks_to_the_database():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("sweattest", "record"):
            continue
        problems = offences(path.read_text(encoding="utf-8"))
        if problems:
            found[str(relative)] = problems
    assert found == {}, "read and write the record through sweattest/record/ (a function named for what it holds)"


def test_the_check_sees_each_way_of_reaching_the_database():
    source = '''
import sqlalchemy as sa
from sqlalchemy import select
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
import sweattest.record.store.migrations
with store.engine.connect() as conn:
    conn.execute(query)
    conn.exec_driver_sql("SELECT 1")
QUERY = """
    DELETE FROM runs WHERE run_id = ?"""
'''
    assert [o.split(": ", 1)[1] for o in offences(source)] == [
        "imports sqlalchemy", "imports from sqlalchemy", "imports schema from the store",
        "imports from sweattest.record.store.chain", "imports sweattest.record.store.migrations", "uses .engine",
        "uses .execute", "uses .exec_driver_sql", "SQL text 'SELECT 1'",
        "SQL text '\\n    DELETE FROM runs WHERE run_id = ?'"]


def test_opening_the_store_and_its_age_groups_are_not_offences():
    source = '''
from sweattest.record.store.store import Store, open_store
from sweattest.record.store.store import DEMO_DB
from sweattest.record.store.derived import INFANT
HELP = "Select the runs of one operator"
with store.writing() as conn:
    queue(conn, run_id)
'''
    assert offences(source) == []
