"""Electronic signatures and amendments (21 CFR Part 11 style).

A signature asks for the password again and records who (user name and full name), when (UTC), what it
means (performed, reviewed, corrected) and which version of the result it signs. Two people release a
result: the run's operator signs "performed", then a reviewer or admin who did not perform it signs
"reviewed", which makes the run final (review, then report). A final result changes only through an
amendment with a reason, signed "corrected" by a reviewer or admin who did not perform the run (who performed
it never signs a correction of their own work alone): a new result version whose fields and values are
checked as on entry (sweattest.record.amendable). Each write records an audit entry in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.access import AccessPolicy
from sweattest.core.errors import ProcedureError, ValidationError
from sweattest.core.jsonable import to_jsonable
from sweattest.record.amendable import apply_amendments, check_changes
from sweattest.record.analytical_qc import release_findings
from sweattest.record.runs import load_run, record_event
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit, canonical_json
from sweattest.record.store.rowhash import keyed_item, range_item
from sweattest.record.store.signed import signed_content
from sweattest.record.users import DEFAULT_POLICY, User, authenticate, record_wrong_role

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


#: A write that belongs with a releasing signature (the result queued for the LIS): called with the
#: signature's connection, the run id and the result version, inside its transaction.
Releasing = Callable[[Any, str, int], None]


def sign(store, clock, run_id: str, username: str, password: str, meaning: str, *,
         reason: str | None = None, releasing: Releasing | None = None, policy: AccessPolicy = DEFAULT_POLICY,
         station: str | None = None) -> Signature:
    """Sign a run after re-authenticating. "performed" comes from the run's operator; "reviewed" needs a
    reviewer or admin who did not perform the run, after the "performed" signature, and makes the run final;
    "corrected" signatures come only from ``amend``. ``releasing`` runs in the transaction of a "reviewed"
    signature. A review whose signature was recorded but whose run was not reported (the process stopped in
    between) is completed by signing again: under the signature already recorded, releasing nothing twice."""
    if meaning not in MEANINGS:
        raise ValidationError(f"meaning {meaning!r}: use one of {', '.join(MEANINGS)}")
    if meaning == "corrected":
        raise ValidationError("a correction is signed by amending the result (`sweattest sign --amend`), "
                              "which records the changes and the reason")
    user = authenticate(store, username, password, policy=policy, where="signing")
    row = _run_row(store, run_id)
    signed = signatures(store, run_id)
    if meaning == "reviewed":
        _check_reviewer(store, user, row, signed, "review")
        _check_state(store, run_id, "result_ready", "review")
        if not any(s.meaning == "performed" for s in signed):
            raise ValidationError(f"run {run_id} is not signed performed: its operator ({row['operator']}) "
                                  "signs it first, then a reviewer")
        _check_qc(store, run_id)
    if meaning == "performed":
        if user.username != row["operator"]:
            raise ValidationError(f"only the run's operator ({row['operator']}) can sign it as performed")
        if any(s.meaning == "performed" for s in signed):
            raise ValidationError(f"run {run_id} is already signed performed")
        _check_state(store, run_id, "result_ready", "sign performed")
    signature = _record_signature(store, clock, user, run_id, meaning, reason,
                                  releasing if meaning == "reviewed" else None)
    if meaning == "reviewed":
        record_event(store, clock, run_id, "review", data={"reviewer": signature.username}, actor=user.username,
                     station=station)
        record_event(store, clock, run_id, "report", actor=user.username, station=station)
    return signature


def offered(store, run_id: str, username: str, role: str) -> str | None:
    """The signature ``username`` (of ``role``) may give the run now: "performed", "reviewed" or None."""
    row = store.get_run(run_id)
    if row is None or row["state"] in ("reported", "aborted"):
        return None
    signed = signatures(store, run_id)
    performed = [s.username for s in signed if s.meaning == "performed"]
    if not performed:
        return "performed" if username == row["operator"] else None
    if role in REVIEWER_ROLES and username != row["operator"] and username not in performed:
        return "reviewed"
    return None


def amend(store, clock, run_id: str, username: str, password: str, *, changes: dict[str, Any],
          reason: str, releasing: Releasing | None = None, policy: AccessPolicy = DEFAULT_POLICY) -> int:
    """Change a final result: a new version with the changes and the reason, signed "corrected"; returns
    the new version number. Needs a reviewer or admin who did not perform the run; each change is checked
    as on entry against the current version and must change something. ``releasing`` runs in the
    amendment's transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("amendment: a reason is required (it is printed on the corrected report)")
    user = authenticate(store, username, password, policy=policy, where="signing")
    row = _run_row(store, run_id)
    _check_reviewer(store, user, row, signatures(store, run_id), "amend")
    _check_state(store, run_id, "reported", "amend")
    run, order, _ = current_result(store, run_id)
    changes, old = check_changes(run, order, changes)
    changes, old = _plain(changes), _plain(old)
    now = clock.utcnow()
    with store.writing() as conn:
        version = _current_version(conn, run_id) + 1
        version_id = conn.execute(schema.result_versions.insert().values(
            run_id=run_id, version=version, changes=changes, reason=reason, by=user.username, at=now
        )).inserted_primary_key[0]
        _insert_signature(conn, user, run_id, "corrected", now, reason, version)
        chained = [range_item(conn, "result_versions", version_id, version_id)]
        if "patient.mrn" in changes:  # the run list shows the MRN from the run's row, which the chain covers
            conn.execute(schema.runs.update().where(schema.runs.c.run_id == run_id)
                         .values(patient_mrn=changes["patient.mrn"]))
            chained.append(keyed_item(conn, "runs", run_id))
        append_audit(conn, run_id=run_id, who=user.username, what="amend", at=now, why=reason,
                     old=old, new=changes | {"version": version}, rows=chained)
        if releasing is not None:
            releasing(conn, run_id, version)
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


def current_result(store, run_id: str):
    """The run and its order as the current result version shows them (every amendment applied), and the
    corrections as the report lists them."""
    run, order = load_run(store, run_id)
    return apply_amendments(run, order, versions(store, run_id))


def _record_signature(store, clock, user: User, run_id: str, meaning: str, reason: str | None,
                      releasing: Releasing | None = None) -> Signature:
    now = clock.utcnow()
    with store.writing() as conn:
        version = _current_version(conn, run_id)
        if meaning == "reviewed":
            earlier = _reviewed(conn, run_id, version)
            if earlier is not None:
                return earlier  # a review interrupted after its signature: completed under that signature
        _insert_signature(conn, user, run_id, meaning, now, reason, version)
        if releasing is not None:
            releasing(conn, run_id, version)
    return Signature(run_id, user.username, user.full_name, meaning, now, reason, version)


def _reviewed(conn, run_id: str, version: int) -> Signature | None:
    """The "reviewed" signature of ``version`` already recorded, if any: the process that recorded it stopped
    before the run was reported (its result is queued for the LIS with it, once). The run's row is locked first,
    so of two reviewers signing at once the second sees the first's signature."""
    conn.execute(sa.select(schema.runs.c.run_id).where(schema.runs.c.run_id == run_id).with_for_update())
    sg = schema.signatures
    r = conn.execute(sa.select(sg).where(sg.c.run_id == run_id, sg.c.meaning == "reviewed", sg.c.version == version)
                     .order_by(sg.c.id).limit(1)).mappings().first()
    return None if r is None else Signature(r["run_id"], r["username"], r["full_name"], r["meaning"], r["at"],
                                            r["reason"], r["version"])


def _insert_signature(conn, user: User, run_id: str, meaning: str, at: datetime, reason: str | None,
                      version: int) -> None:
    """The signature binds to the hash of what it signs (``sweattest.record.store.signed``)."""
    signed_seq, signed_hash = signed_content(conn, run_id, version)
    signature_id = conn.execute(schema.signatures.insert().values(
        run_id=run_id, username=user.username, full_name=user.full_name, meaning=meaning, at=at, reason=reason,
        version=version, signed_seq=signed_seq, signed_hash=signed_hash)).inserted_primary_key[0]
    append_audit(conn, run_id=run_id, who=user.username, what=f"sign {meaning}", at=at, why=reason,
                 new={"meaning": meaning, "full_name": user.full_name, "version": version,
                      "signed_hash": signed_hash}, rows=[range_item(conn, "signatures", signature_id, signature_id)])


def _check_reviewer(store, user: User, row: dict, signed: list[Signature], action: str) -> None:
    """Only a reviewer or admin who did not perform the run reviews it or signs a correction of it (another role
    is refused and audited)."""
    if user.role not in REVIEWER_ROLES:
        record_wrong_role(store, user, REVIEWER_ROLES, f"{action} a run", where="signing", run_id=row["run_id"])
        raise ValidationError(f"{user.username} is a {user.role}: only a reviewer or admin can {action} a run")
    performed = any(s.username == user.username and s.meaning == "performed" for s in signed)
    if user.username == row["operator"] or performed:
        what = "review their own run" if action == "review" else "sign a correction of their own run alone"
        raise ValidationError(f"a tech cannot {what}: {user.username} performed run {row['run_id']}; "
                              f"another reviewer must {'sign it' if action == 'review' else 'amend it'}")


def _check_qc(store, run_id: str) -> None:
    """Patient results cannot be final while their analytical run's QC is missing or rejected (CLSI C34;
    CLIA)."""
    blocks = release_findings(store, run_id)
    if blocks:
        raise ValidationError(f"run {run_id} cannot be final: {blocks[0].message}")


def _check_state(store, run_id: str, wanted: str, action: str) -> None:
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


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as plain JSON (quantities as value and unit; other objects as their text)."""
    return json.loads(canonical_json(to_jsonable(changes)))
