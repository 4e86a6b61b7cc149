"""User accounts: add, list, disable, authenticate. Every change is audited; passwords never are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.errors import ValidationError
from sweattest.store import Store
from sweattest.store.auditlog import append_audit
from sweattest.store.schema import users
from sweattest.users.passwords import check_password, hash_password

ROLES = ("tech", "reviewer", "admin")
MIN_PASSWORD = 8


def add_user(store: Store, username: str, *, role: str, password: str, full_name: str, by: str,
             at: datetime) -> None:
    """Create an active account. ``by`` is who created it (recorded in the audit trail)."""
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise ValidationError(f"user name {username!r}: use letters, digits, '.', '-' or '_'; no user added")
    if role not in ROLES:
        raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}; no user added")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters; no user added")
    hashed = hash_password(password)
    with store.write() as conn:
        if _get(conn, username) is not None:
            raise ValidationError(f"user {username} already exists; choose another name (nothing changed)")
        conn.execute(users.insert().values(username=username, full_name=full_name, role=role,
                                           password_hash=hashed, disabled=False, created_at=at))
        append_audit(conn, who=by, what="user added", at=at,
                     new={"username": username, "role": role, "full_name": full_name})


def list_users(store: Store) -> list[dict[str, Any]]:
    """Accounts in name order, without their password hashes."""
    query = sa.select(users.c.username, users.c.full_name, users.c.role, users.c.disabled,
                      users.c.created_at).order_by(users.c.username)
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def disable_user(store: Store, username: str, *, by: str, why: str, at: datetime) -> None:
    """Disable an account (accounts are never deleted: their signatures must stay attributable)."""
    if not why.strip():
        raise ValidationError("give a reason for disabling the account; nothing changed")
    with store.write() as conn:
        user = _get(conn, username)
        if user is None:
            raise ValidationError(f"no user {username}; `sweattest user list` shows the accounts")
        if user["disabled"]:
            raise ValidationError(f"user {username} is already disabled; nothing changed")
        conn.execute(users.update().where(users.c.username == username).values(disabled=True))
        append_audit(conn, who=by, what="user disabled", at=at, why=why,
                     old={"username": username, "disabled": False}, new={"username": username, "disabled": True})


def authenticate(conn: sa.Connection, username: str, password: str) -> dict[str, Any]:
    """The active account ``username`` if ``password`` is its password; otherwise a clear refusal."""
    user = _get(conn, username)
    if user is None or not check_password(password, user["password_hash"]):
        raise ValidationError(f"user {username}: wrong user name or password; nothing was signed")
    if user["disabled"]:
        raise ValidationError(f"user {username} is disabled; ask an admin; nothing was signed")
    return user


def _get(conn: sa.Connection, username: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    return None if row is None else dict(row)
