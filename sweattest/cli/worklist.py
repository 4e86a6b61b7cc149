"""`sweattest worklist [--format table|json]`: the orders from the LIS waiting for their test."""

from __future__ import annotations

import argparse

from sweattest.cli.listing import print_listing
from sweattest.cli.storeopts import add_db_option, store_from
from sweattest.record.worklist import open_orders


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worklist", help="list the open orders received from the LIS",
                       description="Orders received from the LIS (MLLP or order folder) whose test has not "
                                   "started, oldest first. Run one with `sweattest run --accession ACC`.")
    p.add_argument("--format", default="table", choices=("table", "json"))
    add_db_option(p)
    p.set_defaults(func=_worklist)


def _worklist(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        rows = [o.summary() for o in open_orders(store)]
    finally:
        store.close()
    print_listing(rows, args.format, empty="no open orders on the worklist",
                  header=f"{'ACCESSION':<20} {'MRN':<14} {'PATIENT':<28} {'DOB':<10} {'SEX':<3} {'ORDERED BY':<24} "
                         "RECEIVED (UTC)       NOTES",
                  line=_order_line)
    return 0


def _order_line(r: dict) -> str:
    name = f"{r['family']}, {r['given']}"
    return (f"{r['accession']:<20} {r['mrn']:<14} {name[:28]:<28} {r['dob']:<10} {r['sex']:<3} "
            f"{r['provider'][:24]:<24} {r['received_at'][:19].replace('T', ' ')}  {r['notes']}")
