"""`sweattest instruments check`: is every configured instrument there, the right one, and in calibration?"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from sweattest.bench.instruments.check import check_all
from sweattest.cli.context import Context, command
from sweattest.core.clock import RealClock
from sweattest.core.config import identity_warning
from sweattest.core.errors import ConfigError
from sweattest.record.equipment import status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("instruments", help="check the instruments of the lab configuration",
                       description="Opens every configured instrument, identifies it (model, serial number, "
                                   "firmware), compares the serial number with the configuration, refuses an "
                                   "instrument out of service, reports the calibration due date (the latest "
                                   "recorded calibration, else the configuration's) and leaves every output off. "
                                   "An instrument with no calibration on record is 'not verified'. One line per "
                                   "instrument; exit status 0 only when all answer as configured, 2 otherwise.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = verbs.add_parser("check", help="open, identify and check every configured instrument")
    command(check, _check, config=True, store=True)


def _check(ctx: Context) -> int:
    config = ctx.config
    warning = identity_warning(config)
    if warning:
        print(warning, file=sys.stderr)
    if not config.instruments:
        raise ConfigError(f"{config.source}: no instruments are configured; add [[instruments]] tables "
                          "(docs/config.md)")

    lines = check_all(config.instruments, RealClock(), partial(status, ctx.store))
    width = max(len(line.config.label) for line in lines)
    for line in lines:
        print(f"{line.config.label:<{width}}  {line.text}")
    ready = all(line.ready for line in lines)
    unverified = [line for line in lines if line.ready and not line.verified]
    if not ready:
        print("NOT all instruments are ready: fix the lines above before testing")
    elif unverified:
        print(f"all instruments answer; {len(unverified)} not verified (no calibration on record): a patient run on "
              "them needs a recorded reason, or is refused, as the lab configures ([calibration] unrecorded, "
              "docs/config.md)")
    else:
        print("all instruments ready")
    return 0 if ready else 2
