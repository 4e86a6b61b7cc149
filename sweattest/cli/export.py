"""`sweattest export RUN_ID --format hl7|csv|fhir --to DIR`: deliver a stored run's result to the LIMS."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweattest.cli.context import Context, SignIn, command
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.outputs.files import check_folder
from sweattest.outputs.lims.delivery import export_run
from sweattest.outputs.lims.formats import FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="deliver a stored run's result file (HL7 ORU^R01, CSV, FHIR R4) to a folder",
                       description="Writes the run's current result version atomically into DIR under a "
                                   "stable name; a version already delivered there is not sent again. Every "
                                   "export is recorded in the audit trail. Formats: docs/hl7.md, docs/lims-csv.md, "
                                   "docs/lis.md (FHIR).")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--to", type=Path, default=None, metavar="DIR",
                   help="destination folder (default: the drop folder of the lab configuration)")
    command(p, _export, user=SignIn(EXPORTERS, "export a result", "exports the result"))


#: Who may deliver a result to the LIMS.
EXPORTERS = ("reviewer", "admin")


def _export(ctx: Context) -> int:
    args, config = ctx.args, ctx.config
    folder = args.to or config.drop_folder
    if folder is None:
        raise ValidationError("--to: give the destination folder (or set [lims] drop_folder in the lab "
                              "configuration)")
    check_folder(folder, "--to", create=False)  # exists and can be written to, before anything is rendered
    result = export_run(ctx.store, RealClock(), args.run_id, args.format, folder, config=config,
                        actor=ctx.user.username)
    if result.created:
        extra = f" (message control ID {result.control_id})" if result.control_id else ""
        print(f"exported {result.path}{extra}")
    else:
        print(f"already delivered: {result.path} (this result version was exported to this folder before)")
    return 0
