"""`sweattest validate --as USER`: installation and operational qualification of this installation, written as
a signed validation report (PDF) whose SHA-256 is recorded in the audit trail."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from sweattest.bench.qualification import bench_checks
from sweattest.cli.context import Context, SignIn, command
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.outputs.files import write_atomic
from sweattest.qa.validation import run_validation
from sweattest.qa.validation_report import check_out, render_report
from sweattest.record.users import QA_ROLES
from sweattest.record.validations import record_validation, validations

#: Who may sign a validation report.
SIGNERS = QA_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="installation and operational qualification, as a signed report (PDF)",
                       description="Checks the installed version, Python, the package's files against their "
                                   "install record, the configuration, the store's migrations and audit trail "
                                   "(IQ); runs every clinical rule case against the live rules, a simulated run "
                                   "into a temporary store, and the configured instruments (simulated when none "
                                   "are) (OQ). Writes the report signed by --as USER (a reviewer, qa or admin; "
                                   "password asked) and records its SHA-256 in the audit trail. Exit status 0 "
                                   "on PASS, 1 on FAIL with the failing checks listed (docs/validation.md).")
    p.add_argument("--out", type=Path, metavar="FILE.pdf",
                   help="the report (default: sweattest-validation-YYYY-MM-DD.pdf here)")
    p.add_argument("--list", action="store_true",
                   help="list the validation reports recorded in the audit trail (no check is run)")
    command(p, _validate, user=SignIn(SIGNERS, "sign a validation report",
                                      "signs the validation report (required unless --list)", required=False))


def _validate(ctx: Context) -> int:
    args = ctx.args
    if args.list:
        return _list(ctx)
    if not args.actor:
        raise ValidationError("give --as USER: the reviewer, qa or admin who signs the validation report")

    clock = RealClock()
    out = check_out(args.out or Path(f"sweattest-validation-{clock.utcnow():%Y-%m-%d}.pdf"))
    config = ctx.config
    store, user = ctx.store, ctx.user
    validation = run_validation(store, config, clock,
                                lambda text: print(f"validate: {text}", file=sys.stderr, flush=True),
                                bench=bench_checks(config, clock))
    pdf = render_report(validation, config, user, store)
    digest = hashlib.sha256(pdf).hexdigest()
    write_atomic(out, pdf)
    try:
        entry = record_validation(store, at=clock.utcnow(), who=user.username, version=validation.version,
                                  outcome=validation.outcome, report_sha256=digest, report_name=out.name,
                                  failed=validation.failures())
    except BaseException:
        out.unlink(missing_ok=True)  # a report is only ever left with its audit entry
        raise
    checks = len(validation.checks) + len(validation.rules)
    print(f"validation {validation.outcome}: sweattest {validation.version}, {checks} checks "
          f"({len(validation.rules)} clinical rule cases); report {out} sha256 {digest}, signed by "
          f"{user.username}, recorded as audit entry {entry}")
    for failure in validation.failures():
        print(f"  FAILED {failure}")
    return 0 if validation.passed else 1


def _list(ctx: Context) -> int:
    store = ctx.store
    rows = validations(store)
    if not rows:
        print("no validation recorded yet: run sweattest validate --as USER")
    for r in rows:
        failed = f" ({len(r['failed'])} failed)" if r["failed"] else ""
        print(f"entry {r['entry']}  {r['at']:%Y-%m-%d %H:%M}Z  {r['who']}  sweattest {r['version']}  "
              f"{r['outcome']}{failed}  {r['report']}  sha256 {r['report_sha256']}")
    return 0
