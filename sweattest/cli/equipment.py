"""`sweattest equipment list|log|lot|out-of-service|in-service|history`: the equipment log of the configured
instruments, by serial number (docs/equipment.md)."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.listing import print_listing
from sweattest.core.clock import RealClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.core.instruments import ROLES
from sweattest.qa.equipment import instrument_rows
from sweattest.qa.filters import parse_date
from sweattest.record.equipment import add_entry, entries
from sweattest.record.users import ROLES as USER_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("equipment", help="the equipment log: instruments, maintenance, lots, out of service",
                       description="Each configured instrument with its serial number and state; maintenance and "
                                   "repair entries; electrode and collector lots in use; out of service and back. "
                                   "An instrument out of service is refused at the start of a run.")
    verbs = p.add_subparsers(dest="equipment_command", metavar="ACTION", required=True)
    ls = verbs.add_parser("list", help="the configured instruments: serial, state, calibration due, lots in use",
                          description="One line per configured instrument.")
    ls.add_argument("--format", default="table", choices=("table", "json"))
    command(ls, _list, config=True, store=True)
    h = verbs.add_parser("history", help="an instrument's log entries, newest first",
                         description="The log entries of one instrument (or of all).")
    h.add_argument("serial", nargs="?", help="serial number (default: every instrument)")
    h.add_argument("--format", default="table", choices=("table", "json"))
    command(h, _history, store=True)
    for name, kind, helptext in (
            ("log", None, "record maintenance or a repair"),
            ("lot", None, "record the electrode or collector lot put in use"),
            ("out-of-service", "out_of_service", "take an instrument out of service (with the reason)"),
            ("in-service", "in_service", "put an instrument back in service (reviewer, qa or admin)")):
        v = verbs.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        v.add_argument("serial", help="the instrument's serial number")
        if name == "log":
            v.add_argument("--kind", required=True, choices=("maintenance", "repair"))
        if name == "lot":
            v.add_argument("--kind", required=True, choices=("electrode", "collector"))
            v.add_argument("--lot", required=True, help="the lot number")
        v.add_argument("--text" if name in ("log", "lot") else "--reason", dest="text", required=name != "lot",
                       help="what was done" if name == "log" else "the reason")
        v.add_argument("--on", metavar="YYYY-MM-DD", help="the date (default: today, UTC)")
        v.add_argument("--role", choices=ROLES, help="the instrument's role (default: from the configuration)")
        command(v, _entry, user=SignIn(USER_ROLES, "record in the equipment log", "records the entry"))
        v.set_defaults(kind=kind, verb=name)


def role_of(config: LabConfig, serial: str, given: str | None) -> str:
    """The role of the instrument with this serial number: as configured, else ``--role``."""
    configured = next((i.role for i in config.instruments if i.serial_number == serial), None)
    if given and configured and given != configured:
        raise ValidationError(f"--role {given}: the configuration has {serial} as the {configured}")
    if not (given or configured):
        raise ValidationError(f"{serial} is not the serial number of a configured instrument: give --role")
    return given or configured


def _entry(ctx: Context) -> int:
    args = ctx.args
    role = role_of(ctx.config, args.serial, args.role)
    on = parse_date(args.on, "--on") or RealClock().utcnow().date()
    kind = args.kind if args.verb == "log" else f"{args.kind}_lot" if args.verb == "lot" else args.kind
    text = args.text or (f"{args.kind} lot {args.lot} in use" if args.verb == "lot" else "")
    user = ctx.user
    entry = add_entry(ctx.store, instrument=args.serial, role=role, kind=kind, on=on, text=text,
                      who=user.username, who_role=user.role, lot=getattr(args, "lot", None))
    print(f"{entry.instrument} ({entry.role}): {entry.kind.replace('_', ' ')} on {entry.on.isoformat()} recorded"
          f"{'' if entry.lot is None else f' (lot {entry.lot})'}: {entry.text}")
    return 0


def _list(ctx: Context) -> int:
    config = ctx.config
    rows = instrument_rows(ctx.store, config)
    print_listing(rows, ctx.args.format, empty=f"{config.source}: no instruments are configured (docs/config.md)",
                  header=f"{'ROLE':<9} {'MODEL':<14} {'SERIAL':<14} {'CALIBRATION DUE':<16} STATE",
                  line=lambda r: f"{r['role']:<9} {r['model']:<14} {r['serial_number'] or '(none)':<14} "
                                 f"{r['calibration_due'] or '-':<16} "
                                 f"{r['state']}")
    return 0


def _history(ctx: Context) -> int:
    rows = [e.as_dict() for e in entries(ctx.store, ctx.args.serial)]
    print_listing(rows, ctx.args.format, empty="no equipment log entries",
                  header=f"{'DATE':<10} {'INSTRUMENT':<14} {'KIND':<15} {'BY':<12} WHAT",
                  line=lambda r: f"{r['date']:<10} {r['instrument']:<14} {r['kind']:<15} {r['by']:<12} "
                                 f"{r['text']}")
    return 0
