"""`sweattest report RUN_ID [--pdf] [--out FILE]`: the report of a stored run (current result version)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweattest.cli.context import Context, SignIn, command
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.outputs.files import check_folder, file_safe, write_atomic
from sweattest.outputs.report import render_html
from sweattest.outputs.report.pdf import html_to_pdf
from sweattest.record.stored_record import stored_record
from sweattest.record.users import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the lab report of a stored run (HTML, or PDF with --pdf)",
                       description="Renders the run's current result version (preliminary, final or corrected) "
                                   "from the lab's report template, times in the lab's time zone.")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--pdf", action="store_true", help="write PDF instead of HTML")
    p.add_argument("--out", type=Path, default=None,
                   help="file to write (default: ACCESSION_RUNID_vN.html|pdf in the current folder)")
    command(p, _report, user=SignIn(ROLES, "write a report",
                                    "writes the report (it shows a patient: a user is asked for)"))


def _report(ctx: Context) -> int:
    args = ctx.args
    config = ctx.config
    if args.out is not None and args.out.is_dir():
        raise ValidationError(f"--out: {args.out} is a folder; give a file name")
    # the folder written to exists and can be written to, checked before anything is rendered
    check_folder(Path.cwd() if args.out is None else args.out.parent, "--out", create=False)
    store = ctx.store
    record = stored_record(store, args.run_id, RealClock(), config.ranges)
    html = render_html(record, config)
    suffix = "pdf" if args.pdf else "html"
    out = args.out or Path.cwd() / f"{file_safe(record.accession)}_{record.run_id}_v{record.report.version}.{suffix}"
    if args.pdf:
        write_atomic(out, html_to_pdf(html))
    else:
        write_atomic(out, html)
    print(f"{record.report.status} report of run {record.run_id} (version {record.report.version}) "
          f"written to {out}")
    return 0
