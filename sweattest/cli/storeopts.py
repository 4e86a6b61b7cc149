"""Options and helpers shared by the commands that read or sign stored runs: --db, passwords."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sweattest.cli.options import add_config_option
from sweattest.core.access import AccessPolicy
from sweattest.core.config import LabConfig, load_config
from sweattest.core.errors import AuthError, ValidationError
from sweattest.record.store import Store, open_store
from sweattest.record.users import User, authenticate


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


def add_actor_options(p: argparse.ArgumentParser, what: str, *, required: bool = True) -> None:
    """``--as USER`` (who ``what``, recorded as the actor) and how their password is given."""
    p.add_argument("--as", dest="actor", required=required, metavar="USER",
                   help=f"the user who {what} (their password is asked; recorded as the actor)")
    add_password_options(p)


def authenticated_actor(args: argparse.Namespace, store: Store, policy: AccessPolicy, roles: tuple[str, ...],
                        what: str) -> User:
    """The user of ``--as`` after their password (lock-out applies), refused unless their role may ``what``."""
    password = read_password(args, f"Password of {args.actor} ({what}): ")
    user = authenticate(store, args.actor, password, policy=policy, where="command line")
    if user.role not in roles:
        raise AuthError(f"{user.username} is a {user.role}: only a {' or '.join(roles)} can {what}")
    return user


def add_signed_options(p: argparse.ArgumentParser, what: str, *, required: bool = True) -> None:
    """The options of a command that records as a user: ``--as`` and the password, ``--config``, ``--db``."""
    add_actor_options(p, what, required=required)
    add_config_option(p)
    add_db_option(p)


@contextmanager
def signed_in(args: argparse.Namespace, roles: tuple[str, ...], what: str,
              config: LabConfig | None = None) -> Iterator[tuple[Store, User]]:
    """The store of ``--db`` and the user of ``--as`` after their password, whose role must be one of
    ``roles`` to ``what``; the store is closed afterwards, whatever happens. ``config``: the one the command
    has loaded already (else ``--config`` is loaded here)."""
    config = config or load_config(args.config)
    store = store_from(args)
    try:
        yield store, authenticated_actor(args, store, config.access, roles, what)
    finally:
        store.close()
