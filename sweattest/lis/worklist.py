"""The worklist: orders received from the LIS, waiting for their test.

``receive`` takes one message (from the MLLP listener or the order folder) and returns the answer to send
back. Each order of an order message is taken or refused on its own: a new order is stored with what the LIS
sent (placer and filler numbers, the patient's identifiers and names, the ordering provider, the visit, the
specimen, the comments); a cancel, from the system that placed the order and for its patient, removes an
order whose test has not started and is refused once it has; a cancelled accession may be ordered again.
The message is recorded once per sender and control ID (MSH-10): the same message again gets the first
answer and changes nothing; another message with a control ID already used is refused (AE). Each write is
audited in its transaction. ADT A08 and A40 go to ``sweattest.lis.adt``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.lis_config import LisConfig
from sweattest.core.rules.age import local_date
from sweattest.lis import hl7_read as h
from sweattest.lis.ack import (
    APPLICATION_INTERNAL_ERROR,
    DUPLICATE_KEY,
    RESPONSES,
    UNKNOWN_KEY,
    OrderAnswer,
    Problem,
    build_ack,
    build_order_response,
    header,
)
from sweattest.lis.adt import receive_adt
from sweattest.lis.order_modulator import modulator_of
from sweattest.lis.orders import Group, LisOrder, Rejected, parse_order_message
from sweattest.outputs.lims.hl7 import CONTROL_ID_LENGTH
from sweattest.record import worklist as stored
from sweattest.record.worklist import CANCELLED, OPEN, STARTED, WorklistOrder, find, lock_worklist


def receive(store, clock: Clock, text: str, config: LabConfig) -> str:
    """Process one message (an order message, or ADT A08/A40); returns the answer: ORR^O02 / ORL^O22 with
    each order's fate (AA, or AE when an order was refused), an ACK for ADT, AR for what is not taken here."""
    now = clock.utcnow()
    hl7 = config.hl7
    who = {"application": hl7.sending_application, "facility": hl7.sending_facility, "at": now}
    msh = header(text)
    sender, control_id = (_sender_key(f"{h.raw(msh, 3)}^{h.raw(msh, 4)}"), h.raw(msh, 10)) if msh else ("", "")
    digest = hashlib.sha256("\r".join(s for s in re.split(r"\r\n|\r|\n", text) if s).encode("utf-8")).hexdigest()
    with store.reading() as conn:
        seen = _seen(conn, text, sender, control_id, digest, who)
    if seen is not None:
        return seen
    kind = h.field_text(msh, 9)
    if kind == "ADT":
        return receive_adt(store, text, config, now=now, sender=sender, digest=digest,
                           seen=lambda conn: _seen(conn, text, sender, control_id, digest, who))
    try:
        message = parse_order_message(text, config.lis, processing_id=hl7.processing_id, today=now,
                                      limits=config.eligibility)
    except Rejected as exc:
        if exc.code == "AE" and kind in RESPONSES:
            return build_order_response(text, kind, "AE", [], {}, exc.problem, **who)
        return build_ack(text, exc.code, exc.problem, **who)
    with store.writing() as conn:
        lock_worklist(conn)  # a second message for the same accession waits for this one, then sees its order
        seen = _seen(conn, text, sender, control_id, digest, who)  # the same message, on another connection
        if seen is not None:
            return seen
        today = local_date(now, config.zone)  # in the lab's time zone: a modulator started today is not "after today"
        answers = [_apply(conn, group, now, config.lis, today) for group in message.groups]
        code = "AA" if all(a.problem is None for a in answers) else "AE"
        answer = build_order_response(text, kind, code, answers, message.patient, None, **who)
        if any(a.problem is None for a in answers):  # something was stored: a repeat gets this same answer
            kind_text = f"{message.header.kind}^{message.header.trigger}"
            item = stored.add_message(conn, sender=sender, control_id=control_id, kind=kind_text, sha256=digest,
                                      ack_code=code, ack=answer, at=now)
            stored.record_lis(conn, "lis message", at=now, order_ids=[], message=item,
                              new={"sender": sender, "control_id": control_id, "kind": kind_text, "ack": code})
    return answer


#: ``lis_messages.sender`` holds this many characters
SENDER_KEY_LENGTH = 100


def _sender_key(sender: str) -> str:
    """MSH-3^MSH-4 as the key a repeat is recognised by; a longer one (HD with OIDs: up to 227 characters each)
    by its SHA-256."""
    if len(sender) <= SENDER_KEY_LENGTH:
        return sender
    return "sha256:" + hashlib.sha256(sender.encode("utf-8")).hexdigest()


def _apply(conn, group: Group, now: datetime, lis: LisConfig, today: date) -> OrderAnswer:
    """One order of the message: placed or cancelled, or refused with the reason (nothing written)."""
    ok, refused = ("OK", "UA") if group.action != "cancel" else ("CR", "UC")
    problem = group.refused
    if problem is None:
        assert group.order is not None
        order = group.order
        problem = _place(conn, order, now, lis, today) if group.action == "new" else _cancel(conn, order, now)
    if problem is not None and problem.where and problem.where[0] in ("ORC", "OBR") and len(problem.where) == 2:
        problem = Problem(problem.code, problem.text, (*problem.where, group.index))
    return OrderAnswer(refused if problem else ok, group.placer, group.filler, group.test, problem)


def _seen(conn, text: str, sender: str, control_id: str, digest: str,
          who: dict[str, Any]) -> str | None:
    """The answer to a message whose control ID this sender already used: the same message again gets the
    first answer (nothing changes), another one AE; None for a new control ID."""
    if not control_id or len(control_id) > CONTROL_ID_LENGTH:
        return None
    earlier = stored.earlier_answer(conn, sender, control_id)
    if earlier is None:
        return None
    if earlier[1] == digest:
        return earlier[0]
    return build_ack(text, "AE", Problem(DUPLICATE_KEY, f"message control ID {control_id} was already used for "
                                         "another message; give each message its own MSH-10", ("MSH", 10)), **who)


def _place(conn, order: LisOrder, now: datetime, lis: LisConfig, today: date) -> Problem | None:
    """A new order on the worklist, with the CFTR modulator the lab's mapping finds in it (``[lis.modulator]``)."""
    modulator, problem = modulator_of(order, lis.modulator, today)
    if problem is not None:
        return problem
    existing = stored.placed_state(conn, order.placer)
    if existing is not None:
        return Problem(DUPLICATE_KEY, f"order {order.placer} is already on the worklist ({existing}); send a cancel "
                       "first to replace it", ("ORC", 2))
    stored.place(conn, {"placer": order.placer, "filler": order.filler, "mrn": order.patient["mrn"],
                        "test_code": order.test_code,
                        "order_json": order.as_dict() | ({"modulator": modulator} if modulator else {}),
                        "control_id": order.control_id},
                 at=now, audit={"accession": order.placer, "filler": order.filler, "mrn": order.patient["mrn"],
                                "provider": order.provider["name"], "test": order.test_code,
                                "control_id": order.control_id, "sender": order.sender, "comments": order.comments,
                                **({"cftr_modulator": modulator} if modulator else {})})
    return None


def _cancel(conn, order: LisOrder, now: datetime) -> Problem | None:
    """A cancel takes effect only for the order's own sender and patient, and only before its test started."""
    row = stored.latest(conn, order.placer)
    if row is None:
        return Problem(UNKNOWN_KEY, f"order {order.placer} is not on the worklist", ("ORC", 2))
    placed_by = (row.order or {}).get("sender")
    if placed_by and placed_by != order.sender:
        return Problem(UNKNOWN_KEY, f"order {order.placer} was placed by {placed_by}, not by {order.sender}: only the "
                       "system that placed an order can cancel it", ("ORC", 2))
    if row.mrn != order.patient["mrn"]:
        return Problem(UNKNOWN_KEY, f"order {order.placer} is for another patient (PID-3 {order.patient['mrn']!r} "
                       "is not the patient of the order): nothing cancelled; check the patient", ("PID", 3))
    if row.state == OPEN:  # only while still open: a run that started since the read above keeps its order
        row = stored.cancel_open(conn, row)
    if row.state == STARTED:
        return Problem(APPLICATION_INTERNAL_ERROR, f"order {order.placer} cannot be cancelled: its test has started "
                       f"(run {row.run_id}); call the laboratory", ("ORC", 1))
    stored.record_cancel(conn, row.id, old_state=row.state, at=now,
                         audit={"accession": order.placer, "state": CANCELLED, "control_id": order.control_id,
                                "sender": order.sender})
    return None


#: HL7 table 0001 codes the bench order has no code for (the result echoes the LIS's own code)
BENCH_SEX = {"A": "O", "N": "U"}


def bench_order(order: WorklistOrder, lis: LisConfig) -> dict[str, Any]:
    """The order as the bench prepares it (docs/formats.md), from what the LIS sent: the lab's method and
    sites for the test; the operator and the pilocarpine lot are added at the bench (the lot here is a
    placeholder that has expired, so a run can never start without scanning the real one)."""
    p = order.order["patient"]
    return {"accession": order.placer,
            "patient": {"mrn": p["mrn"], "family": p["family"], "given": p["given"], "dob": p["dob"],
                        "sex": BENCH_SEX.get(p["sex"], p["sex"])},
            "comment": "\n".join(order.order.get("comments") or []),  # NTE: shown at the bench, on the report
            **_modulator(order.order.get("modulator")),
            "ordering_provider": order.order["provider"]["name"] or "(not given by the LIS)",
            "method": lis.method, "sites": list(lis.sites),
            "pilocarpine_lot": {"lot": "not scanned", "expires": "2000-01-01"}}


def _modulator(found: dict[str, Any] | None) -> dict[str, Any]:
    """The CFTR modulator the order says the patient is on; a start date the LIS did not send is left for the
    bench to ask (the order's check names it missing)."""
    if not found:
        return {}
    return {"cftr_modulator": found["name"], **({"modulator_start": found["start"]} if found.get("start") else {})}


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


