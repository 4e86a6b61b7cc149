"""Reading HL7 messages in tests: hl7apy at STRICT validation, and fields by position."""

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message, parse_segment

from sweattest.outputs.lims.hl7_escape import unescape


def strict(message: str):
    """Parse and validate with hl7apy at its strict level (structure, cardinality, datatypes, lengths)."""
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    parsed.validate()
    return parsed


def strict_answer(message: str):
    """An answer to an order message at hl7apy's strict level. ORR^O02: hl7apy models its ORDER_DETAIL choice
    (OBR, RQD, RQ1, RXO, ODS or ODT) as a sequence needing all six, so no ORR^O02 can pass; its segments are
    validated one by one and its structure as the ORL^O22 it has the same segments as (MSH MSA ERR* PID
    (ORC OBR)*)."""
    if "|ORR^O02^ORR_O02|" not in message:
        return strict(message)
    for segment in message.rstrip("\r").split("\r"):
        parse_segment(segment, version="2.5.1", validation_level=VALIDATION_LEVEL.STRICT).validate()
    return strict(message.replace("|ORR^O02^ORR_O02|", "|ORL^O22^ORL_O22|", 1))


def segments(message: str, name: str) -> list[list[str]]:
    """Every ``name`` segment as a list indexed by HL7 field number (MSH-1 is the field separator)."""
    out = []
    for seg in message.split("\r"):
        fields = seg.split("|")
        if fields[0] == name:
            out.append(["MSH", "|", *fields[1:]] if name == "MSH" else fields)
    return out


def field(message: str, name: str, number: int, index: int = 0) -> str:
    seg = segments(message, name)[index]
    return seg[number] if number < len(seg) else ""


def text(value: str) -> str:
    return unescape(value)
