"""`sweattest qa skin-reactions` and `sweattest qa competency`: the QA views of the people at the bench."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from sweattest.cli.context import Context, SignIn, command
from sweattest.qa.competency import COLUMNS, format_standings, standings, year_filter
from sweattest.qa.filters import parse_date
from sweattest.qa.runs import write_frame
from sweattest.qa.skin_reactions import adverse_events, format_rates, reaction_rates, reaction_rows
from sweattest.record.run_filter import RunFilter
from sweattest.record.users import QA_ROLES


def register(actions: argparse._SubParsersAction) -> None:
    s = actions.add_parser("skin-reactions", help="skin reactions per operator and per inducer; adverse events",
                           description="Skin reactions after stimulation over a period: counts and rates per "
                                       "operator and per inducer (serial number), and each blister or burn.")
    s.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (UTC), inclusive")
    s.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    s.add_argument("--format", default="table", choices=("table", "csv", "json"))
    command(s, _skin, user=SignIn(QA_ROLES, "view skin reactions", "views the figures (reviewer, qa or admin)"))
    c = actions.add_parser("competency", help="tests, QNS and skin-reaction rates per operator in a year",
                           description="Per operator in one calendar year: patient tests, QNS rate, skin-reaction "
                                       "rate, the latest competency assessment, and what falls short of the lab's "
                                       "minimums ([competency] in the lab configuration).")
    c.add_argument("--year", type=_year, default=None, help="calendar year (default: this year, UTC)")
    c.add_argument("--format", default="table", choices=("table", "csv", "json"))
    command(c, _competency, user=SignIn(QA_ROLES, "view competency figures",
                                        "views the figures (reviewer, qa or admin)"))


def _year(text: str) -> int:
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"{text!r}: give a year such as 2026")
    return int(text)


def _skin(ctx: Context) -> int:
    args = ctx.args
    where = RunFilter(parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"))
    store = ctx.store
    rows = reaction_rows(store, where)
    rates = reaction_rates(rows, "operator") + reaction_rates(rows, "inducer")
    if args.format == "table":
        sys.stdout.write(format_rates(rates, adverse_events(rows)))
    else:
        sys.stdout.write(write_frame(pd.DataFrame(rates), args.format, None) or "")
    return 0


def _competency(ctx: Context) -> int:
    args = ctx.args
    config = ctx.config
    store = ctx.store
    today = store.clock.utcnow().date()
    rows = standings(store, year_filter(args.year or today.year), config.competency, today)
    if args.format == "table":
        sys.stdout.write(format_standings(rows))
    elif args.format == "json":
        sys.stdout.write("".join(json.dumps(s.row(), ensure_ascii=False) + "\n" for s in rows))
    else:
        sys.stdout.write(pd.DataFrame([s.row() for s in rows], columns=list(COLUMNS)).to_csv(index=False))
    return 0



