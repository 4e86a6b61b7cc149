"""Telling the LIS that the laboratory will not perform an order: the order status message of IHE LTW
(LAB-1, order filler to order placer), an ``OML^O21`` with ``ORC-1 = OC`` (order canceled, HL7 table 0119),
``ORC-5 = CA`` (table 0038), ``ORC-16`` the reason (code^text^L) and an NTE saying it for a person.

``refuse_order`` closes the order on the worklist and queues the message in the outbox in one transaction;
the sender writes the message with its own configuration (``render_order_status``, built with hl7apy and
validated when built) and delivers it like a result, in order with that accession's results.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.outputs.lims.hl7_escape import escape, join
from sweattest.record import outbox
from sweattest.record.worklist import OPEN, STARTED, WorklistOrder, close_order

#: why the laboratory does not perform an order -> (ORC-16 code, text); the coding system is L (local)
REASONS: dict[str, tuple[str, str]] = {
    "eligibility": ("ELIG", "Patient not eligible for sweat testing now"),
    "qns": ("QNS", "Quantity not sufficient; the test is not repeated"),
    "lab": ("LABCA", "Cancelled by the laboratory"),
}
#: the states an order may be closed from, per reason: a QNS is known only once its run was performed
CLOSABLE = {"eligibility": (OPEN,), "qns": (STARTED,), "lab": (OPEN, STARTED)}


def refuse_order(store, clock: Clock, accession: str, reason: str, note: str, who: str) -> int:
    """Close the LIS order of ``accession`` for ``reason`` (a key of REASONS), with ``note`` for the LIS,
    and queue the order status message in the same transaction; returns the message's id."""
    if reason not in REASONS:
        raise ValidationError(f"reason {reason!r}: use one of {', '.join(REASONS)}")
    note = " ".join((note or "").split())
    if not note:
        raise ValidationError("say why, for the LIS and the ordering provider (a note is required)")
    code, text = REASONS[reason]
    now = clock.utcnow()
    with store.writing() as conn:
        order = close_order(conn, accession, {"reason": reason, "code": code, "text": text, "note": note[:500]},
                            states=CLOSABLE[reason], who=who, at=now)
        return outbox.queue(conn, run_id=order.run_id, accession=accession, version=0, fmt=outbox.ORDER_STATUS,
                            channel=outbox.MLLP, destination=outbox.LIS, name=f"{accession}_status.hl7",
                            control_id=None, body=None, at=now, who=who)


def render_order_status(order: WorklistOrder, config: LabConfig, *, sent_at: datetime, control_id: str) -> str:
    """The OML^O21 telling the LIS that ``order`` (closed by the laboratory) will not be performed."""
    reason = order.closed_reason or {}
    sent = order.order
    patient = sent.get("patient") or {}
    h = config.hl7
    message = Message("OML_O21", version="2.5.1", validation_level=VALIDATION_LEVEL.STRICT)
    msh = message.msh
    msh.msh_3, msh.msh_4 = escape(h.sending_application), escape(h.sending_facility)
    msh.msh_5, msh.msh_6 = escape(h.receiving_application), escape(h.receiving_facility)
    msh.msh_7 = _ts(sent_at)
    msh.msh_9 = "OML^O21^OML_O21"
    msh.msh_10 = escape(control_id)
    msh.msh_11 = h.processing_id
    msh.msh_12 = "2.5.1"
    msh.msh_15, msh.msh_16 = "AL", "NE"
    msh.msh_18 = "UNICODE UTF-8"
    pid = message.add_group("OML_O21_PATIENT").pid
    pid.pid_1 = "1"
    for identifier in patient.get("identifiers") or [f"{patient.get('mrn') or order.mrn}^^^^MR"]:
        pid.add_field("pid_3").value = join(identifier)  # as the LIS sent it, subcomponents kept
    names = patient.get("name") or [[[patient.get("family") or ""], [patient.get("given") or ""]]]
    pid.pid_5 = join(names[0])
    if patient.get("dob"):
        pid.pid_7 = str(patient["dob"]).replace("-", "")
    if patient.get("sex"):
        pid.pid_8 = escape(patient["sex"])
    group = message.add_group("OML_O21_ORDER")
    orc = group.orc
    orc.orc_1 = "OC"  # order/service canceled (by the filler)
    placer = _composite(sent.get("placer_ei") or [order.placer])
    filler = _composite(sent.get("filler_ei") or ([order.filler] if order.filler else []))
    orc.orc_2 = placer
    if filler:
        orc.orc_3 = filler
    orc.orc_5 = "CA"  # order was canceled
    orc.orc_9 = _ts(order.closed_at or sent_at)
    provider = sent.get("provider") or {}
    if provider.get("xcn"):
        orc.orc_12 = join(provider["xcn"][0])
    elif provider.get("id") or provider.get("name"):
        orc.orc_12 = _composite([provider.get("id") or "", provider.get("name") or ""])
    orc.orc_16 = _composite([reason.get("code", "LABCA"), reason.get("text", REASONS["lab"][1]), "L"])
    request = group.add_group("OML_O21_OBSERVATION_REQUEST")
    obr = request.obr
    obr.obr_1 = "1"
    obr.obr_2 = placer
    if filler:
        obr.obr_3 = filler
    obr.obr_4 = _composite(config.lis.code("panel"))
    nte = request.add_segment("NTE")
    nte.nte_1, nte.nte_2 = "1", "L"
    nte.nte_3 = escape(f"{reason.get('text', '')}: {reason.get('note', '')}"[:1000])
    message.validate()
    return message.to_er7() + "\r"


def _composite(value) -> str:
    """A composite as HL7 text: components (``^`` in a string, or a list) and subcomponents (``&``), each
    piece escaped."""
    parts = value.split("^") if isinstance(value, str) else list(value)
    return "^".join("&".join(escape(piece) for piece in str(part).split("&")) for part in parts)


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
