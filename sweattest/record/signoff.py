"""Electronic signatures and amendments (21 CFR Part 11 style).

A signature asks for the password again and records who (user name and full name), when (UTC), what it
means (performed, reviewed, corrected) and which version of the result it signs. Signing "reviewed" makes
the run final (review, then report). A final result changes only through an amendment with a reason: a new
result version, signed "corrected". Each write records an audit entry in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.access import AccessPolicy
from sweattest.core.errors import ProcedureError, ValidationError
from sweattest.core.jsonable import to_jsonable
from sweattest.core.units import number_in
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit, canonical_json
from sweattest.record.users import DEFAULT_POLICY, User, authenticate

MEANINGS = ("performed", "reviewed", "corrected")
REVIEWER_ROLES = ("reviewer", "admin")
#: The result as first released is version 1; each amendment adds the next version.
ORIGINAL_VERSION = 1


@dataclass(frozen=True)
class Signature:
    run_id: str
    username: str
    full_name: str
    meaning: str
    at: datetime
    reason: str | None
    version: int


@dataclass(frozen=True)
class ResultVersion:
    run_id: str
    version: int
    changes: dict[str, Any]
    reason: str
    by: str
    at: datetime


def sign(store, clock, run_id: str, username: str, password: str, meaning: str, *,
         reason: str | None = None, policy: AccessPolicy = DEFAULT_POLICY, station: str | None = None) -> Signature:
    """Sign a run after re-authenticating. "reviewed" needs a reviewer or admin who is not the run's
    operator, and makes the run final; "corrected" signatures come only from ``amend``."""
    if meaning not in MEANINGS:
        raise ValidationError(f"meaning {meaning!r}: use one of {', '.join(MEANINGS)}")
    if meaning == "corrected":
        raise ValidationError("a correction is signed by amending the result (`sweattest sign --amend`), "
                              "which records the changes and the reason")
    user = authenticate(store, username, password, policy=policy, where="signing")
    row = _run_row(store, run_id)
    if meaning == "reviewed":
        _check_reviewer(store, user, row)
        _check_state(store, run_id, "result_ready", "review")
        _check_qc(store, run_id)
    if meaning == "performed" and user.username != row["operator"]:
        raise ValidationError(f"only the run's operator ({row['operator']}) can sign it as performed")
    signature = _record_signature(store, clock, user, run_id, meaning, reason)
    if meaning == "reviewed":
        from sweattest.record.runs import record_event

        record_event(store, clock, run_id, "review", data={"reviewer": user.username}, actor=user.username,
                     station=station)
        record_event(store, clock, run_id, "report", actor=user.username, station=station)
    return signature


def amend(store, clock, run_id: str, username: str, password: str, *, changes: dict[str, Any],
          reason: str, policy: AccessPolicy = DEFAULT_POLICY) -> int:
    """Change a final result: a new version with the changes and the reason, signed "corrected"; returns
    the new version number. Needs a reviewer or admin."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("amendment: a reason is required (it is printed on the corrected report)")
    if not isinstance(changes, dict) or not changes or not all(isinstance(k, str) and k for k in changes):
        raise ValidationError("amendment: give the changed fields as a non-empty object of name -> new value")
    for key, new in changes.items():
        if key.endswith(".chloride"):  # checked before anything is written; the report applies it
            number_in(new, "mmol/L", "concentration", f"amendment {key} (a number in mmol/L, e.g. 45)")
    user = authenticate(store, username, password, policy=policy, where="signing")
    if user.role not in REVIEWER_ROLES:
        raise ValidationError(f"{user.username} is a {user.role}: only a reviewer or admin can amend a result")
    _run_row(store, run_id)
    _check_state(store, run_id, "reported", "amend")
    changes = _plain(changes)
    now = clock.utcnow()
    with store.writing() as conn:
        version = _current_version(conn, run_id) + 1
        old = _amended_values(conn, run_id)
        conn.execute(schema.result_versions.insert().values(run_id=run_id, version=version, changes=changes,
                                                            reason=reason, by=user.username, at=now))
        _insert_signature(conn, user, run_id, "corrected", now, reason, version)
        append_audit(conn, run_id=run_id, who=user.username, what="amend", at=now, why=reason,
                     old={k: old.get(k) for k in changes}, new=changes | {"version": version})
    return version


def signatures(store, run_id: str) -> list[Signature]:
    sg = schema.signatures
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sg).where(sg.c.run_id == run_id).order_by(sg.c.id)).mappings().all()
    return [Signature(r["run_id"], r["username"], r["full_name"], r["meaning"], r["at"], r["reason"],
                      r["version"]) for r in rows]


def versions(store, run_id: str) -> list[ResultVersion]:
    """The amendments of a run's result, oldest first (version 2 onwards; version 1 is the original)."""
    rv = schema.result_versions
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(rv).where(rv.c.run_id == run_id).order_by(rv.c.version)).mappings().all()
    return [ResultVersion(r["run_id"], r["version"], r["changes"], r["reason"], r["by"], r["at"]) for r in rows]


def _record_signature(store, clock, user: User, run_id: str, meaning: str, reason: str | None) -> Signature:
    now = clock.utcnow()
    with store.writing() as conn:
        version = _current_version(conn, run_id)
        _insert_signature(conn, user, run_id, meaning, now, reason, version)
    return Signature(run_id, user.username, user.full_name, meaning, now, reason, version)


def _insert_signature(conn, user: User, run_id: str, meaning: str, at: datetime, reason: str | None,
                      version: int) -> None:
    conn.execute(schema.signatures.insert().values(run_id=run_id, username=user.username,
                                                   full_name=user.full_name, meaning=meaning, at=at,
                                                   reason=reason, version=version))
    append_audit(conn, run_id=run_id, who=user.username, what=f"sign {meaning}", at=at, why=reason,
                 new={"meaning": meaning, "full_name": user.full_name, "version": version})


def _check_reviewer(store, user: User, row: dict) -> None:
    if user.role not in REVIEWER_ROLES:
        raise ValidationError(f"{user.username} is a {user.role}: only a reviewer or admin can review a run")
    performed = any(s.username == user.username and s.meaning == "performed" for s in signatures(store,
                                                                                               row["run_id"]))
    if user.username == row["operator"] or performed:
        raise ValidationError(f"a tech cannot review their own run: {user.username} performed run "
                              f"{row['run_id']}; another reviewer must sign it")


def _check_qc(store, run_id: str) -> None:
    """Patient results cannot be final while their analytical run's QC is missing or rejected (CLSI C34;
    CLIA)."""
    from sweattest.record.analytical_qc import release_findings

    blocks = release_findings(store, run_id)
    if blocks:
        raise ValidationError(f"run {run_id} cannot be final: {blocks[0].message}")


def _check_state(store, run_id: str, wanted: str, action: str) -> None:
    from sweattest.record.runs import load_run

    run, _ = load_run(store, run_id)
    if run.state != wanted:
        hint = "amend it instead" if run.state == "reported" else f"it must be {wanted} first"
        raise ProcedureError(f"cannot {action} run {run_id}: it is {run.state}; {hint}", state=run.state,
                             event=action)


def _run_row(store, run_id: str) -> dict:
    row = store.get_run(run_id)
    if row is None:
        raise ValidationError(f"no run {run_id!r} in the store; `sweattest qa runs` lists the runs")
    return row


def _current_version(conn, run_id: str) -> int:
    rv = schema.result_versions
    latest = conn.execute(sa.select(sa.func.max(rv.c.version)).where(rv.c.run_id == run_id)).scalar()
    return latest or ORIGINAL_VERSION


def _amended_values(conn, run_id: str) -> dict[str, Any]:
    rv = schema.result_versions
    out: dict[str, Any] = {}
    for changes in conn.execute(sa.select(rv.c.changes).where(rv.c.run_id == run_id).order_by(rv.c.version)):
        out.update(changes[0])
    return out


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as plain JSON (quantities as value and unit; other objects as their text)."""
    return json.loads(canonical_json(to_jsonable(changes)))
