"""Numbers typed at the bench: in the unit the device shows (so nobody converts), with the method's QNS
threshold beside the field, and the grammar's refusals said in the tech's words."""

from __future__ import annotations

import re

from sweattest.bench.instruments.manual import WITH_SWEAT
from sweattest.core.protocol import Protocol
from sweattest.core.units import entry_example, format_quantity, parse_entry

#: The unit each reading is typed in: the unit its device displays (the Macroduct coil in µL, the balance in
#: mg, the chloridometer in mmol/L). (value sent to the grammar, text shown beside the field)
DEVICE_UNITS: dict[str, tuple[str, str]] = {"volume": ("uL", "µL"), "mass": ("mg", "mg"),
                                            "concentration": ("mmol/L", "mmol/L")}

_EXAMPLE = re.compile(r";? ?write an? \w+ like '[^']*'")
_EXPECTED = re.compile(r" \(expected units like [^)]*\)")


def device_unit(kind: str, dimension: str | None) -> tuple[str, str] | None:
    """The unit a prompt's number is typed in, or None when the prompt takes no number."""
    if kind == "read_volume":
        return DEVICE_UNITS["volume"]
    if kind in ("enter_reading", "enter_sodium") and dimension in DEVICE_UNITS:
        return DEVICE_UNITS[dimension]
    return None


def refused_value(amount: str, kind: str, dimension: str | None, what: str, why: str) -> str:
    """A well-written value the method refuses (above the method's maximum, not above 0): the refusal quotes
    exactly what was typed (``“0.5 mL”`` read as 500 µL) and ends with an example in the field's unit."""
    unit = device_unit(kind, dimension)
    example = entry_example(unit[0], "volume" if kind == "read_volume" else str(dimension)) if unit else ""
    return f"{what}: \u201c{amount.strip()}\u201d: {why}" + (f"; {example}" if example else "")


def typed_quantity(amount: str, kind: str, dimension: str | None, what: str):
    """What the tech typed in a number field, read by the entry grammar (``sweattest.core.units.parse_entry``):
    the number as the device shows it, or with a unit that fits the field (``0.040 mL`` in a µL field is 40 µL).
    None when the prompt takes no number."""
    unit = device_unit(kind, dimension)
    if unit is None or (kind == "enter_sodium" and not amount.strip()):  # an optional sodium left empty: not measured
        return None
    return parse_entry(amount, unit[0], "volume" if kind == "read_volume" else str(dimension), what)


def qns_threshold(protocol: Protocol) -> str:
    """The least sample the method accepts (below it the site is QNS), as the device shows it."""
    kind = "volume" if not protocol.gravimetric else "mass"
    return format_quantity(protocol.minimum_sample.to(DEVICE_UNITS[kind][0]))


def qns_note(kind: str, label: str | None, protocol: Protocol) -> str | None:
    """What the bench prints beside a sample's field: the method's QNS threshold in the device's unit; None for
    a number that is not a sample (an empty weight, a chloride)."""
    if kind == "read_volume":
        return f"QNS below {qns_threshold(protocol)}: less is not enough sweat for a result."
    if kind == "enter_reading" and protocol.gravimetric and (label or "").endswith(WITH_SWEAT):
        return (f"QNS below {qns_threshold(protocol)} of sweat: this weight less the empty weight must reach it, "
                "or there is not enough sweat for a result.")
    return None


def entry_message(text: str) -> str:
    """A refusal of the number grammar said for the bench: no site codes, no example with a unit (the unit is
    printed beside the field), µ rather than u."""
    text = _EXAMPLE.sub("", text)
    text = _EXPECTED.sub("", text)
    text = re.sub(r"\b(left|right)_(forearm|arm|thigh|leg)\b", r"\1 \2", text)
    text = re.sub(r"(\d) uL\b", r"\1 µL", text).replace(" uL ", " µL ")
    if re.search(r"as (a|one) number|has no number|empty value", text) and "for example" not in text:
        text += "; type only the number the device shows, like 35.5 (the unit is beside the field)"
    return text


__all__ = ["DEVICE_UNITS", "device_unit", "entry_message", "qns_note", "qns_threshold", "refused_value",
           "typed_quantity"]
