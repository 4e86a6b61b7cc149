"""Users and roles: tech (performs runs), reviewer (reviews and releases results), qa (the QA desk: QC, the
equipment and competency records, the evidence pack it approves; never releases a result), admin. Passwords are
kept only as scrypt hashes.

The hash is stored with its parameters (``scrypt$n$r$p$salt$hash``, hex) so the work factor can be raised
later without breaking old passwords. Every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sweattest.core.access import AccessPolicy, check_new_password
from sweattest.core.errors import AuthError, ValidationError
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import keyed_item
from sweattest.record.web_sessions import end_sessions

ROLES = ("tech", "reviewer", "qa", "admin")
#: Who works at the QA desk: the views of patient runs, QC records and acts, the equipment and competency records.
QA_ROLES = ("reviewer", "qa", "admin")
DEFAULT_POLICY = AccessPolicy()
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


def a_role(role: str) -> str:
    """The role with its article, as a sentence says it: "a tech", "an admin"."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"


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


def has_users(store) -> bool:
    """Whether the store has or had a user account (disabled ones too): a lab's store, not a new or demo one. The
    audit trail's accounts added count too: accounts deleted behind the program's back leave it a lab's store."""
    with store.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(schema.users)).scalar_one() > 0
                or conn.execute(sa.select(schema.audit.c.id).where(schema.audit.c.what == "add_user")
                                .limit(1)).first() is not None)


def admin_required(store) -> bool:
    """Whether managing users needs an administrator's password: once an administrator account exists (a disabled
    one too: disabling it never reopens the store to anyone), it does. Before that (a new installation) the first
    administrator can be created."""
    with store.engine.connect() as conn:
        return _admins(conn, active_only=False) > 0


def _admins(conn: sa.Connection, *, active_only: bool) -> int:
    users = schema.users
    wanted = (users.c.role == "admin") & ((users.c.active == sa.true()) if active_only else sa.true())
    return conn.execute(sa.select(sa.func.count()).select_from(users).where(wanted)).scalar_one()


def authorize_admin(store, actor: str, password: str | None, *, policy: AccessPolicy = DEFAULT_POLICY) -> None:
    """Refuse unless ``actor`` proves to be an active administrator (21 CFR 11.10(d),(g): authority checks)."""
    if not admin_required(store):
        return
    if password is None:
        raise AuthError("managing users needs an administrator: give the administrator's user name and password")
    user = authenticate(store, actor, password, policy=policy, where="user management")
    if user.role != "admin":
        record_wrong_role(store, user, ("admin",), "manage users", where="user management")
        raise AuthError(f"{actor} is not an administrator; only an administrator can manage users")


def add_user(store, username: str, full_name: str, role: str, password: str, *, actor: str = "admin",
             actor_password: str | None = None, policy: AccessPolicy = DEFAULT_POLICY) -> User:
    authorize_admin(store, actor, actor_password, policy=policy)
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError(f"user name {username!r}: use 2-40 lower-case letters, digits, '.', '_' or '-'")
    if not full_name.strip():
        raise ValidationError("full name: required (it is printed with every signature)")
    if role not in ROLES:
        raise ValidationError(f"role {role!r}: use one of {', '.join(ROLES)}")
    check_new_password(password, policy)
    if get_user(store, username) is not None:
        raise ValidationError(f"user {username!r} already exists; choose another user name")
    user = User(username, full_name.strip(), role, True)
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(schema.users.insert().values(username=username, full_name=user.full_name, role=role,
                                                  active=True, password_hash=hash_password(password),
                                                  created_at=now, password_changed_at=now))
        append_audit(conn, who=actor, what="add_user", at=now, new=_public(user), rows=_chained(conn, username))
    return user


def authenticate(store, username: str, password: str, *, policy: AccessPolicy = DEFAULT_POLICY,
                 where: str = "log-in") -> User:
    """The active user with this password, else ``AuthError`` (the same message whatever was wrong, except for
    a locked account and an expired password, which say so). Wrong passwords in a row lock the account for a
    time that doubles with each further one (``policy``); the lock-out is audited, and so is the right password
    of a disabled account. ``where``: log-in, signing, the command line, for the audit entry."""
    row = _row(store, username)
    if row is None:
        check_password(password, _DUMMY_HASH)  # same work as a real check: no timing hint
        raise AuthError(AUTH_FAILED)
    now = store.clock.utcnow()
    right = check_password(password, row.password_hash)
    if row.locked_until is not None and row.locked_until > now:
        raise AuthError(f"the account {username} is locked after repeated wrong passwords until "
                        f"{row.locked_until:%H:%M:%S} UTC; wait, or ask an admin")
    if not right:
        _failed(store, row, now, policy, where)
        raise AuthError(AUTH_FAILED)
    if not row.active:
        _failed(store, row, now, policy, where, disabled=True)
        raise AuthError(AUTH_FAILED)
    if row.failed_passwords:
        with store.writing() as conn:
            conn.execute(schema.users.update().where(schema.users.c.username == username)
                         .values(failed_passwords=0, locked_until=None))
            append_audit(conn, who=username, what="wrong_passwords_cleared", at=now, why=where,
                         old={"failed_passwords": row.failed_passwords}, new={"failed_passwords": 0},
                         rows=[keyed_item(conn, "user_access", username)])
    expires = password_expires(row, policy)
    if expires is not None and expires <= now:
        raise AuthError(f"the password of {username} expired on {expires:%Y-%m-%d}; set a new one with "
                        f"`sweattest user password {username}`")
    return _user(row)


def password_expires(row, policy: AccessPolicy) -> datetime | None:
    if not policy.password_expiry_days:
        return None
    return (row.password_changed_at or row.created_at) + timedelta(days=policy.password_expiry_days)


def _failed(store, row, now: datetime, policy: AccessPolicy, where: str, *, disabled: bool = False) -> None:
    """Count a wrong password (``disabled``: the right password of a disabled account, refused alike); lock the
    account when the policy says so, after which its attempts write nothing more. Audited and chained: a count or
    a lock-out reset behind the program's back is named by ``audit verify``."""
    failures = row.failed_passwords + 1
    lock = policy.lockout_for(failures)
    users = schema.users
    with store.writing() as conn:
        conn.execute(users.update().where(users.c.username == row.username).values(
            failed_passwords=failures, locked_until=now + lock if lock else row.locked_until))
        new = {"username": row.username, "failed_passwords": failures}
        if lock:
            new |= {"locked_until": f"{now + lock:%Y-%m-%dT%H:%M:%SZ}", "locked_seconds": int(lock.total_seconds())}
        if disabled:
            what, why, new = "disabled_sign_in", f"the account is disabled ({where})", new | {"where": where}
        else:
            what = "lock_out" if lock else "wrong_password"
            why = f"{failures} wrong password{'s' if failures > 1 else ''} in a row ({where})"
        append_audit(conn, who=row.username, what=what, at=now, why=why, new=new,
                     rows=[keyed_item(conn, "user_access", row.username)])


def record_wrong_role(store, user, roles: tuple[str, ...], action: str, *, where: str,
                      run_id: str | None = None) -> None:
    """``user`` (a ``User``, or a web session's person: a user name and a role) signed in but was refused
    ``action``, which only ``roles`` may take: audited (who, their role, the action, where; ``run_id``: the run
    it was tried on); the caller refuses."""
    with store.writing() as conn:
        append_audit(conn, run_id=run_id, who=user.username, what="wrong_role", at=store.clock.utcnow(),
                     why=f"{a_role(user.role)} cannot {action}: only {a_role(' or '.join(roles))} can ({where})",
                     new={"username": user.username, "role": user.role, "roles": list(roles), "action": action,
                          "where": where})


def change_password(store, username: str, old_password: str, new_password: str, *,
                    policy: AccessPolicy = DEFAULT_POLICY) -> None:
    """A user sets a new password, giving the current one (an expired one is accepted here). Refused as a sign-in
    is: a locked account first, then a wrong password or a disabled account, counted towards the lock-out."""
    row = _row(store, username)
    if row is None:
        check_password(old_password, _DUMMY_HASH)  # same work as a real check: no timing hint
        raise AuthError(AUTH_FAILED)
    now = store.clock.utcnow()
    right = check_password(old_password, row.password_hash)
    if row.locked_until is not None and row.locked_until > now:
        raise AuthError(f"the account {username} is locked after repeated wrong passwords until "
                        f"{row.locked_until:%H:%M:%S} UTC; wait, or ask an admin")
    if not right or not row.active:
        _failed(store, row, now, policy, "password change", disabled=right)
        raise AuthError(AUTH_FAILED)
    check_new_password(new_password, policy)
    if check_password(new_password, row.password_hash):
        raise ValidationError("password: the new password must differ from the current one")
    with store.writing() as conn:
        conn.execute(schema.users.update().where(schema.users.c.username == username).values(
            password_hash=hash_password(new_password), password_changed_at=now, failed_passwords=0,
            locked_until=None))
        append_audit(conn, who=username, what="change_password", at=now, new={"username": username},
                     rows=_chained(conn, username))


def get_user(store, username: str) -> User | None:
    row = _row(store, username)
    return None if row is None else _user(row)


def list_users(store) -> list[User]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.users).order_by(schema.users.c.username)).all()
    return [_user(r) for r in rows]


def disable_user(store, username: str, *, actor: str, actor_password: str | None = None,
                 policy: AccessPolicy = DEFAULT_POLICY) -> User:
    """Disable an account (users are never deleted: their signatures keep their names); the administrator signs
    in under the lab's ``policy`` (lock-out, password age)."""
    authorize_admin(store, actor, actor_password, policy=policy)
    user = get_user(store, username)
    if user is None:
        raise ValidationError(f"no user {username!r}; `sweattest user list` shows the users")
    if not user.active:
        return user
    now = store.clock.utcnow()
    with store.writing() as conn:
        if user.role == "admin" and _admins(conn, active_only=True) <= 1:
            raise ValidationError(f"{username} is the only active administrator: add another administrator first; "
                                  "without one, nobody could manage the users")
        conn.execute(schema.users.update().where(schema.users.c.username == username).values(active=False))
        end_sessions(conn, username, now, "user disabled")
        append_audit(conn, who=actor, what="disable_user", at=now, old={"username": username, "active": True},
                     new={"username": username, "active": False}, rows=[keyed_item(conn, "users", username)])
    return User(user.username, user.full_name, user.role, False)


def _chained(conn: sa.Connection, username: str) -> list[list]:
    """The chain items of a user's row: its content and its access (lock-out, password age)."""
    return [keyed_item(conn, "users", username), keyed_item(conn, "user_access", username)]


def _row(store, username: str):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(schema.users).where(schema.users.c.username == username)).first()


def _user(row) -> User:
    return User(row.username, row.full_name, row.role, bool(row.active))


def _public(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "role": user.role, "active": user.active}
