"""`sweattest user add|list|disable`: accounts for techs, reviewers and admins."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, add_password_options, command, read_password
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
    command(a, _add, config=True, store=True)
    pw = actions.add_parser("password", help="set a new password (the current one is asked first)",
                            description="Set a new password: the current one (an expired one too), then the new "
                                        "one twice; with --password-stdin three lines.")
    pw.add_argument("username")
    add_password_options(pw)
    command(pw, _password, config=True, store=True)
    ls = actions.add_parser("list", help="list users", description="List users with role and status.")
    command(ls, _list, store=True)
    d = actions.add_parser("disable", help="disable a user (accounts are never deleted)",
                           description="Disable an account; its signatures stay on record.")
    d.add_argument("username")
    d.add_argument("--by", required=True, metavar="ADMIN",
                   help="the administrator disabling the user (their password is asked)")
    add_password_options(d)
    command(d, _disable, config=True, store=True)


def _admin_password(args: argparse.Namespace, store) -> str | None:
    """The acting administrator's password, asked first (with --password-stdin: the first line)."""
    if not admin_required(store):
        return None
    if not args.by:
        raise ValidationError("--by ADMIN: an administrator must add users (their password is asked)")
    return read_password(args, f"Password of administrator {args.by}: ")


def _add(ctx: Context) -> int:
    args, store = ctx.args, ctx.store
    admin_password = _admin_password(args, store)
    password = read_password(args, f"Password for the new user {args.username}: ")
    user = add_user(store, args.username, args.name, args.role, password, actor=args.by or args.username,
                    actor_password=admin_password, policy=ctx.config.access)
    print(f"added {user.username} ({user.full_name}) as {user.role}")
    return 0


def _list(ctx: Context) -> int:
    for u in list_users(ctx.store):
        print(f"{u.username:<16} {u.role:<9} {'active' if u.active else 'disabled':<9} {u.full_name}")
    return 0


def _disable(ctx: Context) -> int:
    args, policy, store = ctx.args, ctx.config.access, ctx.store  # a bad configuration stops before the password
    user = disable_user(store, args.username, actor=args.by, actor_password=_admin_password(args, store),
                        policy=policy)
    print(f"disabled {user.username}")
    return 0


def _password(ctx: Context) -> int:
    args, policy = ctx.args, ctx.config.access
    old = read_password(args, f"Current password of {args.username}: ")
    new = read_password(args, "New password: ")
    if read_password(args, "New password again: ") != new:
        raise ValidationError("the two new passwords differ; nothing was changed")
    change_password(ctx.store, args.username, old, new, policy=policy)
    print(f"password of {args.username} changed")
    return 0
