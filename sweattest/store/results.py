"""Final results and their versions: version 1 is the final result; an amendment adds a version.

A released result is never overwritten: ``result_versions`` keeps every version with who, when and
why; ``runs`` carries the current version number, status and QNS flag for QA.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.errors import StoreError, ValidationError
from sweattest.store.auditlog import append_audit
from sweattest.store.schema import result_versions, runs
from sweattest.store.values import check_plain_json, check_time

FINAL, CORRECTED = "final", "corrected"


def check_result(result: Any, run_id: str) -> dict[str, Any]:
    """A result is a plain-JSON dict with a boolean ``qns`` (True when the test is QNS on every site)."""
    if not isinstance(result, dict) or not isinstance(result.get("qns"), bool):
        raise ValidationError(f"the result of run {run_id} must be a mapping with qns true or false; "
                              "nothing was stored")
    return check_plain_json(result, "result")


def latest_version(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    query = (sa.select(result_versions).where(result_versions.c.run_id == run_id)
             .order_by(result_versions.c.version.desc()).limit(1))
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def add_version(conn: sa.Connection, run_id: str, result: dict[str, Any], *, who: str, at: datetime,
                reason: str | None) -> int:
    """Store the next version (1 = final, later = corrected) inside the caller's transaction."""
    check_time(at, "at")
    check_result(result, run_id)
    if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is None:
        raise StoreError(f"no run {run_id!r} in the store; nothing was stored")
    previous = latest_version(conn, run_id)
    version = 1 if previous is None else previous["version"] + 1
    status = FINAL if previous is None else CORRECTED
    conn.execute(result_versions.insert().values(run_id=run_id, version=version, status=status, at=at,
                                                 who=who, reason=reason, result=result))
    conn.execute(runs.update().where(runs.c.run_id == run_id).values(
        qns=result["qns"], result_status=status, result_version=version, updated_at=at))
    append_audit(conn, who=who, what="result final" if previous is None else "result corrected", at=at,
                 run_id=run_id, why=reason, old=None if previous is None else previous["result"],
                 new=result | {"version": version})
    return version


def versions(conn: sa.Connection, run_id: str) -> list[dict[str, Any]]:
    query = sa.select(result_versions).where(result_versions.c.run_id == run_id).order_by(
        result_versions.c.version)
    return [dict(r) for r in conn.execute(query).mappings()]
