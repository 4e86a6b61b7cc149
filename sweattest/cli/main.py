"""`sweattest` entry point. Each subcommand lives in its own module exposing ``register(subparsers)``.

Errors of the ``SweatTestError`` family are printed as one line on stderr, without a traceback, and the
command exits with the error's status (2 for bad input or configuration).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sweattest import __version__
from sweattest.errors import SweatTestError

#: Subcommand modules, in the order they appear in ``sweattest --help``.
COMMANDS = (
    "sweattest.cli.demo",
    "sweattest.cli.run",
    "sweattest.cli.resume",
    "sweattest.cli.protocol",
    "sweattest.cli.interpret",
    "sweattest.cli.simulate",
    "sweattest.cli.audit",
    "sweattest.cli.user",
    "sweattest.cli.signoff",
    "sweattest.cli.qa",
    "sweattest.cli.report",
    "sweattest.cli.export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweattest",
        description="Cystic-fibrosis sweat-test laboratory: run, simulate, interpret and report sweat tests.",
    )
    parser.add_argument("--version", action="version", version=f"sweattest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SweatTestError as exc:
        print(f"sweattest: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("sweattest: interrupted", file=sys.stderr)
        return 130
