"""The account and e-signature services the web UI uses: the same modules as ``sweattest user`` and the
sign-off commands (sweattest.users, sweattest.signoff). Tests may pass stand-ins with the same functions."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from sweattest.errors import ConfigError


@dataclass(frozen=True)
class Accounts:
    users: Any  # authenticate(store, username, password) -> User; list_users(store)
    signoff: Any  # sign(store, clock, run_id, username, password, meaning, *, reason=None); signatures; amend


def default_accounts() -> Accounts:
    try:
        return Accounts(importlib.import_module("sweattest.users"), importlib.import_module("sweattest.signoff"))
    except ImportError as exc:
        raise ConfigError(f"user accounts and e-signatures are not available in this installation ({exc}); "
                          "install a sweattest version with `sweattest user`") from None


def field_of(item: Any, name: str, default: Any = None) -> Any:
    """A field of a signature or version, whether the service returns objects or dicts."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)
