"""The durable outbox: every message leaving for the LIS is a row in the store, queued in the transaction
that records its release, and marked delivered once the LIS accepted it (AA) or the file is in the drop
folder. A message keeps its body and control ID for every attempt, so a retry is the same message.

States: ``pending`` (to be delivered; ``next_attempt_at`` says when), ``delivered`` (never sent again),
``failed`` (refused with AR: raised to QA, re-queued only by a person with ``sweattest lis resend``).
Every change is recorded in the audit trail in the same transaction, with the row as it is then (chained).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.record.store import chain, schema
from sweattest.record.store.rowhash import keyed_item


def append_audit(conn: sa.Connection, **entry: Any) -> int:
    """Every entry of the outbox names its message (``new["message"]``) and chains the message's row as it is
    now: its body and state as written, checked by ``audit verify`` (``next_attempt_at`` is operational)."""
    return chain.append_audit(conn, rows=[keyed_item(conn, "outbox", entry["new"]["message"])], **entry)


PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MLLP, FOLDER = "mllp", "folder"


@dataclass(frozen=True)
class Message:
    id: int
    run_id: str
    version: int
    format: str
    channel: str
    destination: str
    name: str
    control_id: str | None
    body: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def summary(self) -> dict[str, Any]:
        """What ``sweattest lis outbox`` shows (everything but the body)."""
        return {"id": self.id, "run_id": self.run_id, "version": self.version, "format": self.format,
                "channel": self.channel, "destination": self.destination, "control_id": self.control_id,
                "state": self.state, "attempts": self.attempts,
                "next_attempt_at": _iso(self.next_attempt_at), "last_error": self.last_error,
                "created_at": _iso(self.created_at), "delivered_at": _iso(self.delivered_at)}


def queue(conn: sa.Connection, *, run_id: str, version: int, fmt: str, channel: str, destination: str, name: str,
          control_id: str | None, body: str | None, at: datetime, who: str) -> int:
    """Queue one message inside the caller's transaction (with the release it belongs to); returns its id.
    ``body`` None: the message is rendered after the release commits (``rendered``), before it is sent."""
    new_id = conn.execute(schema.outbox.insert().values(
        run_id=run_id, version=version, format=fmt, channel=channel, destination=destination, name=name,
        control_id=control_id, body=body, state=PENDING, attempts=0, next_attempt_at=at, created_at=at,
    )).inserted_primary_key[0]
    append_audit(conn, run_id=run_id, who=who, what="outbox queue", at=at,
                 new={"message": int(new_id), "channel": channel, "destination": destination, "format": fmt,
                      "version": version, "control_id": control_id})
    return int(new_id)


def find(store, run_id: str, version: int, fmt: str, channel: str, destination: str) -> Message | None:
    ob = schema.outbox
    query = sa.select(ob).where(ob.c.run_id == run_id, ob.c.version == version, ob.c.format == fmt,
                                ob.c.channel == channel, ob.c.destination == destination)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else Message(**row)


def get(store, message_id: int) -> Message:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(schema.outbox).where(schema.outbox.c.id == message_id)).mappings().first()
    if row is None:
        raise ValidationError(f"no message {message_id} in the outbox; `sweattest lis outbox` lists them")
    return Message(**row)


def messages(store, *, state: str | None = None, channel: str | None = None) -> list[Message]:
    """The outbox, oldest first."""
    ob = schema.outbox
    query = sa.select(ob).order_by(ob.c.id)
    if state is not None:
        query = query.where(ob.c.state == state)
    if channel is not None:
        query = query.where(ob.c.channel == channel)
    with store.engine.connect() as conn:
        return [Message(**r) for r in conn.execute(query).mappings()]


def next_to_send(store, channel: str = MLLP, destination: str | None = None) -> Message | None:
    """The oldest pending message whose text is written: messages leave in the order they were released (a
    later result or a correction never overtakes an earlier one)."""
    ob = schema.outbox
    query = (sa.select(ob).where(ob.c.channel == channel, ob.c.state == PENDING, ob.c.body.is_not(None))
             .order_by(ob.c.id).limit(1))
    if destination is not None:
        query = query.where(ob.c.destination == destination)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else Message(**row)


def claim(store, message_id: int, now: datetime, until: datetime, horizon: datetime | None = None) -> bool:
    """Take the message for one attempt (until ``until``), if it is due and no other sender took it: one
    conditional UPDATE, so of two stations sending from one database only one sends it. A next attempt later
    than ``horizon`` (further ahead than any a sender sets) counts as due."""
    ob = schema.outbox
    due = [ob.c.next_attempt_at.is_(None), ob.c.next_attempt_at <= now]
    if horizon is not None:
        due.append(ob.c.next_attempt_at > horizon)
    with store.writing() as conn:
        taken = conn.execute(ob.update().where(ob.c.id == message_id, ob.c.state == PENDING, sa.or_(*due))
                             .values(next_attempt_at=until)).rowcount
    return taken == 1


def unrendered(store) -> list[Message]:
    """Pending messages queued with their release whose text is not written yet, oldest first."""
    ob = schema.outbox
    query = sa.select(ob).where(ob.c.body.is_(None), ob.c.state == PENDING).order_by(ob.c.id)
    with store.engine.connect() as conn:
        return [Message(**r) for r in conn.execute(query).mappings()]


def rendered(store, message_id: int, at: datetime, *, body: str, control_id: str | None) -> None:
    """Fix the message's text and control ID, once: every attempt sends these bytes."""
    ob = schema.outbox
    with store.writing() as conn:
        done = conn.execute(ob.update().where(ob.c.id == message_id, ob.c.body.is_(None))
                            .values(body=body, control_id=control_id)).rowcount
        if done:
            append_audit(conn, run_id=_run_of(conn, message_id), who="system", what="outbox message", at=at,
                         new={"message": message_id, "control_id": control_id,
                              "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()})


def delivered(store, message_id: int, at: datetime, *, who: str = "system", note: str | None = None) -> None:
    """The LIS accepted the message (AA), or its file is in the drop folder: it is never sent again."""
    _change(store, message_id, at, who, "outbox delivered", note,
            state=DELIVERED, delivered_at=at, next_attempt_at=None, last_error=None)


def retry_later(store, message_id: int, at: datetime, error: str, next_at: datetime) -> None:
    """An attempt failed (no answer in time, connection lost or refused, AE): try again at ``next_at``."""
    ob = schema.outbox
    with store.writing() as conn:
        attempts = conn.execute(sa.select(ob.c.attempts).where(ob.c.id == message_id)).scalar_one() + 1
        conn.execute(ob.update().where(ob.c.id == message_id, ob.c.state == PENDING)
                     .values(attempts=attempts, next_attempt_at=next_at, last_error=error))
        append_audit(conn, run_id=_run_of(conn, message_id), who="system", what="outbox retry", at=at, why=error,
                     new={"message": message_id, "attempts": attempts, "next_attempt_at": _iso(next_at)})


def failed(store, message_id: int, at: datetime, error: str) -> None:
    """The LIS refused the message (AR): not sent again until a person re-queues it; shown to QA."""
    ob = schema.outbox
    with store.writing() as conn:
        conn.execute(ob.update().where(ob.c.id == message_id)
                     .values(state=FAILED, attempts=ob.c.attempts + 1, next_attempt_at=None, last_error=error))
        append_audit(conn, run_id=_run_of(conn, message_id), who="system", what="outbox failed", at=at,
                     why=error, new={"message": message_id})


def resend(store, message_id: int, at: datetime, who: str) -> Message:
    """Re-queue a failed or delivered message: the same body and control ID, sent again now."""
    message = get(store, message_id)
    if message.body is None:
        raise ValidationError(f"message {message_id} was never written ({message.last_error or 'not rendered'}); "
                              "it cannot be sent")
    if message.state == PENDING:
        raise ValidationError(f"message {message_id} is already waiting to be sent (attempt {message.attempts + 1} "
                              f"at {_iso(message.next_attempt_at)})")
    _change(store, message_id, at, who, "outbox resend", None,
            state=PENDING, attempts=0, next_attempt_at=at, delivered_at=None)
    return get(store, message_id)


def _change(store, message_id: int, at: datetime, who: str, what: str, why: str | None, **values: Any) -> None:
    ob = schema.outbox
    with store.writing() as conn:
        conn.execute(ob.update().where(ob.c.id == message_id).values(**values))
        append_audit(conn, run_id=_run_of(conn, message_id), who=who, what=what, at=at, why=why,
                     new={"message": message_id, "state": values["state"]})


def _run_of(conn: sa.Connection, message_id: int) -> str:
    return conn.execute(sa.select(schema.outbox.c.run_id).where(schema.outbox.c.id == message_id)).scalar_one()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
