"""`sweattest user add|list|disable`: accounts for techs, reviewers and admins."""

from __future__ import annotations

import argparse

from sweattest.cli.options import add_config_option
from sweattest.cli.storeopts import add_db_option, add_password_options, read_password, store_from
from sweattest.core.config import load_config
from sweattest.core.errors import ValidationError
from sweattest.record.users import ROLES, add_user, admin_required, change_password, disable_user, list_users


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="add, list or disable users (tech, reviewer, admin)",
                       description="User accounts. Passwords are asked without echo (or read from stdin with "
                                   "--password-stdin) and kept only as scrypt hashes.")
    actions = p.add_subparsers(dest="user_command", metavar="ACTION")
    actions.required = True
    a = actions.add_parser("add", help="add a user", description="Add a user with a role and a password "
                           "(as the lab's password policy allows: [access] in the lab configuration).")
    a.add_argument("username")
    a.add_argument("--name", required=True, help="full name, printed with the user's signatures")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--by", default=None, metavar="ADMIN",
                   help="the administrator adding the user (their password is asked first); not needed only "
                        "for the first administrator of a new installation")
    add_password_options(a)
    add_config_option(a)
    add_db_option(a)
    a.set_defaults(func=_add)
    pw = actions.add_parser("password", help="set a new password (the current one is asked first)",
                            description="Set a new password: the current one (an expired one too), then the new "
                                        "one twice; with --password-stdin three lines.")
    pw.add_argument("username")
    add_password_options(pw)
    add_config_option(pw)
    add_db_option(pw)
    pw.set_defaults(func=_password)
    ls = actions.add_parser("list", help="list users", description="List users with role and status.")
    add_db_option(ls)
    ls.set_defaults(func=_list)
    d = actions.add_parser("disable", help="disable a user (accounts are never deleted)",
                           description="Disable an account; its signatures stay on record.")
    d.add_argument("username")
    d.add_argument("--by", required=True, metavar="ADMIN",
                   help="the administrator disabling the user (their password is asked)")
    add_password_options(d)
    add_db_option(d)
    d.set_defaults(func=_disable)


def _admin_password(args: argparse.Namespace, store) -> str | None:
    """The acting administrator's password, asked first (with --password-stdin: the first line)."""
    if not admin_required(store):
        return None
    if not args.by:
        raise ValidationError("--by ADMIN: an administrator must add users (their password is asked)")
    return read_password(args, f"Password of administrator {args.by}: ")


def _add(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        admin_password = _admin_password(args, store)
        password = read_password(args, f"Password for the new user {args.username}: ")
        user = add_user(store, args.username, args.name, args.role, password, actor=args.by or args.username,
                        actor_password=admin_password, policy=load_config(args.config).access)
    finally:
        store.close()
    print(f"added {user.username} ({user.full_name}) as {user.role}")
    return 0


def _list(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        users = list_users(store)
    finally:
        store.close()
    for u in users:
        print(f"{u.username:<16} {u.role:<9} {'active' if u.active else 'disabled':<9} {u.full_name}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    store = store_from(args)
    try:
        user = disable_user(store, args.username, actor=args.by, actor_password=_admin_password(args, store))
    finally:
        store.close()
    print(f"disabled {user.username}")
    return 0


def _password(args: argparse.Namespace) -> int:
    policy = load_config(args.config).access
    store = store_from(args)
    try:
        old = read_password(args, f"Current password of {args.username}: ")
        new = read_password(args, "New password: ")
        if read_password(args, "New password again: ") != new:
            raise ValidationError("the two new passwords differ; nothing was changed")
        change_password(store, args.username, old, new, policy=policy)
    finally:
        store.close()
    print(f"password of {args.username} changed")
    return 0
