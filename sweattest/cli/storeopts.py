"""Options and helpers shared by the commands that read or sign stored runs: --db, passwords."""

from __future__ import annotations

import argparse
import getpass
import sys

from sweattest.core.errors import ValidationError
from sweattest.record.store import Store, open_store


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None,
                   help="run store URL or SQLite path (default: $SWEATTEST_DB, else the user data folder)")


def store_from(args: argparse.Namespace) -> Store:
    return open_store(args.db)


def add_password_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (for scripts) instead of asking")


def read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    """The password from stdin (--password-stdin) or asked without echo; never from the command line."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(prompt)
    if not password:
        raise ValidationError("no password given")
    return password
