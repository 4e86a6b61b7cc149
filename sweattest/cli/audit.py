"""`sweattest audit verify`, `sweattest audit head` and `sweattest audit show RUN_ID`: the tamper-evident
audit trail over the whole record."""

from __future__ import annotations

import argparse

from sweattest.cli.storeopts import add_db_option, add_signed_options, signed_in, store_from
from sweattest.record.audit import format_history, head, history, verify
from sweattest.record.users import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="verify the audit trail's hash chain or show a run's history",
                       description="The audit trail is append-only and hash-chained: each entry holds the "
                                   "SHA-256 of the previous entry's hash and its own canonical form.")
    actions = p.add_subparsers(dest="audit_command", metavar="ACTION")
    actions.required = True
    v = actions.add_parser("verify", help="walk the whole chain and the record; exit 1 at the first broken link",
                           description="Check every entry's link and hash, the database's guards, and every "
                                       "row of the record (every table of docs/store.md, What protects each "
                                       "table) against the hash the chain holds for it. Prints "
                                       "'audit trail intact: N entries; R rows ...', or the first broken entry "
                                       "or row with what was expected and found (exit status 1).")
    add_db_option(v)
    v.set_defaults(func=_verify)
    h = actions.add_parser("head", help="print the chain's last entry and its hash (keep it outside the database)",
                           description="Print the id and SHA-256 of the chain's last entry. Noted somewhere "
                                       "else (a printed monthly sheet, another system), it catches even a "
                                       "rewrite of the chain and its head row: compare it with a later "
                                       "`audit show` or with the entry of that id.")
    add_db_option(h)
    h.set_defaults(func=_head)
    s = actions.add_parser("show", help="print one run's history (UTC times, who, what, why, old -> new)",
                           description="Print the audit entries of one run, oldest first (they show the "
                                       "patient: a user is asked for).")
    s.add_argument("run_id", metavar="RUN_ID")
    add_signed_options(s, "reads the run's history")
    s.set_defaults(func=_show)


def _verify(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        result = verify(store)
    finally:
        store.close()
    print(result.message())
    return 0 if result.intact else 1


def _head(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        last_id, last_hash = head(store)
    finally:
        store.close()
    print(f"audit head: entry {last_id} sha256 {last_hash}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with signed_in(args, ROLES, "read a run's history") as (store, _):
        entries = history(store, args.run_id)
    print(f"run {args.run_id}: {len(entries)} audit entries (times UTC)")
    for line in format_history(entries):
        print(line)
    return 0
