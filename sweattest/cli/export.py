"""`sweattest export RUN_ID --format hl7|csv|fhir --to DIR`: deliver a stored run's result to the LIMS."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweattest.cli.storeopts import add_signed_options, signed_in
from sweattest.core.clock import RealClock
from sweattest.core.config import load_config
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
    add_signed_options(p, "exports the result")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    folder = args.to or config.drop_folder
    if folder is None:
        raise ValidationError("--to: give the destination folder (or set [lims] drop_folder in the lab "
                              "configuration)")
    check_folder(folder, "--to", create=False)  # exists and can be written to, before anything is rendered
    with signed_in(args, ("reviewer", "admin"), "export a result", config) as (store, user):
        result = export_run(store, RealClock(), args.run_id, args.format, folder, config=config, actor=user.username)
    if result.created:
        extra = f" (message control ID {result.control_id})" if result.control_id else ""
        print(f"exported {result.path}{extra}")
    else:
        print(f"already delivered: {result.path} (this result version was exported to this folder before)")
    return 0
