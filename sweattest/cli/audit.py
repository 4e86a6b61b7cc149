"""`sweattest audit verify|show`: check the hash chain; print a run's history."""

from __future__ import annotations

import argparse

from sweattest.audit import format_entry, history, verify
from sweattest.store import open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="verify the tamper-evident audit trail; show a run's history",
                       description="The audit trail is append-only and SHA-256 hash-chained "
                                   "(docs/store.md).")
    ps = p.add_subparsers(dest="action", metavar="ACTION")
    ps.required = True
    v = ps.add_parser("verify", help="walk the whole chain; report the first broken link (exit 1)")
    add_db_option(v)
    v.set_defaults(func=_verify)
    s = ps.add_parser("show", help="print one run's audit history, oldest first")
    s.add_argument("run_id", metavar="RUN_ID")
    add_db_option(s)
    s.set_defaults(func=_show)


def add_db_option(p: argparse.ArgumentParser) -> None:
    """--db for every command that reads or changes the run store (audit, user, qa)."""
    p.add_argument("--db", default=None,
                   help="run store URL or SQLite path (default: $SWEATTEST_DB, else the user data folder)")


def _verify(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        result = verify(store)
    if result.intact:
        print(f"audit trail intact: {result.entries} entries (head {result.head_hash})")
        return 0
    print(f"audit trail BROKEN at entry {result.broken_at}: {result.broken}")
    print(f"entries 1-{result.entries} are intact (last good hash {result.head_hash})")
    return 1


def _show(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        entries = history(store, args.run_id)
        run = store.get_run(args.run_id)
    if run is None and not entries:
        print(f"no run {args.run_id} and no audit entries for it")
        return 1
    if run is not None:
        print(f"run {run['run_id']}  accession {run['accession']}  method {run['method']}  "
              f"operator {run['operator']}  state {run['state']}")
    for entry in entries:
        print("  " + format_entry(entry))
    return 0
