"""Stand-ins with the contract of sweattest.users and sweattest.signoff, used until both are installed
(see ``accounts`` in conftest.py: the real modules are used when present)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sweattest.errors import SweatTestError, ValidationError
from sweattest.runs import load_run, record_event


class AuthError(SweatTestError):
    """Wrong user name or password."""


@dataclass(frozen=True)
class User:
    username: str
    full_name: str
    role: str
    active: bool = True


def make_accounts():
    users: dict[str, tuple[User, str]] = {}
    sigs: dict[str, list[dict]] = {}

    def add_user(store, username, full_name, role, password, *, actor="admin"):
        users[username] = (User(username, full_name, role), password)

    def authenticate(store, username, password):
        if username not in users or users[username][1] != password:
            raise AuthError("wrong user name or password")
        return users[username][0]

    def sign(store, clock, run_id, username, password, meaning, *, reason=None):
        user = authenticate(store, username, password)
        run, order = load_run(store, run_id)
        if meaning == "reviewed":
            if user.role != "reviewer":
                raise ValidationError("only a reviewer can review")
            if store.get_run(run_id)["operator"] == username:
                raise ValidationError("you performed this run: another reviewer must review it")
            record_event(store, clock, run_id, "review", data={"reviewer": username}, actor=username)
            record_event(store, clock, run_id, "report", actor=username)
        sigs.setdefault(run_id, []).append({"username": username, "meaning": meaning, "at": clock.utcnow()})

    def amend(store, clock, run_id, username, password, *, changes, reason):
        authenticate(store, username, password)
        if not reason.strip():
            raise ValidationError("an amendment needs a reason")

    return (SimpleNamespace(add_user=add_user, authenticate=authenticate,
                            list_users=lambda store: [u for u, _ in users.values()]),
            SimpleNamespace(sign=sign, signatures=lambda store, run_id: list(sigs.get(run_id, [])), amend=amend,
                            versions=lambda store, run_id: []))
