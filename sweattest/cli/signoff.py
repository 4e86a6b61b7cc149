"""`sweattest sign RUN_ID --as USER --meaning reviewed`: an electronic signature (password asked again);
`--amend FILE.json --reason TEXT` corrects a final result as a new version."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, add_password_options, command, read_password
from sweattest.core.clock import RealClock
from sweattest.core.errors import ValidationError
from sweattest.core.jsonfile import read_json
from sweattest.outputs.release import MEANINGS, amend, queued_for_lis, sign


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sign", help="sign a run electronically (performed, reviewed) or amend a final result",
                       description="Electronic signature: asks for the password again and records the "
                                   "meaning. The run's operator signs 'performed'; then 'reviewed' (a reviewer "
                                   "or admin who did not perform the run) makes the run final. A final result "
                                   "changes only with --amend and --reason, by a reviewer or admin who did not "
                                   "perform the run, recorded as a new version signed 'corrected' (fields: "
                                   "docs/store.md, Amendments).")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--as", dest="username", required=True, metavar="USER", help="the signing user")
    p.add_argument("--meaning", choices=[m for m in MEANINGS if m != "corrected"],
                   help="what the signature means")
    p.add_argument("--amend", metavar="CHANGES.json",
                   help="amend the final result: a JSON object of changed fields (or - for stdin)")
    p.add_argument("--reason", help="why (required with --amend)")
    add_password_options(p)
    command(p, _sign, config=True, store=True)


def _sign(ctx: Context) -> int:
    """The signature is the password given for it: ``sign`` and ``amend`` check it themselves (the signer's
    meaning, and who may sign, are theirs to judge), so the user is not signed in beforehand."""
    args = ctx.args
    if bool(args.amend) == bool(args.meaning):
        raise ValidationError("give either --meaning (performed or reviewed) or --amend CHANGES.json")
    changes = read_json(args.amend, "changes") if args.amend else None
    config = ctx.config  # a bad file stops here, before the password is asked
    password = read_password(args, f"Password for {args.username} (signing {args.run_id}): ")
    store, clock = ctx.store, RealClock()
    if changes is not None:
        version = amend(store, clock, args.run_id, args.username, password, changes=changes,
                        reason=args.reason or "", config=config)
        print(f"run {args.run_id}: amended as version {version}, signed corrected by {args.username}")
        _say_queued(store, args.run_id, version)
    else:
        s = sign(store, clock, args.run_id, args.username, password, args.meaning, reason=args.reason,
                 config=config)
        print(f"run {args.run_id}: signed {s.meaning} by {s.full_name} ({s.username}) at "
              f"{s.at:%Y-%m-%d %H:%M:%S}Z")
        if s.meaning == "reviewed":
            _say_queued(store, args.run_id, s.version)
    return 0


def _say_queued(store, run_id: str, version: int) -> None:
    message = queued_for_lis(store, run_id, version)
    if message is not None:
        print(f"run {run_id}: version {version} queued for the LIS as message {message.id}; the LIS sender "
              "(`sweattest lis serve` or `sweattest serve`) delivers it")
