"""`sweattest qa runs|qns-rate|qc-chart|summary|pack`: QA views of the run store and the evidence pack."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from sweattest.cli import qa_people
from sweattest.cli.context import Context, SignIn, command
from sweattest.core.clock import RealClock
from sweattest.core.purpose import PURPOSES, parse_purposes
from sweattest.qa.filters import parse_date
from sweattest.qa.pack import build_pack, check_out, default_name, pack_filter, render_pdf, write_pack
from sweattest.qa.qc_chart import chart_points, render_chart
from sweattest.qa.qns import format_qns, qns_rate
from sweattest.qa.runs import FORMATS, runs_frame, write_frame
from sweattest.qa.summary import format_summary, month_summary
from sweattest.record.pack_approvals import SIGNERS, record_approval
from sweattest.record.reads import record_bulk_read
from sweattest.record.run_filter import RunFilter
from sweattest.record.runs import local_station
from sweattest.record.users import QA_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qa", help="QA views: run lists, QNS rates, Levey-Jennings charts, monthly summary",
                       description="Quality-assurance views of the run store.")
    actions = p.add_subparsers(dest="qa_command", metavar="VIEW")
    actions.required = True
    r = actions.add_parser("runs", help="list runs (filters; table, CSV, JSON lines or Parquet)",
                           description="List runs. --format json prints one JSON object per line.")
    _filters(r, status=True)
    r.add_argument("--format", default="table", choices=FORMATS)
    r.add_argument("--out", type=Path, help="write to this file instead of stdout (required for parquet)")
    command(r, _runs, user=SignIn(QA_ROLES, "view patient runs", VIEWS_RUNS))
    q = actions.add_parser("qns-rate", help="QNS rate per operator and month, split at 3 months of age",
                           description="QNS rate per test, by operator and month, for patients up to 3 months "
                                       "and older; CFF 2007 targets (<= 10 %% and <= 5 %%); breaches marked.")
    _filters(q, status=False)
    q.add_argument("--format", default="table", choices=("table", "csv", "json"))
    command(q, _qns, user=SignIn(QA_ROLES, "view QNS rates", VIEWS_RUNS))
    c = actions.add_parser("qc-chart", help="Levey-Jennings chart of one analyzer's control level (PNG)",
                           description="Levey-Jennings chart with mean and ±1/2/3 SD; Westgard violations "
                                       "marked (orange: warning, red: rejection).")
    c.add_argument("--analyzer", required=True, metavar="ID")
    c.add_argument("--level", required=True, metavar="LEVEL", help="control level, e.g. normal or abnormal")
    c.add_argument("--lot", help="control lot (default: the latest)")
    c.add_argument("--out", type=Path, required=True, metavar="FILE.png")
    command(c, _chart, user=SignIn(QA_ROLES, "view QC charts", "views the chart (reviewer, qa or admin)"))
    s = actions.add_parser("summary", help="one month: runs, QNS rate, repeats, turnaround time",
                           description="Summary of one month (UTC dates).")
    s.add_argument("--month", required=True, metavar="YYYY-MM")
    s.add_argument("--format", default="table", choices=("table", "json"))
    _purpose_option(s)
    command(s, _summary, user=SignIn(QA_ROLES, "view the monthly summary", "views the summary (reviewer, qa or admin)"))
    k = actions.add_parser("pack", help="the accreditation evidence pack of a period (PDF and CSV tables)",
                           description="The accreditation evidence pack of a period (patient runs): QNS rate per "
                                       "operator and age group, QC with Levey-Jennings charts and Westgard "
                                       "violations, turnaround time, amendments, the audit chain's head and "
                                       "verification. Writes FILE.pdf and FILE-tables.zip (one CSV per section; "
                                       "docs/qa-pack.md). Progress is printed on stderr.")
    k.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (UTC), inclusive")
    k.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    k.add_argument("--out", type=Path, metavar="FILE.pdf",
                   help="the PDF (default: qa-pack-FROM-to-TO.pdf here); the tables go beside it")
    command(k, _pack, user=SignIn(SIGNERS, "approve the evidence pack",
                                  "approves the pack: an e-signature with meaning approved (qa role)"))
    qa_people.register(actions)


def _filters(p: argparse.ArgumentParser, *, status: bool) -> None:
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (UTC), inclusive")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    p.add_argument("--operator")
    p.add_argument("--method")
    if status:
        p.add_argument("--status", help="run state, e.g. reported, aborted, result_ready")
    _purpose_option(p)


#: How ``--as`` of the run lists is described.
VIEWS_RUNS = "views the runs (reviewer, qa or admin)"


def _purpose_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--purpose", action="append", metavar="PURPOSE",
                   help=f"count runs of this purpose ({', '.join(PURPOSES)}, or all; repeatable); "
                        "default: patient runs only")


def _where(args: argparse.Namespace) -> RunFilter:
    return RunFilter(parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"), args.operator,
                     getattr(args, "status", None), args.method, parse_purposes(args.purpose))


def _runs(ctx: Context) -> int:
    args = ctx.args
    where = _where(args)
    store, user = ctx.store, ctx.user
    frame = runs_frame(store, where)
    text = write_frame(frame, args.format, args.out)
    record_bulk_read(store, who=user.username, what="runs", rows=len(frame), at=store.clock.utcnow(),
                     detail={"format": args.format, "filter": where.counted}, station=local_station())
    if text is not None and args.format == "table":
        text = f"{where.counted}:\n{text}"  # which runs the list holds (patient runs unless others are named)
    if text is not None:
        sys.stdout.write(text)
    return 0


def _qns(ctx: Context) -> int:
    args = ctx.args
    where = _where(args)
    store = ctx.store
    frame = qns_rate(store, where)
    if args.format == "table":
        sys.stdout.write(format_qns(frame, where.counted))
    else:
        sys.stdout.write(write_frame(frame, args.format, None) or "")
    return 0


def _chart(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    points, target = chart_points(store, args.analyzer, args.level, args.lot)
    title = (f"Levey-Jennings: analyzer {args.analyzer}, {args.level} control, lot {target['lot']} "
             f"(mean {target['mean']:g}, SD {target['sd']:g} mmol/L)")
    render_chart(points, target, title, args.out)
    flagged = [p for p in points if p.violations]
    print(f"wrote {args.out}: {len(points)} controls, {len(flagged)} with Westgard findings")
    for p in flagged:
        print(f"  {p.at:%Y-%m-%d %H:%M}Z run {p.qc_run}: {p.value:g} mmol/L  {', '.join(p.violations)}"
              f"{'  (rejected)' if p.rejected else ''}")
    return 0


def _summary(ctx: Context) -> int:
    args = ctx.args
    purposes = parse_purposes(args.purpose)
    store = ctx.store
    summary = month_summary(store, args.month, purposes)
    print(json.dumps(summary) if args.format == "json" else format_summary(summary), end="\n" if args.format ==
          "json" else "")
    return 0


def _pack(ctx: Context) -> int:
    args = ctx.args
    where = pack_filter(parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"))
    out = check_out(args.out if args.out is not None else default_name(where.date_from, where.date_to))
    config = ctx.config

    def progress(done: int, total: int, title: str) -> None:
        print(f"pack: {done}/{total} {title}", file=sys.stderr, flush=True)

    store, user = ctx.store, ctx.user
    at = RealClock().utcnow()
    pack = build_pack(store, where, generated_at=at, generated_by=user.username, config=config,
                      progress=progress, approved_by=f"{user.full_name} ({user.username})")
    print("pack: rendering the PDF", file=sys.stderr, flush=True)
    pdf_bytes = render_pdf(pack, config)
    pdf, tables = write_pack(pack, pdf_bytes, out)
    entry = record_approval(store, at=at, who=user.username, full_name=user.full_name,
                            date_from=where.date_from, date_to=where.date_to,
                            pdf_sha256=hashlib.sha256(pdf_bytes).hexdigest(), pdf_name=pdf.name)
    empty = [s.title for s in pack.sections if not s.rows]
    print(f"wrote {pdf} and {tables}: {len(pack.sections)} sections, period {where.date_from} to {where.date_to}, "
          f"approved by {user.full_name} ({user.username}), audit entry {entry}"
          + (f"; no records in this period for: {', '.join(empty)}" if empty else ""))
    return 0
