"""Patient updates from the hospital's ADT feed: A08 (update patient information) changes the demographics
of the patient's open orders; A40 (merge patient: PID the surviving patient, MRG-1 the one merged into it)
moves the open orders of the merged patient to the surviving one. An order whose test has started keeps
what it was run with. Updates apply in the order they are received: MSH-7 comes from each sender's own clock
(the ADT feed and the order placer are different systems) and is recorded, never compared. Each change is
recorded in the order (``updates``: what changed, when, by which message; shown on the worklist) and as an
audit entry (``lis patient update``, ``lis patient merge``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sweattest.core.config import LabConfig
from sweattest.lis import hl7_read as h
from sweattest.lis.ack import REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE, Problem, build_ack
from sweattest.lis.orders import Rejected, read_header, read_patient
from sweattest.record import worklist as stored
from sweattest.record.worklist import lock_worklist

ADT_TYPES = {("ADT", "A08"), ("ADT", "A40")}
#: what an update may change on an open order's patient
DEMOGRAPHICS = ("identifiers", "name", "family", "given", "middle", "dob", "sex")


def receive_adt(store, text: str, config: LabConfig, *, now: datetime, sender: str, digest: str,
                seen: Callable[[Any], str | None] = lambda conn: None) -> str:
    """Apply one ADT A08 or A40; returns the ACK (AA also when no open order is the patient's). ``seen(conn)``:
    the answer already given to this message (the same one sent again meanwhile), checked once the worklist
    is this transaction's."""
    hl7 = config.hl7

    def ack(code: str, problem: Problem | None = None) -> str:
        return build_ack(text, code, problem, application=hl7.sending_application, facility=hl7.sending_facility,
                         at=now)

    try:
        message = h.read(text)
        head = read_header(message, hl7.processing_id, ADT_TYPES)
        groups = _patient_groups(message, head.trigger)
        # a newborn may be updated (its order was checked when it came)
        merges = [(read_patient(pid, new=True, today=None), _merged(mrg)) for pid, mrg in groups]
        sent = h.field_text(h.first(message, "MSH"), 7)
    except h.Unreadable as exc:
        return ack("AR", Problem(SEGMENT_SEQUENCE, str(exc)))
    except Rejected as exc:
        return ack(exc.code, exc.problem)
    with store.writing() as conn:
        lock_worklist(conn)
        earlier = seen(conn)
        if earlier is not None:
            return earlier
        answer = ack("AA")
        message_item = stored.add_message(conn, sender=sender, control_id=head.control_id, kind=f"ADT^{head.trigger}",
                                          sha256=digest, ack_code="AA", ack=answer, at=now)
        for patient, merged in merges:
            # "at" (reception, this installation's clock) orders the updates; MSH-7 (the sender's own clock, not
            # comparable between systems) is kept as sent, for a person
            event = {"event": head.trigger, "control_id": head.control_id, "at": now.isoformat(),
                     "sender": head.sender, "sent": sent}
            if merged is None:
                changed = _update(conn, patient["mrn"], patient, event, now)
            else:
                changed = _update(conn, merged, patient, event | {"merged": merged}, now)
            stored.record_lis(conn, "lis patient merge" if merged else "lis patient update", at=now,
                              new=event | {"mrn": patient["mrn"], "orders": [placer for placer, _ in changed]},
                              order_ids=[order_id for _, order_id in changed], message=message_item)
            message_item = None  # the message is chained once, with the first patient's entry
    return answer


def _patient_groups(message, trigger: str) -> list[tuple[Any, Any]]:
    """(PID, MRG) of each patient group: A08 has one patient (MRG None); A40 one or more PID, each followed by
    the MRG of the patient merged into it."""
    groups: list[list[Any]] = []
    for segment in message:
        name = str(segment[0])
        if name == "PID":
            groups.append([segment, None])
        elif name == "MRG" and groups and groups[-1][1] is None:
            groups[-1][1] = segment
    if not groups:
        raise Rejected("AE", Problem(SEGMENT_SEQUENCE, "the PID segment is missing", ("PID", 0)))
    if trigger == "A08" and len(groups) > 1:
        raise Rejected("AE", Problem(SEGMENT_SEQUENCE, "an A08 updates one patient (PID): send each patient's update "
                                     "in a message of its own; nothing was changed", ("PID", 0)))
    if trigger == "A40":
        for n, (_, mrg) in enumerate(groups, 1):
            if not [rep for rep in h.composite(mrg, 1) if h.component(rep, 1)]:
                raise Rejected("AE", Problem(REQUIRED_FIELD_MISSING, f"MRG-1 (the merged patient's identifiers) of "
                                             f"patient {n} is empty or its MRG is missing; nothing was merged",
                                             ("MRG", 1, n)))
    return [(pid, mrg) for pid, mrg in groups]


def _merged(mrg) -> str | None:
    """The MRN merged away (MRG-1: the MR identifier, else the first), None for an update."""
    if mrg is None:
        return None
    prior = [rep for rep in h.composite(mrg, 1) if h.component(rep, 1)]
    return h.component(next((i for i in prior if h.component(i, 5) == "MR"), prior[0]), 1)


def _update(conn, mrn: str, patient: dict[str, Any], event: dict[str, Any],
            now: datetime) -> list[tuple[str, int]]:
    """The open orders of ``mrn`` take ``patient``'s demographics (and MRN); returns their accessions and ids."""
    rows = stored.patient_orders(conn, mrn)
    for row in rows:
        order = dict(row.order)
        before = dict(order["patient"])
        after = before | {k: patient[k] for k in DEMOGRAPHICS} | {"mrn": patient["mrn"],
                                                                  "authority": patient["authority"]}
        changes = {k: [before.get(k), after[k]] for k in ("mrn", "family", "given", "middle", "dob", "sex")
                   if before.get(k) != after[k]}
        order["patient"] = after
        order["updates"] = [*order.get("updates", []), event | {"changes": changes}]
        stored.set_patient(conn, row.id, order, patient["mrn"])
    return [(row.placer, row.id) for row in rows]
