"""`sweattest calibration add|list`: calibrations and calibration verifications of the instruments, by serial
number; the calibration-due check at the start of each run reads the latest (docs/equipment.md)."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.equipment import role_of
from sweattest.cli.listing import print_listing
from sweattest.core.clock import RealClock
from sweattest.core.instruments import ROLES
from sweattest.qa.filters import parse_date
from sweattest.record.calibrations import KINDS, OUTCOMES, add_calibration, calibrations
from sweattest.record.users import ROLES as USER_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibration", help="record and list calibrations and calibration verifications",
                       description="Calibrations and verifications per instrument (serial number). The next due "
                                   "date is the date performed plus the lab's interval for the instrument's role "
                                   "([calibration] in the lab configuration).")
    verbs = p.add_subparsers(dest="calibration_command", metavar="ACTION", required=True)
    a = verbs.add_parser("add", help="record a calibration or verification",
                         description="Record a calibration or verification with its outcome. A failed one stops "
                                     "the instrument from starting a run until a passing one is recorded.")
    a.add_argument("serial", help="the instrument's serial number")
    a.add_argument("--kind", required=True, choices=KINDS)
    a.add_argument("--outcome", required=True, choices=OUTCOMES)
    a.add_argument("--on", metavar="YYYY-MM-DD", help="the date performed (default: today, UTC)")
    a.add_argument("--role", choices=ROLES, help="the instrument's role (default: from the configuration)")
    a.add_argument("--reference", help="reference values, e.g. 'NaCl standard 100 mmol/L read 99'")
    a.add_argument("--notes", help="notes (required for a failed one)")
    command(a, _add, user=SignIn(USER_ROLES, "record a calibration", "performed it"))
    ls = verbs.add_parser("list", help="list calibrations, newest first", description="Calibrations and "
                          "verifications, newest first.")
    ls.add_argument("serial", nargs="?", help="one instrument (default: all)")
    ls.add_argument("--format", default="table", choices=("table", "json"))
    command(ls, _list, store=True)


def _add(ctx: Context) -> int:
    args, config = ctx.args, ctx.config
    role = role_of(config, args.serial, args.role)
    on = parse_date(args.on, "--on") or RealClock().utcnow().date()
    c = add_calibration(ctx.store, instrument=args.serial, role=role, kind=args.kind, outcome=args.outcome,
                        performed_on=on, interval_days=config.calibration_intervals[role], who=ctx.user.username,
                        reference=args.reference, notes=args.notes)
    then = (f"next due {c.next_due.isoformat()}" if c.passed else
            "the instrument cannot start a run until a passing calibration is recorded")
    print(f"{c.instrument} ({c.role}): {c.kind} on {c.performed_on.isoformat()} {c.outcome}; {then}")
    return 0


def _list(ctx: Context) -> int:
    rows = [c.as_dict() for c in calibrations(ctx.store, ctx.args.serial)]
    print_listing(rows, ctx.args.format, empty="no calibrations recorded",
                  header=f"{'DATE':<10} {'INSTRUMENT':<14} {'ROLE':<9} {'KIND':<12} {'OUTCOME':<7} {'NEXT DUE':<10} "
                         "BY",
                  line=lambda r: f"{r['performed_on']:<10} {r['instrument']:<14} {r['role']:<9} {r['kind']:<12} "
                                 f"{r['outcome']:<7} {r['next_due']:<10} {r['by']}")
    return 0
