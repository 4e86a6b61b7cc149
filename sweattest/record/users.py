"""Users and roles: tech, reviewer, admin. Passwords are kept only as scrypt hashes.

The hash is stored with its parameters (``scrypt$n$r$p$salt$hash``, hex) so the work factor can be raised
later without breaking old passwords. Every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from sweattest.core.errors import AuthError, ValidationError
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import keyed_item

ROLES = ("tech", "reviewer", "admin")
MIN_PASSWORD = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
AUTH_FAILED = ("authentication failed: the user name or password is wrong, or the account is disabled; "
               "ask an admin if you cannot sign in")


@dataclass(frozen=True)
class User:
    username: str
    full_name: str
    role: str
    active: bool


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash, with the parameters it was made with."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        want = bytes.fromhex(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=128 * int(n) * int(r) * int(p) + 2**24)
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got, want)


_DUMMY_HASH = hash_password("not a password", salt=b"\0" * SALT_BYTES)


def admin_required(store) -> bool:
    """Whether managing users needs an administrator's password: once an active admin exists, it does.
    Before that (a new installation) the first administrator can be created."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.users).where(
            (schema.users.c.role == "admin") & (schema.users.c.active == sa.true()))).scalar_one() > 0


def authorize_admin(store, actor: str, password: str | None) -> None:
    """Refuse unless ``actor`` proves to be an active administrator (21 CFR 11.10(d),(g): authority checks)."""
    if not admin_required(store):
        return
    if password is None:
        raise AuthError("managing users needs an administrator: give the administrator's user name and password")
    if authenticate(store, actor, password).role != "admin":
        raise AuthError(f"{actor} is not an administrator; only an administrator can manage users")


def add_user(store, username: str, full_name: str, role: str, password: str, *, actor: str = "admin",
             actor_password: str | None = None) -> User:
    authorize_admin(store, actor, actor_password)
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError(f"user name {username!r}: use 2-40 lower-case letters, digits, '.', '_' or '-'")
    if not full_name.strip():
        raise ValidationError("full name: required (it is printed with every signature)")
    if role not in ROLES:
        raise ValidationError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters are required")
    if get_user(store, username) is not None:
        raise ValidationError(f"user {username!r} already exists; choose another user name")
    user = User(username, full_name.strip(), role, True)
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(schema.users.insert().values(username=username, full_name=user.full_name, role=role,
                                                  active=True, password_hash=hash_password(password),
                                                  created_at=now))
        append_audit(conn, who=actor, what="add_user", at=now, new=_public(user),
                     rows=[keyed_item(conn, "users", username)])
    return user


def authenticate(store, username: str, password: str) -> User:
    """The active user with this password, else ``AuthError`` (the same message whatever was wrong)."""
    row = _row(store, username)
    if row is None:
        check_password(password, _DUMMY_HASH)  # same work as a real check: no timing hint
        raise AuthError(AUTH_FAILED)
    if not check_password(password, row.password_hash) or not row.active:
        raise AuthError(AUTH_FAILED)
    return _user(row)


def get_user(store, username: str) -> User | None:
    row = _row(store, username)
    return None if row is None else _user(row)


def list_users(store) -> list[User]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.users).order_by(schema.users.c.username)).all()
    return [_user(r) for r in rows]


def disable_user(store, username: str, *, actor: str, actor_password: str | None = None) -> User:
    """Disable an account (users are never deleted: their signatures keep their names)."""
    authorize_admin(store, actor, actor_password)
    user = get_user(store, username)
    if user is None:
        raise ValidationError(f"no user {username!r}; `sweattest user list` shows the users")
    if not user.active:
        return user
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(schema.users.update().where(schema.users.c.username == username).values(active=False))
        append_audit(conn, who=actor, what="disable_user", at=now, old={"username": username, "active": True},
                     new={"username": username, "active": False}, rows=[keyed_item(conn, "users", username)])
    return User(user.username, user.full_name, user.role, False)


def _row(store, username: str):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(schema.users).where(schema.users.c.username == username)).first()


def _user(row) -> User:
    return User(row.username, row.full_name, row.role, bool(row.active))


def _public(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "role": user.role, "active": user.active}
