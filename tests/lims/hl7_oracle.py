"""Reading HL7 messages in tests: hl7apy at STRICT validation, and fields by position."""

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from sweattest.outputs.lims.hl7_escape import unescape


def strict(message: str):
    """Parse and validate with hl7apy at its strict level (structure, cardinality, datatypes, lengths)."""
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    parsed.validate()
    return parsed


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
