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

from sweattest.outputs.lims.hl7_escape import escape, unescape

#: HL7 table 0357 codes used in ERR-3
SEGMENT_SEQUENCE, REQUIRED_FIELD_MISSING, DATA_TYPE_ERROR, TABLE_VALUE_NOT_FOUND = "100", "101", "102", "103"
UNSUPPORTED_MESSAGE_TYPE, UNSUPPORTED_EVENT, UNSUPPORTED_PROCESSING_ID = "200", "201", "202"
UNSUPPORTED_VERSION, UNKNOWN_KEY, DUPLICATE_KEY, APPLICATION_INTERNAL_ERROR = "203", "204", "205", "207"
_TEXT_0357 = {"100": "Segment sequence error", "101": "Required field missing", "102": "Data type error",
              "103": "Table value not found", "200": "Unsupported message type", "201": "Unsupported event code",
              "202": "Unsupported processing id", "203": "Unsupported version id", "204": "Unknown key identifier",
              "205": "Duplicate key identifier", "207": "Application internal error"}


@dataclass(frozen=True)
class Problem:
    """Why a message was not accepted: ``code`` from table 0357, ``where`` as (segment, field), ``text``."""

    code: str
    text: str
    where: tuple[str, int] | None = None


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
    msh = header(received)

    def get(n: int) -> str:
        return msh[n] if len(msh) > n else ""

    trigger = get(9).split("^")[1] if "^" in get(9) else ""
    version = get(12) if get(12) in ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6") else "2.5.1"
    segments = ["|".join(["MSH", "^~\\&", escape(application), escape(facility), _safe(get(3)), _safe(get(4)),
                          at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000"), "",
                          f"ACK^{_safe(trigger)}^ACK" if trigger else "ACK", uuid.uuid4().hex.upper()[:20],
                          get(11) if get(11) in ("P", "T", "D") else "P", version, "", "", "", "", "",
                          "UNICODE UTF-8"])]
    msa = ["MSA", code, _safe(get(10))[:20]]
    segments.append("|".join(msa))
    if problem is not None:
        where = f"{problem.where[0]}^1^{problem.where[1]}" if problem.where else ""
        segments.append("|".join(["ERR", "", where, f"{problem.code}^{_TEXT_0357[problem.code]}^HL70357", "E", "",
                                  "", "", escape(problem.text[:250])]))
    return "\r".join(segments) + "\r"


def read_ack(text: str) -> Answer:
    """The code, echoed control ID and error text of an acknowledgement (ValueError if it is none)."""
    msa = err = None
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA|"):
            msa = segment.split("|")
        elif segment.startswith("ERR|") and err is None:
            err = segment.split("|")
    if msa is None or len(msa) < 2 or msa[1] not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise ValueError("the answer has no MSA segment with an acknowledgement code")
    words = []
    if err is not None:
        words = [unescape(err[8]) if len(err) > 8 and err[8] else "", unescape(err[3]) if len(err) > 3 else ""]
    if len(msa) > 3 and msa[3]:
        words.append(unescape(msa[3]))
    return Answer(msa[1], msa[2] if len(msa) > 2 else "", "; ".join(w for w in words if w))


def _safe(value: str) -> str:
    """A field echoed from a received message: kept only as plain text (no delimiters)."""
    return escape(unescape(value)) if value else ""
