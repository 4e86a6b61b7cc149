"""HL7 v2.5.1 acknowledgements (original mode): building the ACK for a received message and reading the ACK
the LIS returns for a result.

``MSA-1``: AA accepted, AE error (the sender may correct and send again), AR rejected (not processed:
unsupported message type, version or processing ID, or a message that could not be read); ``MSA-2`` echoes
the received message's MSH-10. An error is said in ERR: ERR-2 the location (segment^sequence^field), ERR-3
the HL7 error code (table 0357), ERR-4 the severity (E), ERR-8 the text for a person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7

from sweattest.lis.hl7_read import text
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


def header(message: str) -> list[str]:
    """The fields of MSH, indexed by HL7 field number (MSH-1 is the field separator); empty if none."""
    first = message.lstrip("\r\n").split("\r", 1)[0].split("\n", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return []
    sep = first[3]
    return ["MSH", sep, *first[4:].split(sep)]


def build_ack(received: str, code: str, problem: Problem | None, *, application: str, facility: str,
              at: datetime) -> str:
    """The ACK for ``received`` (which may be unreadable: then MSA-2 is empty)."""
    message = _response(received, "ACK", application=application, facility=facility, at=at)
    _add(message, "MSA", {1: code, 2: _echo(header(received), 10)[:20]})
    if problem is not None:
        _err(message, problem)
    return str(message).rstrip("\r") + "\r"  # one terminator (python-hl7 ends with one already)


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
    """ORR^O02 (for ORM^O01) or ORL^O22 (for OML^O21): MSA-1 AA when every order was taken, else AE; an ERR
    per order refused (ERR-2 names where), then the patient (PID-3, PID-5: ``identifiers`` and ``name`` as
    composites) and each order: ORC-1 what became of it, ORC-2/3 and OBR-2/3/4 as sent."""
    message = _response(received, RESPONSES[kind][0], application=application, facility=facility, at=at)
    _add(message, "MSA", {1: code, 2: _echo(header(received), 10)[:20]})
    if problem is not None:
        _err(message, problem)
    for answer in answers:
        if answer.problem is not None:
            _err(message, answer.problem)
    if answers:
        _add(message, "PID", {1: "1", 3: join(patient.get("identifiers")) or "UNKNOWN",
                              5: join(patient.get("name")) or "UNKNOWN"}, raw={3, 5})
        for set_id, answer in enumerate(answers, start=1):
            placer, filler = join([[[p] for p in answer.placer]]), join([[[p] for p in answer.filler]])
            _add(message, "ORC", {1: answer.control, 2: placer, 3: filler}, raw={2, 3})
            _add(message, "OBR", {1: str(set_id), 2: placer, 3: filler,
                                  4: join([[[p] for p in answer.test]]) or "UNKNOWN"}, raw={2, 3, 4})
    return str(message).rstrip("\r") + "\r"  # one terminator (python-hl7 ends with one already)


def _response(received: str, kind: str, *, application: str, facility: str, at: datetime) -> hl7.Message:
    """The MSH of an answer to ``received``, built with python-hl7: sender and receiver swapped, the same
    processing ID and version (when they are ones sweattest reads), UTF-8 declared."""
    msh = header(received)
    trigger = _echo(msh, 9).split("^")[1] if "^" in _echo(msh, 9) else ""
    version = _echo(msh, 12) if _echo(msh, 12) in ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6") else "2.5.1"
    if kind == "ACK":
        kind = f"ACK^{escape(trigger)}^ACK"  # no trigger known (an unreadable message): ACK^^ACK
    message = hl7.parse("MSH|^~\\&|")
    fields = {3: escape(application), 4: escape(facility), 5: _hd(msh, 3), 6: _hd(msh, 4),
              7: at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000"), 9: kind, 10: uuid.uuid4().hex.upper()[:20],
              11: _echo(msh, 11) if _echo(msh, 11) in ("P", "T", "D") else "P", 12: version, 18: "UNICODE UTF-8"}
    segment = message.segment("MSH")
    for n, value in fields.items():
        segment.assign_field(value, n)
    return message


def _add(message: hl7.Message, name: str, fields: dict[int, str], raw: set[int] = frozenset()) -> None:
    """A segment built with python-hl7: each field escaped unless ``raw`` (already written with ``join``)."""
    segment = message.create_segment([message.create_field([name])])
    for n, value in sorted(fields.items()):
        segment.assign_field(value if n in raw else escape(value), n)
    message.append(segment)


def _err(message: hl7.Message, problem: Problem) -> None:
    where = f"{problem.where[0]}^{problem.where[2] if len(problem.where) > 2 else 1}^{problem.where[1]}" \
        if problem.where else ""
    _add(message, "ERR", {2: where, 3: f"{problem.code}^{_TEXT_0357[problem.code]}^HL70357", 4: "E",
                          8: problem.text[:250]}, raw={2, 3})


def read_ack(answer: str) -> Answer:
    """The code, echoed control ID and error text of an acknowledgement (ValueError if it is none)."""
    msa = err = None
    for segment in answer.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA|"):
            msa = segment.split("|")
        elif segment.startswith("ERR|") and err is None:
            err = segment.split("|")
    if msa is None or len(msa) < 2 or msa[1] not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise ValueError("the answer has no MSA segment with an acknowledgement code")
    words = []
    if err is not None:  # as text: escapes decoded, never a control character (a NUL, a terminal escape)
        words = [text(err[8]) if len(err) > 8 and err[8] else "", text(err[3]) if len(err) > 3 else ""]
    if len(msa) > 3 and msa[3]:
        words.append(text(msa[3]))
    said = "; ".join(w for w in words if w)
    return Answer(msa[1], msa[2] if len(msa) > 2 else "", said if len(said) <= ANSWER_TEXT else
                  said[:ANSWER_TEXT - 1] + "…")


def _hd(msh: list[str], n: int) -> str:
    """MSH-3/MSH-4 of the received message (HD: namespace^universal ID^its type) as its components."""
    value = msh[n] if len(msh) > n else ""
    parts = [text(part)[:most] for part, most in zip(value.split("^"), _HD_LENGTHS, strict=False)]
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


def _echo(msh: list[str], n: int) -> str:
    """A field of the received MSH as text (its escapes decoded, control characters dropped)."""
    return text(msh[n]) if len(msh) > n else ""
