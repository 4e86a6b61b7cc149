"""`sweattest competency add|list`: training and competency assessments of the lab's operators."""

from __future__ import annotations

import argparse
import json

from sweattest.cli.context import Context, SignIn, command
from sweattest.record.competency import KINDS, OUTCOMES, add_record, list_records
from sweattest.record.users import QA_ROLES

#: Who records a training or an assessment: QA (reviewers and administrators).
RECORDERS = QA_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("competency", help="record and list operators' training and competency assessments",
                       description="Training and competency assessments of the lab's operators, kept in the "
                                   "store under the audit chain (docs/competency.md).")
    actions = p.add_subparsers(dest="competency_command", metavar="ACTION")
    actions.required = True
    a = actions.add_parser("add", help="record a training or a competency assessment",
                           description="Record one training or competency assessment of an operator. Recorded by "
                                       "a reviewer or an administrator (--as, password asked).")
    a.add_argument("operator", help="the operator's user name")
    a.add_argument("--kind", required=True, choices=KINDS)
    a.add_argument("--what", required=True, help="what was trained or assessed, e.g. 'Macroduct collection, "
                                                 "observed'")
    a.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day it was done")
    a.add_argument("--assessor", required=True, help="who trained or assessed the operator")
    a.add_argument("--outcome", required=True, choices=OUTCOMES)
    a.add_argument("--next-due", metavar="YYYY-MM-DD", help="when the next assessment is due")
    command(a, _add, user=SignIn(RECORDERS, "record competency", "records it"))
    ls = actions.add_parser("list", help="list the records, oldest first",
                            description="List training and competency assessments, oldest first.")
    ls.add_argument("--operator", help="only this operator's records")
    ls.add_argument("--format", default="table", choices=("table", "json"))
    command(ls, _list, store=True)


def _add(ctx: Context) -> int:
    args, store = ctx.args, ctx.store
    record = add_record(store, operator=args.operator, kind=args.kind, what=args.what, done_on=args.date,
                        assessor=args.assessor, outcome=args.outcome, next_due=args.next_due,
                        recorded_by=ctx.user.username, at=store.clock.utcnow())
    due = f", next due {record.next_due}" if record.next_due else ""
    print(f"recorded {record.kind} #{record.id} of {record.operator} on {record.done_on}: {record.outcome}{due}")
    return 0


def _list(ctx: Context) -> int:
    records = list_records(ctx.store, ctx.args.operator)
    if ctx.args.format == "json":
        for r in records:
            print(json.dumps(r.as_dict(), ensure_ascii=False))
        return 0
    if not records:
        print("no competency records")
        return 0
    print(f"{'id':>4} {'operator':<14} {'kind':<10} {'date':<10} {'outcome':<7} {'next due':<10} {'assessor':<16} what")
    for r in records:
        print(f"{r.id:>4} {r.operator:<14} {r.kind:<10} {r.done_on.isoformat():<10} {r.outcome:<7} "
              f"{r.next_due.isoformat() if r.next_due else '-':<10} {r.assessor:<16} {r.what}")
    return 0
