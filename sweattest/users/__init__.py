"""Users, roles, passwords and electronic signatures (21 CFR Part 11 style)."""

from sweattest.users.accounts import (
    ROLES,
    add_user,
    authenticate,
    disable_user,
    list_users,
)
from sweattest.users.signing import MEANINGS, amend_result, sign, signatures

__all__ = ["MEANINGS", "ROLES", "add_user", "amend_result", "authenticate", "disable_user", "list_users",
           "sign", "signatures"]
