"""Electronic signatures and amendments (21 CFR Part 11 style).

A signature re-checks the signer's password at the moment of signing and records who, when and the
meaning: ``performed`` (the run's operator), ``reviewed`` (a reviewer or admin who did not perform the
run; the run must be finished) or ``corrected`` (given only by ``amend_result``). A final result
changes only by an amendment: a new result version with a reason, signed ``corrected``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.errors import ValidationError
from sweattest.procedure.table import FINAL_STATES
from sweattest.store import Store
from sweattest.store import results as result_store
from sweattest.store.auditlog import append_audit
from sweattest.store.schema import runs
from sweattest.store.schema import signatures as signature_table
from sweattest.store.values import check_time
from sweattest.users.accounts import authenticate

MEANINGS = ("performed", "reviewed", "corrected")
REVIEWER_ROLES = ("reviewer", "admin")


def sign(store: Store, run_id: str, *, username: str, password: str, meaning: str, at: datetime) -> int:
    """Record an e-signature on a run; returns its id. Refusals change nothing."""
    check_time(at, "at")
    if meaning not in MEANINGS:
        raise ValidationError(f"signature meaning {meaning!r} is not one of {', '.join(MEANINGS)}; "
                              "nothing was signed")
    if meaning == "corrected":
        raise ValidationError("a correction is signed by amending the result with a reason "
                              "(sweattest.users.amend_result); nothing was signed")
    with store.write() as conn:
        user = authenticate(conn, username, password)
        run = _run(conn, run_id)
        if meaning == "performed" and username != run["operator"]:
            raise ValidationError(f"run {run_id} was performed by {run['operator']}; only they can sign it "
                                  "as performed; nothing was signed")
        if meaning == "reviewed":
            _check_reviewer(user, run)
        return _record(conn, run_id, username, meaning, at, run["result_version"])


def amend_result(store: Store, run_id: str, *, username: str, password: str, reason: str,
                 result: dict[str, Any], at: datetime) -> int:
    """Correct a final result: store a new version with ``reason``, signed ``corrected``. Returns it."""
    check_time(at, "at")
    if not reason or not reason.strip():
        raise ValidationError("an amendment needs a reason (what was wrong); nothing was changed")
    with store.write() as conn:
        user = authenticate(conn, username, password)
        if user["role"] not in REVIEWER_ROLES:
            raise ValidationError(f"user {username} is a {user['role']}; a final result is corrected by a "
                                  "reviewer or admin; nothing was changed")
        _run(conn, run_id)
        if result_store.latest_version(conn, run_id) is None:
            raise ValidationError(f"run {run_id} has no final result to amend; nothing was changed")
        version = result_store.add_version(conn, run_id, result, who=username, at=at, reason=reason)
        _record(conn, run_id, username, "corrected", at, version)
    return version


def signatures(store: Store, run_id: str) -> list[dict[str, Any]]:
    query = sa.select(signature_table).where(signature_table.c.run_id == run_id).order_by(signature_table.c.id)
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _check_reviewer(user: dict[str, Any], run: dict[str, Any]) -> None:
    if user["username"] == run["operator"]:
        raise ValidationError(f"{user['username']} performed run {run['run_id']} and cannot review it; "
                              "another reviewer must sign; nothing was signed")
    if user["role"] not in REVIEWER_ROLES:
        raise ValidationError(f"user {user['username']} is a {user['role']}; reviews are signed by a "
                              "reviewer or admin; nothing was signed")
    if run["state"] not in FINAL_STATES:
        raise ValidationError(f"run {run['run_id']} is still {run['state']}; review it when it has "
                              "finished; nothing was signed")


def _run(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
    if row is None:
        raise ValidationError(f"no run {run_id!r}; `sweattest qa runs` lists the runs; nothing was signed")
    return dict(row)


def _record(conn: sa.Connection, run_id: str, username: str, meaning: str, at: datetime,
            version: int | None) -> int:
    sig_id = conn.execute(signature_table.insert().values(
        run_id=run_id, username=username, meaning=meaning, at=at, result_version=version)).inserted_primary_key[0]
    append_audit(conn, who=username, what=f"signed: {meaning}", at=at, run_id=run_id,
                 new={"signature": sig_id, "meaning": meaning, "result_version": version})
    return sig_id
