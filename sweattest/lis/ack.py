"""HL7 v2.5.1 acknowledgements (original mode): building the ACK for a received message and reading the ACK
the LIS returns for a result.

``MSA-1``: AA accepted, AE error (the sender may correct and send again), AR rejected (not processed:
unsupported message type, version or processing ID, or a message that could not be read); ``MSA-2`` echoes
the received message's MSH-10. An error is said in ERR: ERR-2 the location (segment^sequence^field), ERR-3
the HL7 error code (table 0357), ERR-4 the severity (E), ERR-8 the text for a person.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from sweattest.lis.hl7_read import component, composite, plain, raw, segments, text
from sweattest.outputs.lims.hl7_escape import escape, join

#: HL7 table 0357 codes used in ERR-3
SEGMENT_SEQUENCE, REQUIRED_FIELD_MISSING, DATA_TYPE_ERROR, TABLE_VALUE_NOT_FOUND = "100", "101", "102", "103"
UNSUPPORTED_MESSAGE_TYPE, UNSUPPORTED_EVENT, UNSUPPORTED_PROCESSING_ID = "200", "201", "202"
UNSUPPORTED_VERSION, UNKNOWN_KEY, DUPLICATE_KEY, APPLICATION_INTERNAL_ERROR = "203", "204", "205", "207"
_TEXT_0357 = {"100": "Segment sequence error", "101": "Required field missing", "102": "Data type error",
              "103": "Table value not found", "200": "Unsupported message type", "201": "Unsupported event code",
              "202": "Unsupported processing id", "203": "Unsupported version id", "204": "Unknown key identifier",
              "205": "Duplicate key identifier", "207": "Application internal error"}


#: the longest error text of an answer kept (in the outbox, the audit trail and what QA is shown)
ANSWER_TEXT = 500


@dataclass(frozen=True)
class Problem:
    """Why a message was not accepted: ``code`` from table 0357, ``where`` as (segment, field), ``text``."""

    code: str
    text: str
    where: tuple[str, int] | tuple[str, int, int] | None = None  # segment, field (, which segment of that name)


@dataclass(frozen=True)
class Answer:
    code: str  # AA, AE, AR (or CA, CE, CR)
    control_id: str  # MSA-2
    text: str


def header(message: str) -> hl7.Segment | None:
    """The MSH of ``message``, read by python-hl7 from the message's first segment alone (so a message cut off,
    too long or unreadable further on still names its control ID); None if it has none."""
    first = message.lstrip("\ufeff\x00\r\n").split("\r", 1)[0].split("\n", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return None
    try:
        return hl7.parse(first).segment("MSH")
    except Exception:  # noqa: BLE001 - python-hl7 raises plain exceptions on what it cannot read
        return None


def build_ack(received: str, code: str, problem: Problem | None, *, application: str, facility: str,
              at: datetime) -> str:
    """The ACK for ``received`` (which may be unreadable: then MSA-2 is empty), built with hl7apy and validated
    at its strict level."""
    message = _response(received, "ACK", application=application, facility=facility, at=at)
    _msa(message, code, received)
    if problem is not None:
        _err(message, problem)
    return _validated(message)


@dataclass(frozen=True)
class OrderAnswer:
    """What became of one order (ORC/OBR group) of an order message."""

    control: str  # ORC-1 of the answer: OK accepted, UA unable to accept, CR cancelled, UC unable to cancel
    placer: list  # ORC-2 as sent (EI components)
    filler: list  # ORC-3
    test: list  # OBR-4 as sent (CE components)
    problem: Problem | None = None


#: the application acknowledgement of each order message (IHE LTW): message type, structure
RESPONSES = {"ORM": ("ORR^O02^ORR_O02", "ORR"), "OML": ("ORL^O22^ORL_O22", "ORL")}


def build_order_response(received: str, kind: str, code: str, answers: list[OrderAnswer], patient: dict,
                         problem: Problem | None, *, application: str, facility: str, at: datetime) -> str:
    """ORR^O02 (for ORM^O01) or ORL^O22 (for OML^O21), built with hl7apy: MSA-1 AA when every order was taken,
    else AE; an ERR per order refused (ERR-2 names where), then the patient (PID-3, PID-5: ``identifiers`` and
    ``name`` as composites) and each order: ORC-1 what became of it, ORC-2/3 and OBR-2/3/4 as sent."""
    structure = RESPONSES[kind][0].split("^")[2]
    message = _response(received, RESPONSES[kind][0], application=application, facility=facility, at=at)
    _msa(message, code, received)
    if problem is not None:
        _err(message, problem)
    for answer in answers:
        if answer.problem is not None:
            _err(message, answer.problem)
    if answers:
        response = message.add_group(f"{structure}_RESPONSE")
        patient_group = response.add_group(f"{structure}_PATIENT")
        pid = patient_group.add_segment("PID")
        pid.pid_1 = "1"
        for n, key in ((3, "identifiers"), (5, "name")):  # each repetition as the LIS sent it
            for rep in _repetitions(patient.get(key)) or ["UNKNOWN"]:
                pid.add_field(f"pid_{n}").value = rep
        for set_id, answer in enumerate(answers, start=1):
            placer, filler = join([[[p] for p in answer.placer]]), join([[[p] for p in answer.filler]])
            # ORL^O22 holds the orders in the patient group, ORR^O02 beside it
            order = (patient_group if structure == "ORL_O22" else response).add_group(f"{structure}_ORDER")
            orc = order.add_segment("ORC")
            orc.orc_1 = answer.control
            if placer:
                orc.orc_2 = placer
            if filler:
                orc.orc_3 = filler
            # ORL^O22: OBR in the order's observation request; ORR^O02: in its order detail
            obr = order.add_group(f"{structure}_OBSERVATION_REQUEST" if structure == "ORL_O22"
                                  else f"{structure}_OBRRQDRQ1RXOODSODT_SUPPGRP").add_segment("OBR")
            obr.obr_1 = str(set_id)
            if placer:
                obr.obr_2 = placer
            if filler:
                obr.obr_3 = filler
            obr.obr_4 = join([[[p] for p in answer.test]]) or "UNKNOWN"
    return _validated(message)


#: the versions an answer echoes in MSH-12 (its segments are those of 2.5.1, which the others read)
_ECHOED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6")


def _response(received: str, kind: str, *, application: str, facility: str, at: datetime) -> Message:
    """The MSH of an answer to ``received``, built with hl7apy: sender and receiver swapped, the same
    processing ID and version (when they are ones sweattest reads), UTF-8 declared."""
    msh = header(received)
    kind_sent = composite(msh, 9)
    trigger = component(kind_sent[0], 2) if kind_sent else ""
    if kind == "ACK":
        kind = f"ACK^{escape(trigger)}^ACK"  # no trigger known (an unreadable message): ACK^^ACK
    message = Message(kind.split("^")[2], version="2.5.1", validation_level=VALIDATION_LEVEL.STRICT)
    head = message.msh
    head.msh_3, head.msh_4 = escape(application), escape(facility)
    for n, value in ((5, _hd(msh, 3)), (6, _hd(msh, 4))):
        if value:
            head.add_field(f"msh_{n}").value = value
    head.msh_7 = at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
    head.msh_9 = kind
    head.msh_10 = uuid.uuid4().hex.upper()[:20]
    head.msh_11 = _echo(msh, 11) if _echo(msh, 11) in ("P", "T", "D") else "P"
    head.msh_12 = _echo(msh, 12) if _echo(msh, 12) in _ECHOED_VERSIONS else "2.5.1"
    head.msh_18 = "UNICODE UTF-8"
    return message


def _msa(message: Message, code: str, received: str) -> None:
    msa = message.add_segment("MSA")
    msa.msa_1 = code
    msa.msa_2 = escape(_echo(header(received), 10)[:20])


def _err(message: Message, problem: Problem) -> None:
    err = message.add_segment("ERR")
    if problem.where:
        err.err_2 = f"{problem.where[0]}^{problem.where[2] if len(problem.where) > 2 else 1}^{problem.where[1]}"
    err.err_3 = f"{problem.code}^{_TEXT_0357[problem.code]}^HL70357"
    err.err_4 = "E"
    err.err_8 = escape(plain(problem.text)[:250])


def _validated(message: Message) -> str:
    """The answer as HL7 text, once hl7apy found it valid at its strict level. hl7apy models ORR^O02's
    ORDER_DETAIL choice (OBR, RQD, RQ1, RXO, ODS or ODT) as needing all six: an ORR^O02 is checked segment by
    segment."""
    if message.name == "ORR_O02":
        for segment in _segments(message):
            segment.validate()
    else:
        message.validate()
    return message.to_er7() + "\r"


def _repetitions(value) -> list[str]:
    """A composite kept as received (``hl7_read.composite``) as the HL7 text of each repetition."""
    return [rep for rep in join(value).split("~") if rep] if value else []


def _segments(element) -> list:
    found = []
    for child in element.children:
        found.extend([child] if child.classname == "Segment" else _segments(child))
    return found


def read_ack(answer: str) -> Answer:
    """The code, echoed control ID and error text of an acknowledgement, read by python-hl7 (ValueError if it is
    none)."""
    lines = [line for line in re.split(r"\r\n|\r|\n", answer.lstrip("\ufeff\x00")) if line.strip()]
    try:
        message = hl7.parse("\r".join(lines))
        msa = message.segment("MSA")
    except Exception as exc:  # noqa: BLE001 - python-hl7 raises plain exceptions (or KeyError) on what it cannot read
        raise ValueError("the answer has no MSA segment with an acknowledgement code") from exc
    code = raw(msa, 1)
    if code not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise ValueError("the answer has no MSA segment with an acknowledgement code")
    errors = segments(message, "ERR")
    words = []
    if errors:  # as text: escapes decoded, never a control character (a NUL, a terminal escape)
        words = [text(raw(errors[0], 8)), text(raw(errors[0], 3))]
    if raw(msa, 3):
        words.append(text(raw(msa, 3)))
    said = "; ".join(w for w in words if w)
    return Answer(code, raw(msa, 2), said if len(said) <= ANSWER_TEXT else said[:ANSWER_TEXT - 1] + "…")


def _hd(msh: hl7.Segment | None, n: int) -> str:
    """MSH-3/MSH-4 of the received message (HD: namespace^universal ID^its type) as its components."""
    value = composite(msh, n)
    parts = [component(value[0], i)[:most] for i, most in enumerate(_HD_LENGTHS, 1)] if value else []
    return "^".join(_escaped_within(part, most) for part, most in zip(parts, _HD_LENGTHS, strict=False)).rstrip("^")


#: HL7 v2.5.1 lengths of the HD components: namespace (IS), universal ID (ST), its type (ID)
_HD_LENGTHS = (20, 199, 6)


def _escaped_within(value: str, most: int) -> str:
    """``value`` escaped, cut (never inside an escape sequence) to ``most`` characters."""
    out = ""
    for ch in value:
        piece = escape(ch)
        if len(out) + len(piece) > most:
            break
        out += piece
    return out


def _echo(msh: hl7.Segment | None, n: int) -> str:
    """A field of the received MSH as text (its escapes decoded, control characters dropped)."""
    return text(raw(msh, n))
