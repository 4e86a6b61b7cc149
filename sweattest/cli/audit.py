"""`sweattest audit verify`, `sweattest audit head` and `sweattest audit show RUN_ID`: the tamper-evident
audit trail over the whole record."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, SignIn, command
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
    command(v, _verify, store=True)
    h = actions.add_parser("head", help="print the chain's last entry and its hash (keep it outside the database)",
                           description="Print the id and SHA-256 of the chain's last entry. Noted somewhere "
                                       "else (a printed monthly sheet, another system), it catches even a "
                                       "rewrite of the chain and its head row: compare it with a later "
                                       "`audit show` or with the entry of that id.")
    command(h, _head, store=True)
    s = actions.add_parser("show", help="print one run's history (UTC times, who, what, why, old -> new)",
                           description="Print the audit entries of one run, oldest first (they show the "
                                       "patient: a user is asked for).")
    s.add_argument("run_id", metavar="RUN_ID")
    command(s, _show, user=SignIn(ROLES, "read a run's history", "reads the run's history"))


def _verify(ctx: Context) -> int:
    result = verify(ctx.store)
    print(result.message())
    return 0 if result.intact else 1


def _head(ctx: Context) -> int:
    last_id, last_hash = head(ctx.store)
    print(f"audit head: entry {last_id} sha256 {last_hash}")
    return 0


def _show(ctx: Context) -> int:
    entries = history(ctx.store, ctx.args.run_id)
    print(f"run {ctx.args.run_id}: {len(entries)} audit entries (times UTC)")
    for line in format_history(entries):
        print(line)
    return 0
