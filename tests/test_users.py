"""Users and roles: scrypt-hashed passwords, one message for every failed sign-in, audited changes."""

from functools import partial

import pytest
import sqlalchemy as sa

from sweattest.core.errors import AuthError, ValidationError
from sweattest.record.audit import verify
from sweattest.record.store import schema
from sweattest.record.users import ROLES, User, add_user, authenticate, disable_user, get_user, list_users
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


def test_a_user_signs_in_with_their_password_only(store, product_password_cost):
    user = add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse", actor="admin")
    assert user == User("rev1", "Rita Reviewer", "reviewer", True)
    assert authenticate(store, "rev1", "correct horse") == user
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar_one()
    assert "correct horse" not in stored and stored.startswith("scrypt$16384$8$1$")


def test_every_failed_sign_in_says_the_same(store):
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
    add_user(store, "tech2", "Tom Tech", "tech", "battery staple")
    disable_user(store, "tech2", actor="admin")
    messages = set()
    for name, password in [("rev1", "wrong password"), ("nobody", "correct horse"), ("tech2", "battery staple")]:
        with pytest.raises(AuthError) as err:
            authenticate(store, name, password)
        messages.add(str(err.value))
    assert len(messages) == 1


@pytest.mark.parametrize("args, message", [
    (("rev1", "R", "reviewer", "short"), "at least 10 characters"),
    (("rev1", "R", "reviewer", "12345678"), "at least 10 characters"),
    (("rev1", "R", "reviewer", "Password123"), "most common passwords"),
    (("rev1", "R", "boss", "long enough"), "use one of tech, reviewer, qa, admin"),
    (("Bad Name", "R", "tech", "long enough"), "user name"),
    (("rev2", " ", "tech", "long enough"), "full name"),
])
def test_bad_new_users_are_refused_and_nothing_is_written(store, args, message):
    with pytest.raises(ValidationError, match=message):
        add_user(store, *args)
    assert list_users(store) == []


def test_a_duplicate_user_name_is_refused_and_the_first_kept(store):
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse")
    with pytest.raises(ValidationError, match="already exists"):
        add_user(store, "rev1", "Someone Else", "admin", "other password")
    assert get_user(store, "rev1").full_name == "Rita Reviewer"
    assert authenticate(store, "rev1", "correct horse").role == "reviewer"


def test_user_changes_are_in_the_audit_trail_without_passwords(store):
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "correct horse", actor="boss")
    disable_user(store, "rev1", actor="boss")
    assert [u.active for u in list_users(store)] == [False]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.audit).order_by(schema.audit.c.id)).mappings().all()
    assert [(r["who"], r["what"]) for r in rows] == [("boss", "add_user"), ("boss", "disable_user")]
    assert all("correct horse" not in r["new"] for r in rows)
    assert verify(store).intact


def test_roles():
    assert ROLES == ("tech", "reviewer", "qa", "admin")


def _audit_count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.audit)).scalar_one()


@pytest.mark.parametrize("attempt", ["a disabled account signs in with its password",
                                     "a wrong password to change a password"])
def test_a_flood_of_refused_sign_ins_stops_writing_once_the_account_is_locked(store, attempt):
    """Wrong passwords lock the account, after which they write nothing. The right password of a disabled
    account, and a wrong one given to change a password, were audited without end: anyone holding a departed
    user's password, or anyone at all with `sweattest user password`, grew the audit trail at will. Both count
    towards the lock-out now; each refusal before it is still an audit entry."""
    from sweattest.core.access import AccessPolicy
    from sweattest.record.users import change_password

    policy = AccessPolicy()
    add_user(store, "admin1", "Ada Admin", "admin", "admin password")
    add_user(store, "tech2", "Tom Tech", "tech", "battery staple", actor="admin1", actor_password="admin password")
    if attempt.startswith("a disabled"):
        disable_user(store, "tech2", actor="admin1", actor_password="admin password")
        try_once = partial(authenticate, store, "tech2", "battery staple", policy=policy)
    else:
        try_once = partial(change_password, store, "tech2", "not my password", "a new password 1", policy=policy)
    before = _audit_count(store)
    for _ in range(policy.lockout_after):
        with pytest.raises(AuthError, match="authentication failed"):
            try_once()
    assert _audit_count(store) == before + policy.lockout_after
    for _ in range(50):
        with pytest.raises(AuthError, match="tech2 is locked"):
            try_once()
    assert _audit_count(store) == before + policy.lockout_after and verify(store).intact
