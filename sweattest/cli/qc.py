"""`sweattest qc lot add|list|retire` and `sweattest qc targets establish`: the control lots of each analyzer and
level with their targets and expiry, entered by QA (a reviewer, QA or admin); the QC record is in
``sweattest.cli.qc_runs``."""

from __future__ import annotations

import argparse

from sweattest.cli import qc_runs
from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.listing import print_listing
from sweattest.core.units import parse_quantity
from sweattest.qa.filters import parse_date
from sweattest.record.qc_lots import DEFAULT_ANALYZER, LEVELS, add_lot, establish_targets, lots, retire_lot
from sweattest.record.users import QA_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qc", help="control lots, controls measured outside a run, held runs, the QC record",
                       description="Control materials and lots per analyzer and level, with their target mean "
                                   "and SD and expiry date (docs/equipment.md, docs/qc.md). A control run on an "
                                   "unknown, expired or retired lot, or a lot of another analyzer or level, is "
                                   "refused.")
    groups = p.add_subparsers(dest="qc_command", metavar="GROUP", required=True)
    lot = groups.add_parser("lot", help="add, list or retire control lots",
                            description="Control lots of an analyzer.").add_subparsers(
        dest="lot_command", metavar="ACTION", required=True)
    a = lot.add_parser("add", help="add a control lot with its target mean and SD and expiry date",
                       description="Add a lot. With --provisional the mean and SD are the manufacturer's, until "
                                   "the lab's own are established from the lot's first runs (qc targets establish; "
                                   "[qc] establish_runs, CLSI C24: 20).")
    a.add_argument("lot")
    a.add_argument("--analyzer", default=DEFAULT_ANALYZER, metavar="ID", help=f"default: {DEFAULT_ANALYZER}")
    a.add_argument("--level", required=True, choices=LEVELS)
    a.add_argument("--material", required=True, help="the control material, e.g. the maker's product name")
    a.add_argument("--expires", required=True, metavar="YYYY-MM-DD")
    a.add_argument("--mean", required=True, metavar="QUANTITY", help="target mean, e.g. '40 mmol/L'")
    a.add_argument("--sd", required=True, metavar="QUANTITY", help="target SD, e.g. '1.5 mmol/L'")
    a.add_argument("--provisional", action="store_true",
                   help="the targets are the manufacturer's until the lab establishes its own")
    command(a, _add, user=SignIn(QA_ROLES, "add a control lot", "adds the lot"))
    ls = lot.add_parser("list", help="list control lots", description="Every lot as it stands.")
    ls.add_argument("--analyzer", metavar="ID")
    ls.add_argument("--format", default="table", choices=("table", "json"))
    command(ls, _list, store=True)
    r = lot.add_parser("retire", help="retire a lot (no control run is recorded on it afterwards)",
                       description="Retire a lot, with the reason.")
    r.add_argument("lot")
    r.add_argument("--analyzer", default=DEFAULT_ANALYZER, metavar="ID")
    r.add_argument("--reason", required=True)
    command(r, _retire, user=SignIn(QA_ROLES, "retire a control lot", "retires the lot"))
    targets = groups.add_parser("targets", help="establish a provisional lot's targets from its first runs",
                                description="Targets of control lots.").add_subparsers(
        dest="targets_command", metavar="ACTION", required=True)
    e = targets.add_parser("establish", help="the lab's own mean and SD from the lot's first N runs",
                           description="Computes the mean and SD of a provisional lot's first N results (one per "
                                       "analytical run; N set when the lot was added) and makes them the lot's "
                                       "targets, recorded with who and when. Refused before N runs.")
    e.add_argument("lot")
    e.add_argument("--analyzer", default=DEFAULT_ANALYZER, metavar="ID")
    command(e, _establish, user=SignIn(QA_ROLES, "establish a lot's targets", "establishes the targets"))
    qc_runs.register(groups)


def _add(ctx: Context) -> int:
    args = ctx.args
    config = ctx.config
    expires = parse_date(args.expires, "--expires")
    mean = parse_quantity(args.mean, "concentration", "--mean").to("mmol/L").magnitude
    sd = parse_quantity(args.sd, "concentration", "--sd").to("mmol/L").magnitude
    store, user = ctx.store, ctx.user
    lot = add_lot(store, analyzer=args.analyzer, level=args.level, lot=args.lot, material=args.material,
                  expires=expires, mean=mean, sd=sd, provisional=args.provisional, who=user.username,
                  establish_runs=config.establish_runs)
    extra = f"; its targets are established after {lot.establish_runs} runs" if lot.state == "provisional" else ""
    print(f"lot {lot.lot} added: {lot.level} control of {lot.analyzer}, {lot.state}, target {lot.mean:g} ± "
          f"{lot.sd:g} mmol/L, expires {lot.expires.isoformat()}{extra}")
    return 0


def _list(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = [x.as_dict() for x in lots(store, args.analyzer)]
    print_listing(rows, args.format, empty="no control lots recorded",
                  header=f"{'ANALYZER':<18} {'LEVEL':<9} {'LOT':<14} {'STATE':<12} {'MEAN':>7} {'SD':>6} "
                         f"{'EXPIRES':<10} MATERIAL",
                  line=lambda r: f"{r['analyzer']:<18} {r['level']:<9} {r['lot']:<14} {r['state']:<12} "
                                 f"{r['target_mean']:>7g} {r['target_sd']:>6g} {r['expires']:<10} {r['material']}")
    return 0


def _retire(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    lot = retire_lot(store, args.analyzer, args.lot, reason=args.reason, who=user.username)
    print(f"lot {lot.lot} retired: {lot.reason}")
    return 0


def _establish(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    lot, n = establish_targets(store, args.analyzer, args.lot, who=user.username)
    print(f"lot {lot.lot} established from its first {n} runs: target {lot.mean:g} ± {lot.sd:g} mmol/L")
    return 0
