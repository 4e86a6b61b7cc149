"""`sweattest patient history MRN --dob YYYY-MM-DD`: every sweat test of one patient, with its results."""

from __future__ import annotations

import argparse
import sys

from sweattest.cli.context import Context, SignIn, command
from sweattest.qa.patients import FORMATS, conflicts, format_history, history
from sweattest.record.reads import record_bulk_read
from sweattest.record.runs import local_station
from sweattest.record.users import QA_ROLES

#: Who may look up a patient's tests: the bench (a repeat is decided on the history) and the QA desk.
VIEWERS = ("tech", *QA_ROLES)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("patient", help="a patient's sweat tests: history, repeats, identity conflicts",
                       description="A patient's sweat tests from the run store (patient runs only).")
    actions = p.add_subparsers(dest="patient_command", metavar="VIEW")
    actions.required = True
    h = actions.add_parser("history", help="every test of one patient (MRN and date of birth) with its results",
                           description="Every sweat test of the patient with this MRN and date of birth: date, "
                                       "accession, chloride per site, interpretation, QNS, state and the test it "
                                       "repeats. Runs with the same MRN and another date of birth are not merged: "
                                       "they are named as a possible identity conflict.")
    h.add_argument("mrn", metavar="MRN")
    h.add_argument("--dob", required=True, metavar="YYYY-MM-DD", help="the patient's date of birth")
    h.add_argument("--format", default="table", choices=FORMATS)
    command(h, _history, user=SignIn(VIEWERS, "look up a patient's tests",
                                     "looks the patient up (tech, reviewer, qa or admin)"))
    c = actions.add_parser("conflicts", help="MRNs whose runs carry more than one date of birth",
                           description="MRNs whose runs carry more than one date of birth: possible identity "
                                       "conflicts for QA to resolve (an amendment of the patient's details).")
    command(c, _conflicts, user=SignIn(QA_ROLES, "view identity conflicts",
                                       "views the conflicts (reviewer, qa or admin)"))


def _history(ctx: Context) -> int:
    store, args = ctx.store, ctx.args
    found = history(store, args.mrn, args.dob)
    record_bulk_read(store, who=ctx.user.username, what="patient history", rows=len(found.tests),
                     at=store.clock.utcnow(), detail={"format": args.format}, station=local_station())
    sys.stdout.write(format_history(found, args.format))
    return 0


def _conflicts(ctx: Context) -> int:
    store = ctx.store
    found = conflicts(store)
    record_bulk_read(store, who=ctx.user.username, what="identity conflicts", rows=len(found),
                     at=store.clock.utcnow(), station=local_station())
    if not found:
        print("no MRN has runs with more than one date of birth")
    for c in found:
        dobs = "; ".join(f"born {dob}: {', '.join(ids)}" for dob, ids in c["dobs"].items())
        print(f"MRN {c['mrn']}: {dobs}")
    return 0
