"""`sweattest worklist [--format table|json]`: the orders from the LIS waiting for their test."""

from __future__ import annotations

import argparse

from sweattest.cli.listing import print_listing
from sweattest.cli.storeopts import add_signed_options, signed_in
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
    add_signed_options(p, "lists the worklist")
    p.set_defaults(func=_worklist)


def _worklist(args: argparse.Namespace) -> int:
    with signed_in(args, ROLES, "list the worklist") as (store, user):
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
