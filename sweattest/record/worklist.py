"""The worklist in the store: orders received from the LIS, waiting for their test (docs/lis.md), and the LIS
messages answered (``lis_messages``: a message sent again gets its first answer).

``sweattest.lis.worklist`` and ``sweattest.lis.adt`` decide what a message does and write it here, inside one
transaction per message (``lock_worklist`` first); the run service takes an order off the worklist in the
transaction that creates the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import keyed_item, range_item

OPEN, STARTED, CANCELLED = "open", "started", "cancelled"
#: who the audit trail names for what the LIS did
LIS_ACTOR = "lis"


@dataclass(frozen=True)
class WorklistOrder:
    id: int
    placer: str
    filler: str | None
    mrn: str
    test_code: str
    state: str
    order: dict[str, Any]
    control_id: str
    received_at: datetime
    run_id: str | None
    closed_reason: dict[str, Any] | None = None  # why the laboratory closed it (``close_order``)

    @property
    def accession(self) -> str:
        return self.placer

    @property
    def closed_at(self) -> datetime | None:
        """When the laboratory closed the order (None: not closed by the laboratory, or no time kept)."""
        at = (self.closed_reason or {}).get("at")
        return datetime.fromisoformat(at) if at else None

    def summary(self) -> dict[str, Any]:
        p = self.order["patient"]
        return {"accession": self.placer, "filler": self.filler, "mrn": self.mrn, "family": p["family"],
                "given": p["given"], "dob": p["dob"], "sex": p["sex"], "provider": self.order["provider"]["name"],
                "test": self.test_code, "state": self.state, "received_at": self.received_at.isoformat(),
                "run_id": self.run_id, "comments": list(self.order.get("comments") or []),
                "updates": list(self.order.get("updates") or []), "notes": self.notes(),
                "cftr_modulator": self.order.get("modulator")}

    def notes(self) -> str:
        """One line: the patient updates from ADT (A08 updated, A40 merged from MRN) and the order's comment."""
        words = []
        for update in self.order.get("updates") or []:
            when = update["at"][:16].replace("T", " ")
            if update.get("merged"):
                words.append(f"A40 merged from MRN {update['merged']} {when}")
            else:
                changed = ", ".join(update.get("changes") or {}) or "no change"
                words.append(f"A08 updated ({changed}) {when}")
        modulator = self.order.get("modulator")
        if modulator:
            since = f"since {modulator['start']}" if modulator.get("start") else "start date not sent: ask at the bench"
            words.append(f"CFTR modulator {modulator['name']} ({since}; {modulator['from']}): monitoring value")
        comments = " / ".join(c.replace("\n", " ") for c in self.order.get("comments") or [])
        if comments:
            words.append(f"comment: {comments}")
        return "; ".join(words)


#: PostgreSQL advisory lock key held by each transaction that places, cancels or updates (ADT) LIS orders, so two
#: messages for one accession received at once (two connections, two stations) are taken one after the other.
WORKLIST_LOCK = 0x5EA7_0126


def lock_worklist(conn: sa.Connection) -> None:
    """Inside a transaction that places, cancels or updates orders: wait for any other such transaction to commit
    (PostgreSQL; SQLite's writers are serialized by BEGIN IMMEDIATE already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WORKLIST_LOCK})


def open_orders(store) -> list[WorklistOrder]:
    """The orders waiting for their test, oldest first."""
    lo = schema.lis_orders
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(lo).where(lo.c.state == OPEN).order_by(lo.c.id)).mappings().all()
    return [_order(r) for r in rows]


def find(store, accession: str) -> WorklistOrder | None:
    """The latest order of ``accession`` (an accession cancelled may have been ordered again)."""
    lo = schema.lis_orders
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(lo).where(lo.c.placer == accession).order_by(lo.c.id.desc())).mappings().first()
    return None if row is None else _order(row)


def closed_by_laboratory(store, accession: str, at: datetime) -> WorklistOrder | None:
    """The order of ``accession`` the laboratory closed at ``at`` (or, for a message of an older installation,
    the latest it closed by then): the one its order status message tells of, even once the accession was
    ordered again."""
    lo = schema.lis_orders
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(lo).where(lo.c.placer == accession, lo.c.closed_reason.is_not(None))
                            .order_by(lo.c.id.desc())).mappings().all()
    closed = [(datetime.fromisoformat(r["closed_reason"]["at"]), r) for r in rows
              if isinstance(r["closed_reason"], dict) and r["closed_reason"].get("at")]
    exact = [r for when, r in closed if when == at]
    earlier = [r for when, r in closed if when <= at]
    row = (exact or earlier or [None])[0]
    return None if row is None else _order(row)


def open_order(store, accession: str) -> WorklistOrder:
    """The open order of ``accession``, or a ValidationError that says why there is none."""
    order = find(store, accession)
    if order is None:
        raise ValidationError(f"accession {accession!r} is not on the worklist; check the label, or use the "
                              "order file when the LIS has not sent the order")
    if order.state != OPEN:
        detail = f" (run {order.run_id})" if order.run_id else ""
        raise ValidationError(f"order {accession} is {order.state}{detail}; it cannot be run again")
    return order


def listed_order(store, order) -> WorklistOrder | None:
    """The LIS order a run of ``order`` (a bench Order) performs, if its accession is on the worklist. An
    order that is no longer open, or whose patient is not the one being tested, stops the run before it
    exists."""
    found = find(store, order.accession)
    if found is None:
        return None
    if found.state != OPEN:
        detail = f" (run {found.run_id})" if found.run_id else ""
        raise ValidationError(f"order {order.accession} is {found.state} on the worklist{detail}; it is not run again")
    patient = found.order["patient"]
    if patient["mrn"] != order.patient.mrn or patient["dob"] != order.patient.dob.isoformat():
        raise ValidationError(f"order {order.accession}: the patient (MRN, date of birth) is not the one the LIS "
                              "ordered the test for: do NOT test; check the request form")
    return found


def earlier_answer(conn: sa.Connection, sender: str, control_id: str) -> tuple[str, str] | None:
    """(answer, SHA-256 of the message) already given to ``sender``'s message ``control_id``; None: none yet."""
    lm = schema.lis_messages
    earlier = conn.execute(sa.select(lm.c.ack, lm.c.sha256)
                           .where(lm.c.sender == sender, lm.c.control_id == control_id)).first()
    return None if earlier is None else (earlier.ack, earlier.sha256)


def add_message(conn: sa.Connection, *, sender: str, control_id: str, kind: str, sha256: str, ack_code: str,
                ack: str, at: datetime) -> list:
    """Keep a message's answer (the same message again gets it); returns the chain item of its row, for the
    audit entry that records what the message did."""
    message_id = conn.execute(schema.lis_messages.insert().values(
        sender=sender, control_id=control_id, kind=kind, sha256=sha256, ack_code=ack_code, ack=ack,
        received_at=at)).inserted_primary_key[0]
    return range_item(conn, "lis_messages", message_id, message_id)


def placed_state(conn: sa.Connection, placer: str) -> str | None:
    """The state of ``placer``'s order on the worklist that is not cancelled; None: there is none."""
    lo = schema.lis_orders
    return conn.execute(sa.select(lo.c.state).where(lo.c.placer == placer, lo.c.state != CANCELLED)).scalar()


def place(conn: sa.Connection, row: dict[str, Any], *, at: datetime, audit: dict[str, Any]) -> int:
    """Put an order on the worklist (``row``: placer, filler, mrn, test_code, order_json, control_id), open,
    audited as "lis order" with ``audit``; returns its id."""
    lo = schema.lis_orders
    order_id = conn.execute(lo.insert().values(**row, state=OPEN, received_at=at)).inserted_primary_key[0]
    append_audit(conn, who=LIS_ACTOR, what="lis order", at=at, new=audit, rows=[order_item(conn, order_id)])
    return int(order_id)


def latest(conn: sa.Connection, placer: str) -> WorklistOrder | None:
    """The latest order of ``placer`` in the caller's transaction."""
    lo = schema.lis_orders
    row = conn.execute(sa.select(lo).where(lo.c.placer == placer).order_by(lo.c.id.desc())).mappings().first()
    return None if row is None else _order(row)


def cancel_open(conn: sa.Connection, order: WorklistOrder) -> WorklistOrder:
    """Cancel ``order`` if it is still open; returns it as it was read (cancelled now), or as it is now when it
    was no longer open (a run started it since it was read)."""
    lo = schema.lis_orders
    done = conn.execute(lo.update().where(lo.c.id == order.id, lo.c.state == OPEN).values(state=CANCELLED)).rowcount
    if done == 1:
        return order
    row = conn.execute(sa.select(lo).where(lo.c.id == order.id)).mappings().one()
    return _order(row)


def record_cancel(conn: sa.Connection, order_id: int, *, old_state: str, at: datetime,
                  audit: dict[str, Any]) -> None:
    """The audit entry "lis cancel" of a cancel the LIS sent, with the order as it is now."""
    append_audit(conn, who=LIS_ACTOR, what="lis cancel", at=at, old={"state": old_state}, new=audit,
                 rows=[order_item(conn, order_id)])


def patient_orders(conn: sa.Connection, mrn: str) -> list[WorklistOrder]:
    """The open orders of the patient ``mrn``, oldest first, in the caller's transaction."""
    lo = schema.lis_orders
    rows = conn.execute(sa.select(lo).where(lo.c.mrn == mrn, lo.c.state == OPEN).order_by(lo.c.id)).mappings()
    return [_order(r) for r in rows]


def set_patient(conn: sa.Connection, order_id: int, order: dict[str, Any], mrn: str) -> None:
    """An open order's stored order (with its patient changed by ADT) and MRN."""
    lo = schema.lis_orders
    conn.execute(lo.update().where(lo.c.id == order_id).values(order_json=order, mrn=mrn))


def record_lis(conn: sa.Connection, what: str, *, at: datetime, new: dict[str, Any], order_ids: list[int],
               message: list | None = None) -> None:
    """An audit entry of what the LIS did (``what``), with the orders it changed as they are now and, when given,
    the chain item of its message (``add_message``)."""
    append_audit(conn, who=LIS_ACTOR, what=what, at=at, new=new,
                 rows=[*(order_item(conn, order_id) for order_id in order_ids), *([message] if message else [])])


def ordered_by_lis(conn: sa.Connection, run_id: str) -> bool:
    """Whether the run performs an order of the LIS (its result is owed to the LIS, whoever releases it)."""
    lo = schema.lis_orders
    return conn.execute(sa.select(lo.c.id).where(lo.c.run_id == run_id).limit(1)).first() is not None


def mark_started(conn: sa.Connection, accession: str, run_id: str, at: datetime, who: str) -> None:
    """Inside the transaction that creates the run: the order leaves the worklist (a cancel is refused from
    now on)."""
    lo = schema.lis_orders
    order_id = conn.execute(sa.select(lo.c.id).where(lo.c.placer == accession, lo.c.state == OPEN)).scalar()
    done = 0 if order_id is None else conn.execute(lo.update().where(lo.c.id == order_id, lo.c.state == OPEN)
                                                   .values(state=STARTED, run_id=run_id)).rowcount
    if done != 1:
        raise ValidationError(f"order {accession} is no longer open on the worklist (cancelled or started)")
    append_audit(conn, run_id=run_id, who=who, what="lis order started", at=at, old={"state": OPEN},
                 new={"accession": accession, "state": STARTED}, rows=[order_item(conn, order_id)])


def order_item(conn: sa.Connection, order_id: int) -> list:
    """The chain item of the worklist's order ``order_id`` as it is now."""
    return keyed_item(conn, "lis_orders", order_id)


def close_order(conn: sa.Connection, accession: str, reason: dict[str, Any], *, states: tuple[str, ...], who: str,
                at: datetime) -> WorklistOrder:
    """Inside the caller's transaction (with the order status message that tells the LIS): the laboratory
    closes the order (cancelled, with ``reason``: code, text, note), if it is in one of ``states``."""
    lo = schema.lis_orders
    # the latest order of the accession (a cancelled accession may have been ordered again)
    row = conn.execute(sa.select(lo).where(lo.c.placer == accession).order_by(lo.c.id.desc())).mappings().first()
    if row is None:
        raise ValidationError(f"accession {accession!r} is not an order of the LIS; `sweattest worklist` lists them")
    if row["state"] not in states:
        detail = f" (run {row['run_id']})" if row["run_id"] else ""
        raise ValidationError(f"order {accession} is {row['state']}{detail}; it can be closed only when "
                              f"{' or '.join(states)}")
    reason = reason | {"who": who, "at": at.isoformat()}
    conn.execute(lo.update().where(lo.c.id == row["id"], lo.c.state == row["state"])
                 .values(state=CANCELLED, closed_reason=reason))
    append_audit(conn, run_id=row["run_id"], who=who, what="lis order closed by the laboratory", at=at,
                 why=reason.get("note") or reason["text"], old={"state": row["state"]},
                 new={"accession": accession, "state": CANCELLED, "reason": reason["code"]},
                 rows=[order_item(conn, row["id"])])
    return _order(dict(row) | {"state": CANCELLED, "closed_reason": reason})


def _order(row) -> WorklistOrder:
    return WorklistOrder(id=row["id"], placer=row["placer"], filler=row["filler"], mrn=row["mrn"],
                         test_code=row["test_code"], state=row["state"], order=row["order_json"],
                         control_id=row["control_id"], received_at=row["received_at"], run_id=row["run_id"],
                         closed_reason=row.get("closed_reason"))
