"""`sweattest user add|list|disable`: accounts and roles (tech, reviewer, admin).

Passwords are read without echo (or one line from stdin with --password-stdin). Once an admin exists,
adding or disabling an account needs an admin's user name (--as) and password.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sweattest.cli.audit import add_db_option
from sweattest.clock import RealClock
from sweattest.errors import ValidationError
from sweattest.store import Store, open_store
from sweattest.users import ROLES, add_user, disable_user, list_users
from sweattest.users.accounts import authenticate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="add, list and disable user accounts (tech, reviewer, admin)",
                       description="Accounts sign runs electronically; they are disabled, never deleted.")
    ps = p.add_subparsers(dest="action", metavar="ACTION")
    ps.required = True
    add = ps.add_parser("add", help="add an account (the first account must be an admin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", required=True, help="full name, as printed on reports")
    _admin_options(add)
    add.set_defaults(func=_add)
    ls = ps.add_parser("list", help="list the accounts")
    add_db_option(ls)
    ls.set_defaults(func=_list)
    dis = ps.add_parser("disable", help="disable an account (its signatures stay valid)")
    dis.add_argument("username")
    dis.add_argument("--reason", required=True)
    _admin_options(dis)
    dis.set_defaults(func=_disable)


def _admin_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as", dest="admin", default=None, help="the admin making the change")
    p.add_argument("--password-stdin", action="store_true",
                   help="read passwords from stdin, one per line (admin's first, then the new user's)")
    add_db_option(p)


def _add(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        if list_users(store):
            by = _admin(store, args)
        elif args.role != "admin":
            raise ValidationError("the first account must be an admin (--role admin); no user added")
        else:
            by = args.username
        password = _password(args, f"password for {args.username}: ")
        add_user(store, args.username, role=args.role, password=password, full_name=args.name, by=by,
                 at=RealClock().utcnow())
    print(f"user {args.username} added as {args.role}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        accounts = list_users(store)
    print(f"{'user':<16} {'role':<9} {'status':<9} name")
    for u in accounts:
        print(f"{u['username']:<16} {u['role']:<9} {'disabled' if u['disabled'] else 'active':<9} "
              f"{u['full_name']}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        by = _admin(store, args)
        disable_user(store, args.username, by=by, why=args.reason, at=RealClock().utcnow())
    print(f"user {args.username} disabled")
    return 0


def _admin(store: Store, args: argparse.Namespace) -> str:
    if not args.admin:
        raise ValidationError("changing accounts needs an admin: add --as ADMIN_USER; nothing changed")
    password = _password(args, f"password for {args.admin}: ")
    with store.read() as conn:
        user = authenticate(conn, args.admin, password)
    if user["role"] != "admin":
        raise ValidationError(f"{args.admin} is a {user['role']}, not an admin; nothing changed")
    return args.admin


def _password(args: argparse.Namespace, prompt: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValidationError("--password-stdin: no password on stdin; nothing changed")
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)
