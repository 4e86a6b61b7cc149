"""`sweattest qa runs|qns-rate|qc-chart|summary`: QA analytics over the run store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sweattest.cli.audit import add_db_option
from sweattest.qa.chart import chart_data, draw
from sweattest.qa.period import day_bounds, parse_day
from sweattest.qa.qns import format_rates, qns_rate
from sweattest.qa.runs import FORMATS, export, run_table
from sweattest.qa.summary import format_summary, month_summary
from sweattest.store import open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qa", help="QA: run lists, QNS rate, Levey-Jennings QC charts, monthly summary",
                       description="Dates are UTC days (YYYY-MM-DD); --since and --until are inclusive.")
    ps = p.add_subparsers(dest="action", metavar="ACTION")
    ps.required = True
    runs = ps.add_parser("runs", help="list runs; export as CSV, JSON lines or Parquet")
    _period(runs)
    runs.add_argument("--operator")
    runs.add_argument("--status", help="run state, e.g. reported, aborted, collecting")
    runs.add_argument("--method", help="method, e.g. macroduct, gibson_cooke")
    runs.add_argument("--format", choices=FORMATS, default="table")
    runs.add_argument("--out", type=Path, help="write to this file instead of the screen")
    runs.set_defaults(func=_runs)
    qns = ps.add_parser("qns-rate", help="QNS rate by operator and month, split at age 3 months")
    _period(qns)
    qns.add_argument("--operator")
    qns.add_argument("--format", choices=("table", "json"), default="table")
    qns.set_defaults(func=_qns)
    chart = ps.add_parser("qc-chart", help="Levey-Jennings chart with Westgard violations marked")
    chart.add_argument("--analyzer", required=True)
    chart.add_argument("--level", required=True)
    chart.add_argument("--out", required=True, type=Path, help="image file, e.g. qc.png")
    _period(chart)
    chart.set_defaults(func=_chart)
    summary = ps.add_parser("summary", help="one month: runs, QNS rate, repeats, turnaround")
    summary.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    summary.add_argument("--format", choices=("table", "json"), default="table")
    add_db_option(summary)
    summary.set_defaults(func=_summary)


def _period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="first day (YYYY-MM-DD, UTC)")
    p.add_argument("--until", help="last day (YYYY-MM-DD, UTC)")
    add_db_option(p)


def _bounds(args: argparse.Namespace):  # noqa: ANN202
    return day_bounds(parse_day(args.since, "--since"), parse_day(args.until, "--until"))


def _runs(args: argparse.Namespace) -> int:
    since, until = _bounds(args)
    with open_store(args.db) as store:
        frame = run_table(store, since=since, until=until, operator=args.operator, status=args.status,
                          method=args.method)
    export(frame, args.format, args.out)
    if args.out is not None:
        print(f"{len(frame)} runs written to {args.out}")
    return 0


def _qns(args: argparse.Namespace) -> int:
    since, until = _bounds(args)
    with open_store(args.db) as store:
        frame = qns_rate(store, since=since, until=until, operator=args.operator)
    if args.format == "json":
        for record in frame.to_dict(orient="records"):
            print(json.dumps({k: (None if v != v else v) for k, v in record.items()}))
    else:
        print(format_rates(frame), end="")
    return 0


def _chart(args: argparse.Namespace) -> int:
    since, until = _bounds(args)
    with open_store(args.db) as store:
        data = chart_data(store, args.analyzer, args.level, since=since, until=until)
    draw(data, args.out)
    flagged = sum(1 for rules in data.rules if rules)
    print(f"{args.out}: {len(data.values)} results, mean {data.mean:.1f} SD {data.sd:.2f} "
          f"({data.targets_from}), {flagged} with Westgard flags")
    return 0


def _summary(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        summary = month_summary(store, args.month)
    print(json.dumps(summary) if args.format == "json" else format_summary(summary).rstrip("\n"))
    return 0
