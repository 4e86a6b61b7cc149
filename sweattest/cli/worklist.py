"""`sweattest worklist [--format table|json]`: the orders from the LIS waiting for their test."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.listing import print_listing
from sweattest.record.reads import record_bulk_read
from sweattest.record.runs import local_station
from sweattest.record.users import ROLES
from sweattest.record.worklist import open_orders


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worklist", help="list the open orders received from the LIS",
                       description="Orders received from the LIS (MLLP or order folder) whose test has not "
                                   "started, oldest first. Run one with `sweattest run --accession ACC`. "
                                   "The list shows patients: it asks for a user, and each listing is recorded "
                                   "in the audit trail (who, when, how many orders).")
    p.add_argument("--format", default="table", choices=("table", "json"))
    command(p, _worklist, user=SignIn(ROLES, "list the worklist", "lists the worklist"))


def _worklist(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    rows = [o.summary() for o in open_orders(store)]
    record_bulk_read(store, who=user.username, what="worklist", rows=len(rows), at=store.clock.utcnow(),
                     detail={"format": args.format}, station=local_station())
    print_listing(rows, args.format, empty="no open orders on the worklist",
                  header=f"{'ACCESSION':<20} {'MRN':<14} {'PATIENT':<28} {'DOB':<10} {'SEX':<3} {'ORDERED BY':<24} "
                         "RECEIVED (UTC)       NOTES",
                  line=_order_line)
    return 0


def _order_line(r: dict) -> str:
    name = f"{r['family']}, {r['given']}"
    return (f"{r['accession']:<20} {r['mrn']:<14} {name[:28]:<28} {r['dob']:<10} {r['sex']:<3} "
            f"{r['provider'][:24]:<24} {r['received_at'][:19].replace('T', ' ')}  {r['notes']}")
