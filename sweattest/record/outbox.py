"""The durable outbox: every message leaving for the LIS is a row in the store, queued in the transaction
that records its release, and marked delivered once the LIS accepted it (AA) or the file is in the drop
folder. A message keeps its body and control ID for every attempt, so a retry is the same message.

States: ``pending`` (to be delivered; ``next_attempt_at`` says when), ``delivered`` (never sent again),
``failed`` (refused with AR, or answered AE as many times as the lab allows: shown as "failed: needs
attention" to QA, re-queued only by an authenticated person with ``sweattest lis resend``), ``superseded`` (a
later version of the same result was accepted, or was released before this one was written: this one is
never sent). Every change of state goes through ``_transition``, which records it in the audit trail in the
same transaction, with the row as it is then (chained).

Order: the messages of one accession leave in the order they were queued (a correction never overtakes its
original; a later version is never followed by an earlier one), while a message waiting for its retry holds
back only its own accession's, never the other orders' results (``next_to_send``).
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


PENDING, DELIVERED, FAILED, SUPERSEDED = "pending", "delivered", "failed", "superseded"
STATES = (PENDING, DELIVERED, FAILED, SUPERSEDED)
#: how a failed message is shown (``sweattest lis outbox``, the QA desk, ``sweattest serve``)
NEEDS_ATTENTION = "failed: needs attention"
MLLP, FOLDER = "mllp", "folder"
#: the destination of an MLLP message: the LIS the sending process is configured for (``[lis] send_to``)
LIS = "lis"
#: formats of MLLP messages: a result (ORU^R01) and an order status (OML^O21 from the filler, IHE LTW)
RESULT, ORDER_STATUS = "hl7", "oml"


@dataclass(frozen=True)
class Message:
    id: int
    run_id: str | None
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
    accession: str | None = None
    ae_count: int = 0

    @property
    def shown_state(self) -> str:
        return NEEDS_ATTENTION if self.state == FAILED else self.state

    def summary(self) -> dict[str, Any]:
        """What ``sweattest lis outbox`` shows (everything but the body)."""
        return {"id": self.id, "run_id": self.run_id, "accession": self.accession, "version": self.version,
                "format": self.format, "channel": self.channel, "destination": self.destination,
                "control_id": self.control_id, "state": self.state, "shown_state": self.shown_state,
                "attempts": self.attempts, "ae_count": self.ae_count,
                "next_attempt_at": _iso(self.next_attempt_at), "last_error": self.last_error,
                "created_at": _iso(self.created_at), "delivered_at": _iso(self.delivered_at)}


def queue(conn: sa.Connection, *, run_id: str | None, version: int, fmt: str, channel: str, destination: str,
          name: str, control_id: str | None, body: str | None, at: datetime, who: str,
          accession: str | None = None) -> int:
    """Queue one message inside the caller's transaction (with the release it belongs to); returns its id.
    ``body`` None: the message is rendered after the release commits (``rendered``), before it is sent.
    ``accession``: the order the message belongs to (default: the run's)."""
    if accession is None and run_id is not None:
        accession = conn.execute(sa.select(schema.runs.c.accession)
                                 .where(schema.runs.c.run_id == run_id)).scalar()
    new_id = conn.execute(schema.outbox.insert().values(
        run_id=run_id, accession=accession, version=version, format=fmt, channel=channel, destination=destination,
        name=name, control_id=control_id, body=body, state=PENDING, attempts=0, ae_count=0, next_attempt_at=at,
        created_at=at,
    )).inserted_primary_key[0]
    append_audit(conn, run_id=run_id, who=who, what="outbox queue", at=at,
                 new={"message": int(new_id), "channel": channel, "destination": destination, "format": fmt,
                      "version": version, "accession": accession, "control_id": control_id})
    return int(new_id)


def queue_export(store, *, run_id: str, version: int, fmt: str, destination: str, name: str,
                 control_id: str | None, body: str, at: datetime, who: str, export: dict[str, Any]) -> int:
    """Queue a result file for the drop folder ``destination`` and record the export (``export``: what the audit
    entry "export <fmt>" says of it), in one transaction; returns the message's id."""
    with store.writing() as conn:
        message_id = queue(conn, run_id=run_id, version=version, fmt=fmt, channel=FOLDER, destination=destination,
                           name=name, control_id=control_id, body=body, at=at, who=who)
        chain.append_audit(conn, run_id=run_id, who=who, what=f"export {fmt}", at=at, new=export)
    return message_id


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


def needing_attention(store) -> list[Message]:
    """The failed messages: refused by the LIS, or answered AE as often as the lab allows."""
    return messages(store, state=FAILED)


def next_to_send(store, channel: str = MLLP, destinations: tuple[str, ...] | None = None,
                 now: datetime | None = None) -> Message | None:
    """The message to try next: of each accession only its oldest pending message may go (order is kept per
    accession), and of those the oldest that is due at ``now`` (or, when none is due, the one due first). An
    accession whose oldest message is not written yet waits for it. ``destinations``: the MLLP destinations
    this sender serves (``LIS`` and its own address)."""
    ob = schema.outbox
    written = ob.c.body.is_not(None).label("written")
    query = (sa.select(ob.c.id, ob.c.run_id, ob.c.accession, ob.c.next_attempt_at, written)
             .where(ob.c.channel == channel, ob.c.state == PENDING).order_by(ob.c.id))
    if destinations is not None:
        query = query.where(ob.c.destination.in_(destinations))
    heads: dict[str, Any] = {}
    with store.engine.connect() as conn:  # the queue's keys only; the chosen message is read whole
        for row in conn.execute(query):
            heads.setdefault(_order_key(row.accession, row.run_id, row.id), row)
    ready = [r for r in heads.values() if r.written]
    due = [r for r in ready if now is None or r.next_attempt_at is None or r.next_attempt_at <= now]
    chosen = min(due, key=lambda r: r.id, default=None) if due else \
        min(ready, key=lambda r: (r.next_attempt_at, r.id), default=None)
    return None if chosen is None else get(store, chosen.id)


def newer_version(store, message: Message, *, accepted_only: bool = False) -> Message | None:
    """The latest later version of the same result queued on the same channel (``accepted_only``: delivered),
    or None. An order status message has no versions."""
    if message.run_id is None or message.format != RESULT:
        return None
    ob = schema.outbox
    query = (sa.select(ob).where(ob.c.run_id == message.run_id, ob.c.format == message.format,
                                 ob.c.channel == message.channel, ob.c.version > message.version)
             .order_by(ob.c.version.desc(), ob.c.id.desc()).limit(1))
    if accepted_only:
        query = query.where(ob.c.state == DELIVERED)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else Message(**row)


def told_cancelled(store, message: Message) -> Message | None:
    """For a result: the order status message (the laboratory closed the run's order) queued before it, by queue
    order, never by clock; None when the result was released before the close (a QNS result, then its close)."""
    if message.run_id is None or message.format != RESULT:
        return None
    ob = schema.outbox
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(ob).where(ob.c.run_id == message.run_id, ob.c.format == ORDER_STATUS,
                                               ob.c.id < message.id).order_by(ob.c.id).limit(1)).mappings().first()
    return None if row is None else Message(**row)


def claim(store, message_id: int, now: datetime, until: datetime, horizon: datetime | None = None) -> bool:
    """Take the message for one attempt (until ``until``), if it is due and no other sender took it: one
    conditional UPDATE, so of two stations sending from one database only one sends it. (Not a change of
    state: the message stays pending.) A next attempt later than ``horizon`` (further ahead than any a sender
    sets) counts as due."""
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
    _transition(store, message_id, at, who, "outbox delivered", note, only_from=(PENDING,),
                state=DELIVERED, delivered_at=at, next_attempt_at=None, last_error=None)


def retry_later(store, message_id: int, at: datetime, error: str, next_at: datetime, *, ae: bool = False) -> None:
    """An attempt failed (no answer in time, connection lost or refused, AE): try again at ``next_at``."""
    _transition(store, message_id, at, "system", "outbox retry", error, counted=True, ae=ae, only_from=(PENDING,),
                state=PENDING, next_attempt_at=next_at, last_error=error)


def failed(store, message_id: int, at: datetime, error: str, *, ae: bool = False, unwritten: bool = False) -> None:
    """The LIS refused the message (AR), or answered AE as often as the lab allows: not sent again until a
    person re-queues it; shown to QA as needing attention. ``unwritten``: only if its text is not written yet
    (it could not be written; another process may have written it meanwhile)."""
    _transition(store, message_id, at, "system", "outbox failed", error, counted=True, ae=ae, only_from=(PENDING,),
                unwritten=unwritten, state=FAILED, next_attempt_at=None, last_error=error)


def superseded(store, message_id: int, at: datetime, why: str, *, unwritten: bool = False) -> None:
    """A later version of the same result went out (or was released before this one was written: ``unwritten``,
    only if its text is still not written, by this process or another): this one is never sent. A message no
    longer pending (delivered by then) is left as it is."""
    _transition(store, message_id, at, "system", "outbox superseded", why, only_from=(PENDING,), unwritten=unwritten,
                state=SUPERSEDED, next_attempt_at=None, last_error=why)


def resend(store, message_id: int, at: datetime, who: str) -> Message:
    """Re-queue a failed or delivered message: the same body and control ID, sent again now (a message that
    could not be written is written again first). Refused for a version of a result that a later version
    supersedes (the LIS must never file the older value last)."""
    message = get(store, message_id)
    if message.state == PENDING:
        raise ValidationError(f"message {message_id} is already waiting to be sent (attempt {message.attempts + 1} "
                              f"at {_iso(message.next_attempt_at)})")
    newer = newer_version(store, message)
    if newer is not None:
        raise ValidationError(f"message {message_id} is version {message.version} of run {message.run_id}'s result, "
                              f"superseded by version {newer.version} (message {newer.id}, {newer.shown_state}): "
                              f"the LIS must never receive the older value after the newer; resend message "
                              f"{newer.id} instead")
    told = told_cancelled(store, message)
    if told is not None:
        raise ValidationError(f"message {message_id} is a result released after the laboratory closed its order "
                              f"(order status message {told.id} told the LIS it is cancelled): it is never sent on "
                              "its own; agree with the LIS how to report it")
    _transition(store, message_id, at, who, "outbox resend", None,
                state=PENDING, attempts=0, ae_count=0, next_attempt_at=at, delivered_at=None)
    return get(store, message_id)


def _transition(store, message_id: int, at: datetime, who: str, what: str, why: str | None, *,
                counted: bool = False, ae: bool = False, only_from: tuple[str, ...] | None = None,
                unwritten: bool = False, **values: Any) -> None:
    """The one place a message changes state: the row updated and the change audited in one transaction.
    ``counted``: the change ends an attempt (``attempts`` + 1, and ``ae_count`` + 1 for an AE answer);
    ``only_from``: the change applies only to a message in one of these states; ``unwritten``: only to a
    message whose text is not written yet."""
    ob = schema.outbox
    with store.writing() as conn:
        row = conn.execute(sa.select(ob.c.run_id, ob.c.state, ob.c.attempts, ob.c.ae_count, ob.c.body.is_(None))
                           .where(ob.c.id == message_id).with_for_update()).first()
        if row is None or (only_from is not None and row.state not in only_from) or (unwritten and not row[4]):
            return
        if counted:
            values |= {"attempts": row.attempts + 1, "ae_count": row.ae_count + (1 if ae else 0)}
        conn.execute(ob.update().where(ob.c.id == message_id).values(**values))
        change = {"message": message_id, "state": values["state"]}
        change |= {k: values[k] for k in ("attempts", "ae_count") if k in values}
        if values.get("next_attempt_at") is not None and values["state"] == PENDING:
            change["next_attempt_at"] = _iso(values["next_attempt_at"])
        append_audit(conn, run_id=row.run_id, who=who, what=what, at=at, why=why, old={"state": row.state},
                     new=change)


def _order_key(accession: str | None, run_id: str | None, message_id: int) -> str:
    """Messages with the same key leave in order: those of one accession (else of one run)."""
    if accession:
        return f"accession:{accession}"
    return f"run:{run_id}" if run_id else f"message:{message_id}"


def _run_of(conn: sa.Connection, message_id: int) -> str | None:
    return conn.execute(sa.select(schema.outbox.c.run_id).where(schema.outbox.c.id == message_id)).scalar_one()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
