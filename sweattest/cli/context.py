"""What a command needs, declared once: its lab configuration, its store and the user it acts as.

A command module registers each of its commands with ``command(parser, body, config=..., store=...,
user=SignIn(...))``; the declaration adds the options (``--config``, ``--db``, ``--as`` and
``--password-stdin``) and runs ``body(ctx)`` with a ``Context`` that loads the configuration and opens the store
when the body first asks for them, asks the user's password when the body first touches the store or the
user (so whatever the body checks before that fails before any password is asked), and closes the store on
every path.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sweattest.core.config import LabConfig, load_config
from sweattest.core.errors import AuthError, ValidationError
from sweattest.record.store.store import Store, open_store
from sweattest.record.users import User, a_role, authenticate, record_wrong_role

DB_HELP = "run store URL or SQLite path (default: $SWEATTEST_DB, else the user data folder)"


@dataclass(frozen=True)
class SignIn:
    """The user a command acts as: ``--as USER`` after their password, whose role must be one of ``roles``.

    ``what``: what the command does, as the password prompt and a refusal say it ("export a result");
    ``who``: how ``--as`` is described in the help ("exports the result"). ``required=False``: ``--as`` may
    be left out, and the body signs in (``ctx.user``) when it has decided it needs to (the store is then not
    held back until then: the body reads it before the password, as its checks require)."""

    roles: tuple[str, ...]
    what: str
    who: str
    required: bool = True


@dataclass(frozen=True)
class Needs:
    config: bool = False
    store: bool = False
    user: SignIn | None = None
    name: str = ""  # the command line's command ("qa runs"), for the audit entries of its sign-in


def command(p: argparse.ArgumentParser, body: Callable[[Context], int | None], *, config: bool = False,
            store: bool = False, user: SignIn | None = None, db_help: str = DB_HELP) -> None:
    """Declare ``body`` as the command of ``p`` and what it needs; a user implies the configuration (its access
    policy) and the store (the accounts)."""
    needs = Needs(config or user is not None, store or user is not None, user, p.prog.removeprefix("sweattest "))
    if user is not None:
        p.add_argument("--as", dest="actor", required=user.required, metavar="USER",
                       help=f"the user who {user.who} (their password is asked; recorded as the actor)")
        add_password_options(p)
    if needs.config:
        add_config_option(p)
    if needs.store:
        p.add_argument("--db", default=None, help=db_help)
    p.set_defaults(func=partial(perform, body, needs))


def perform(body: Callable[[Context], int | None], needs: Needs, args: argparse.Namespace) -> int | None:
    ctx = Context(args, needs)
    try:
        return body(ctx)
    finally:
        ctx.close()


class Context:
    """A command's configuration, store and user, each given when first asked for."""

    def __init__(self, args: argparse.Namespace, needs: Needs):
        self.args = args
        self.needs = needs
        self._config: LabConfig | None = None
        self._store: Store | None = None
        self._user: User | None = None

    @property
    def config(self) -> LabConfig:
        """The lab configuration of ``--config`` (a bad file stops the command here, the file and key named)."""
        if not self.needs.config:
            raise TypeError("this command declares no configuration")
        if self._config is None:
            self._config = load_config(self.args.config)
        return self._config

    @property
    def store(self) -> Store:
        """The store of ``--db``; for a command that acts as a user, only once that user has signed in."""
        if self.needs.user is not None and self.needs.user.required:
            self.user  # noqa: B018 - the password is asked before any record is read or written
        return self._open()

    @property
    def user(self) -> User:
        """The user of ``--as`` after their password (lock-out applies), refused unless their role may act. A
        wrong password, a disabled account and a role that may not act are audited (who, the command, why)."""
        sign_in = self.needs.user
        if sign_in is None:
            raise TypeError("this command declares no user")
        if self._user is None:
            if not self.args.actor:
                raise ValidationError(f"give --as USER: the user who {sign_in.who}")
            policy, store = self.config.access, self._open()  # a bad configuration stops before the password
            password = read_password(self.args, f"Password of {self.args.actor} ({sign_in.what}): ")
            where = f"command line: sweattest {self.needs.name}" if self.needs.name else "command line"
            user = authenticate(store, self.args.actor, password, policy=policy, where=where)
            if user.role not in sign_in.roles:
                record_wrong_role(store, user, sign_in.roles, sign_in.what, where=where)
                raise AuthError(f"{user.username} is {a_role(user.role)}: only "
                                f"{a_role(' or '.join(sign_in.roles))} can {sign_in.what}")
            self._user = user
        return self._user

    def _open(self) -> Store:
        if not self.needs.store:
            raise TypeError("this command declares no store")
        if self._store is None:
            self._store = open_store(self.args.db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            store.close()


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="lab configuration file (default: $SWEATTEST_CONFIG, else built-in; docs/config.md)")


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
