"""The worklist: orders received from the LIS, waiting for their test.

``receive`` takes one order message (from the MLLP listener or the order folder) and returns the
acknowledgement to send back. An accepted new order is stored with its placer and filler numbers, the
patient's identifiers and the ordering provider; a cancel removes an order whose test has not started and
is refused once it has. The message is recorded once per sender and control ID (MSH-10): the same message
again gets the first acknowledgement and changes nothing; another message with a control ID already used
is refused (AE). Each write is audited in its transaction.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.lis_config import LisConfig
from sweattest.lis.ack import APPLICATION_INTERNAL_ERROR, DUPLICATE_KEY, UNKNOWN_KEY, Problem, build_ack, header
from sweattest.lis.orders import LisOrder, Rejected, parse_order_message
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item
from sweattest.record.worklist import CANCELLED, LIS_ACTOR, OPEN, STARTED, WorklistOrder, find, order_item


def receive(store, clock: Clock, text: str, config: LabConfig) -> str:
    """Process one order message; returns the ACK (AA, AE or AR with ERR)."""
    now = clock.utcnow()
    hl7 = config.hl7

    def ack(code: str, problem: Problem | None = None) -> str:
        return build_ack(text, code, problem, application=hl7.sending_application, facility=hl7.sending_facility,
                         at=now)

    msh = header(text)
    sender, control_id = ("^".join(msh[3:5]), msh[10]) if len(msh) > 10 else ("", "")
    digest = hashlib.sha256("\r".join(s for s in re.split(r"\r\n|\r|\n", text) if s).encode("utf-8")).hexdigest()
    if control_id:
        earlier = _earlier(store, sender, control_id)
        if earlier is not None and earlier.sha256 == digest:
            return earlier.ack  # the same message again: the same answer, nothing changes
        if earlier is not None:
            return ack("AE", Problem(DUPLICATE_KEY, f"message control ID {control_id} was already used for another "
                                     "message; give each message its own MSH-10", ("MSH", 10)))
    try:
        order = parse_order_message(text, config.lis)
    except Rejected as exc:
        return ack(exc.code, exc.problem)
    try:
        with store.writing() as conn:
            if order.action == "new":
                _place(conn, order, now)
            else:
                _cancel(conn, order, now)
            answer = ack("AA")
            message_id = conn.execute(schema.lis_messages.insert().values(
                sender=sender, control_id=control_id, kind=order.message_type, sha256=digest, ack_code="AA",
                ack=answer, received_at=now)).inserted_primary_key[0]
            append_audit(conn, who=LIS_ACTOR, what="lis message", at=now,
                         new={"sender": sender, "control_id": control_id, "kind": order.message_type, "ack": "AA"},
                         rows=[range_item(conn, "lis_messages", message_id, message_id)])
    except Rejected as exc:
        return ack(exc.code, exc.problem)
    return answer


def _earlier(store, sender: str, control_id: str):
    lm = schema.lis_messages
    with store.engine.connect() as conn:
        return conn.execute(sa.select(lm.c.ack, lm.c.sha256)
                            .where(lm.c.sender == sender, lm.c.control_id == control_id)).first()


def _place(conn: sa.Connection, order: LisOrder, now: datetime) -> None:
    lo = schema.lis_orders
    existing = conn.execute(sa.select(lo.c.state).where(lo.c.placer == order.placer)).scalar()
    if existing is not None:
        raise Rejected("AE", Problem(DUPLICATE_KEY, f"order {order.placer} is already on the worklist ({existing}); "
                                     "send a cancel first to replace it", ("ORC", 2)))
    conn.execute(lo.insert().values(placer=order.placer, filler=order.filler, mrn=order.patient["mrn"],
                                    test_code=order.test_code, state=OPEN, order_json=order.as_dict(),
                                    control_id=order.control_id, received_at=now))
    append_audit(conn, who=LIS_ACTOR, what="lis order", at=now,
                 new={"accession": order.placer, "filler": order.filler, "mrn": order.patient["mrn"],
                      "provider": order.provider, "test": order.test_code, "control_id": order.control_id},
                 rows=[order_item(conn, order.placer)])


def _cancel(conn: sa.Connection, order: LisOrder, now: datetime) -> None:
    lo = schema.lis_orders
    row = conn.execute(sa.select(lo.c.state, lo.c.run_id).where(lo.c.placer == order.placer)).first()
    if row is None:
        raise Rejected("AE", Problem(UNKNOWN_KEY, f"order {order.placer} is not on the worklist", ("ORC", 2)))
    if row.state == STARTED:
        raise Rejected("AE", Problem(APPLICATION_INTERNAL_ERROR, f"order {order.placer} cannot be cancelled: its "
                                     f"test has started (run {row.run_id}); call the laboratory", ("ORC", 1)))
    if row.state == OPEN:
        conn.execute(lo.update().where(lo.c.placer == order.placer).values(state=CANCELLED))
    append_audit(conn, who=LIS_ACTOR, what="lis cancel", at=now, old={"state": row.state},
                 new={"accession": order.placer, "state": CANCELLED, "control_id": order.control_id},
                 rows=[order_item(conn, order.placer)])


def bench_order(order: WorklistOrder, lis: LisConfig) -> dict[str, Any]:
    """The order as the bench prepares it (docs/formats.md), from what the LIS sent: the lab's method and
    sites for the test; the operator and the pilocarpine lot are added at the bench (the lot here is a
    placeholder that has expired, so a run can never start without scanning the real one)."""
    p = order.order["patient"]
    return {"accession": order.placer,
            "patient": {"mrn": p["mrn"], "family": p["family"], "given": p["given"], "dob": p["dob"],
                        "sex": p["sex"]},
            "ordering_provider": order.order["provider"]["name"] or "(not given by the LIS)",
            "method": lis.method, "sites": list(lis.sites),
            "pilocarpine_lot": {"lot": "not scanned", "expires": "2000-01-01"}}


class WorklistBook:
    """What the bench finds when a label is scanned: the open LIS order of that accession, else the orders
    of ``fallback`` (an order folder, the training orders)."""

    def __init__(self, store, lis: LisConfig, fallback: Any = None):
        self.store, self.lis, self.fallback = store, lis, fallback if fallback is not None else {}

    def __contains__(self, accession: object) -> bool:
        if isinstance(accession, str):
            found = find(self.store, accession)
            if found is not None and found.state == OPEN:
                return True
        return accession in self.fallback

    def __getitem__(self, accession: str) -> dict[str, Any]:
        found = find(self.store, accession)
        if found is not None and found.state == OPEN:
            return bench_order(found, self.lis)
        return self.fallback[accession]


