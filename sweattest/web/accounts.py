"""The account and e-signature services the web UI uses: the same modules as ``sweattest user`` and the
sign-off commands (sweattest.record.users, sweattest.outputs.release)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sweattest.outputs import release
from sweattest.record import users


@dataclass(frozen=True)
class Accounts:
    users: Any  # authenticate(store, username, password) -> User; list_users(store)
    signoff: Any  # sign(store, clock, run_id, username, password, meaning, *, reason=None); signatures; amend


def default_accounts() -> Accounts:
    return Accounts(users, release)


def field_of(item: Any, name: str, default: Any = None) -> Any:
    """A field of a signature or version, whether the service returns objects or dicts."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)
