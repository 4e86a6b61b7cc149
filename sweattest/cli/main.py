"""`sweattest` entry point. Each subcommand lives in its own module exposing ``register(subparsers)``, which
declares each command with what it needs (``sweattest.cli.context.command``: configuration, store, user).

Errors of the ``SweatTestError`` family are printed as one line on stderr, without a traceback, and the
command exits with the error's status (2 for bad input or configuration). So are an input that ends where
an answer was asked for, a file system failure and input nested too deeply to read.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import io
import sys
import warnings

from sweattest import __version__
from sweattest.core.errors import SweatTestError

#: Each command and the module that holds it, in the order of ``sweattest --help``. Only the module of the
#: command being run is imported, so a command starts without loading every other command's libraries.
COMMANDS: dict[str, str] = {
    "demo": "sweattest.cli.demo",
    "run": "sweattest.cli.run",
    "resume": "sweattest.cli.resume",
    "protocol": "sweattest.cli.protocol",
    "interpret": "sweattest.cli.interpret",
    "simulate": "sweattest.cli.simulate",
    "instruments": "sweattest.cli.instruments",
    "equipment": "sweattest.cli.equipment",
    "calibration": "sweattest.cli.calibration",
    "qc": "sweattest.cli.qc",
    "audit": "sweattest.cli.audit",
    "user": "sweattest.cli.user",
    "competency": "sweattest.cli.competency",
    "sign": "sweattest.cli.signoff",
    "qa": "sweattest.cli.qa",
    "patient": "sweattest.cli.patient",
    "report": "sweattest.cli.report",
    "export": "sweattest.cli.export",
    "serve": "sweattest.cli.serve",
    "lis": "sweattest.cli.lis",
    "worklist": "sweattest.cli.worklist",
    "validate": "sweattest.cli.validate",
    "pt": "sweattest.cli.pt",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` alone, or for every command (help, or a name that is not a command)."""
    parser = argparse.ArgumentParser(
        prog="sweattest",
        description="Cystic-fibrosis sweat-test laboratory: run, simulate, interpret and report sweat tests.",
    )
    parser.add_argument("--version", action="version", version=f"sweattest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    if command in COMMANDS:
        modules = [COMMANDS[command]]
    else:  # --version needs no command; help and mistakes list them all
        modules = [] if command == "--version" else list(COMMANDS.values())
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if isinstance(sys.stdin, io.TextIOWrapper) and sys.stdin.errors != "surrogateescape":
        with contextlib.suppress(io.UnsupportedOperation):  # before anything is read: bytes that are not text (a
            sys.stdin.reconfigure(errors="surrogateescape")  # scanner's noise) are refused as an answer, not a crash
    try:
        with warnings.catch_warnings():  # a password asked with no terminal to ask it at: say so, read nothing
            warnings.simplefilter("error", getpass.GetPassWarning)
            return int(args.func(args) or 0)
    except getpass.GetPassWarning:
        print("sweattest: error: a password is asked for but there is no terminal to type it at; give "
              "--password-stdin and pipe it in", file=sys.stderr)
        return 2
    except SweatTestError as exc:
        print(f"sweattest: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except EOFError:  # a question (a password) was asked with nothing to read the answer from
        print("sweattest: error: an answer was asked for (a password) but the input ended, or there is no "
              "terminal; type it at a terminal, or give --password-stdin and pipe it in", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the command needed (checked before work starts where it can be)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"sweattest: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print("sweattest: error: an input is nested too deeply to be read; check the file", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sweattest: interrupted", file=sys.stderr)
        return 130
