"""One pint registry for the whole program, and the checked parsing of quantities.

Every physical quantity is a pint Quantity from the wire to the report. A wrong dimension is an error
naming where the value came from, never a silent conversion.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Any

import pint

from sweattest.core.errors import UnitError

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.formatter.default_format = "~P"
# Unit strings ("mA", "mmol/L") are parsed on every conversion; the result is an immutable container, so
# memoising the parse is safe, and it makes a 10 Hz loop over pint quantities cheap.
ureg.parse_units_as_container = functools.lru_cache(maxsize=1024)(ureg.parse_units_as_container)
ureg.parse_units = functools.lru_cache(maxsize=1024)(ureg.parse_units)
Q_ = ureg.Quantity
Quantity = pint.Quantity

#: Dimensions sweattest works with, by the name used in error messages and protocol specs.
DIMENSIONS: dict[str, str] = {
    "current": "mA",
    "voltage": "V",
    "resistance": "kohm",
    "time": "s",
    "mass": "mg",
    "volume": "uL",
    "concentration": "mmol/L",
    "area": "cm**2",
    "charge": "mA*min",
    "sweat_rate": "g/m**2/min",
    "fraction": "percent",
}


@functools.cache
def dimensionality(kind: str):
    return parse_unit(DIMENSIONS[kind], "sweattest.core.units.DIMENSIONS").dimensionality


#: The only written form of a number: ``[sign] digits [. digits] [e|E [sign] digits]``, ASCII digits only.
#: No arithmetic, NaN, infinity, decimal comma, thousands separator, ``0x`` or ``_`` ever reaches float().
_DIGITS = "[0-9]"
NUMBER = re.compile(rf"(?P<mantissa>[+-]?{_DIGITS}+(?:\.{_DIGITS}+)?)(?:[eE](?P<exponent>[+-]?{_DIGITS}+))?")
#: IEEE 488.2 response data may also write ``.5`` and ``5.``; device drivers accept those forms too.
WIRE_NUMBER = re.compile(
    rf"(?P<mantissa>[+-]?(?:{_DIGITS}+\.?{_DIGITS}*|\.{_DIGITS}+))(?:[eE](?P<exponent>[+-]?{_DIGITS}+))?")
#: Unit names joined by ``*``, ``/`` and integer powers: ``mA``, ``mmol/L``, ``g/m**2/min``, ``µL``, ``%``.
_NAME = r"(?:[A-Za-zµμΩ]+|%)(?:\*\*[+-]?[0-9])?"
UNIT = re.compile(rf"{_NAME}(?:[*/·]{_NAME})*")
_QUANTITY = re.compile(rf"(?P<number>\S*?)\s*(?P<unit>{UNIT.pattern})?")
MAX_EXPONENT = 30
MAX_DIGITS = 30
MAX_TEXT = 64
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf(?:inity)?)(?![A-Za-z])", re.IGNORECASE)


def parse_number(text: str, where: str, *, wire: bool = False) -> int | float:
    """The finite number written as ``text`` (see ``NUMBER``); a UnitError saying what to write otherwise.

    ``wire=True`` also accepts IEEE 488.2's ``.5`` and ``5.`` (instrument replies, never a person's entry).
    A whole number stays an int, as JSON and TOML keep it.
    """
    t = text.strip()
    m = (WIRE_NUMBER if wire else NUMBER).fullmatch(t) if len(t) <= MAX_TEXT else None
    if m is None:
        raise UnitError(f"{where}: {_why_not_a_number(text)}")
    mantissa, exponent = m.group("mantissa"), m.group("exponent")
    if len(mantissa.lstrip("+-").replace(".", "")) > MAX_DIGITS:
        raise UnitError(f"{where}: {t} has more than {MAX_DIGITS} digits; write it with an exponent, like 1.5e-3")
    if exponent is not None and (len(exponent.lstrip("+-")) > 3 or abs(int(exponent)) > MAX_EXPONENT):
        raise UnitError(f"{where}: {t}: the exponent is outside -{MAX_EXPONENT} to {MAX_EXPONENT}; "
                        "check the value")
    value = int(mantissa) if exponent is None and "." not in mantissa else float(t)
    return finite(value, where)


def finite(value: Any, where: str) -> Any:
    """``value`` (a number, as JSON or TOML give it) if it is a finite number; else a UnitError."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise UnitError(f"{where}: expected a number, got {value!r}")
    try:
        ok = math.isfinite(value)
    except (OverflowError, ValueError):  # an int too large for a float; a signalling NaN
        ok = False
    if not ok:
        shown = repr(value) if len(repr(value)) <= MAX_TEXT else f"a number of {len(repr(value))} digits"
        raise UnitError(f"{where}: {shown} is not a finite number; give a real measured value")
    return value


def _why_not_a_number(text: str) -> str:
    t = text.strip()
    shown = t if len(t) <= MAX_TEXT else t[:MAX_TEXT] + "..."
    if not t:
        return "empty; give a number"
    if len(t) > MAX_TEXT:
        return f"{shown!r} is too long to be a number; give one number"
    if "," in t:
        fixed = t.replace(",", ".", 1) if t.count(",") == 1 else t.replace(",", "")
        return f"{t}: use a decimal point ({fixed}), not a comma; write numbers without thousands separators"
    if _NOT_FINITE.match(t):
        return f"{t!r} is not a number; give a finite measured value"
    return (f"cannot read {shown!r} as a number; write digits with an optional decimal point and exponent, "
            "like 1.5 or 1.5e-3 (no arithmetic, no parentheses, no separators)")


def parse_unit(text: str, where: str) -> pint.Unit:
    """A unit written as names joined by ``*``, ``/`` and integer powers; pint sees nothing else."""
    t = text.strip()
    if len(t) > MAX_TEXT or not UNIT.fullmatch(t):
        raise UnitError(f"{where}: {t!r} is not a unit; write unit names joined by * and /, like mA, "
                        "mmol/L or g/m**2/min")
    try:
        return _pint_unit(t.replace("µ", "u").replace("μ", "u").replace("·", "*"))
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
        raise UnitError(f"{where}: {t!r} is not a known unit; use units like mA, min, mg, uL, mmol/L") from None


@functools.lru_cache(maxsize=1024)
def _pint_unit(text: str) -> pint.Unit:
    return ureg.Unit(text)


def parse_quantity(value: Any, kind: str, where: str) -> pint.Quantity:
    """Parse ``value`` (a string such as ``"1.5 mA"`` or a Quantity) and check it is a finite ``kind``.

    ``where`` names the origin (``"protocols/macroduct.toml: stimulation.current"``) and appears in
    every error. Text is a number (``NUMBER``), optional spaces and a unit (``UNIT``), and nothing else;
    it must stay finite once converted to the kind's usual unit.
    """
    if isinstance(value, pint.Quantity):
        q = value
    elif isinstance(value, str):
        q = _from_text(value, kind, where)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        finite(value, where)
        raise UnitError(f"{where}: {value!r} has no unit; write it like '{_example(kind)}'")
    else:
        raise UnitError(f"{where}: expected a {kind} such as '{_example(kind)}', got {value!r}")
    if q.dimensionality != dimensionality(kind):
        raise UnitError(
            f"{where}: {format_quantity(q)} is not a {kind} (expected units like {DIMENSIONS[kind]})"
        )
    if not _finite_magnitude(q.magnitude) or (
            isinstance(value, str) and not _finite_magnitude(q.to(DIMENSIONS[kind]).magnitude)):
        raise UnitError(f"{where}: {value} is not a finite {kind}; give a real measured value")
    return q


def _from_text(value: str, kind: str, where: str) -> pint.Quantity:
    text = value.strip()
    example = f"write a {kind} like '{_example(kind)}'"
    if not text:
        raise UnitError(f"{where}: empty value; {example}")
    if len(text) > MAX_TEXT:
        raise UnitError(f"{where}: {text[:MAX_TEXT]!r}... is too long for a {kind}; {example}")
    if _NOT_FINITE.match(text):
        raise UnitError(f"{where}: {_why_not_a_number(text)}; {example}")
    m = _QUANTITY.fullmatch(text)
    if m is None:  # spaces inside the number, or junk after the unit
        raise UnitError(f"{where}: cannot read {text!r} as one number and a unit; {example}")
    number, unit = m.group("number"), m.group("unit")
    if not number:
        raise UnitError(f"{where}: {text!r} has no number; {example}")
    try:
        magnitude = parse_number(number, where)
    except UnitError as exc:
        raise UnitError(f"{exc}; {example}") from None
    if not unit:
        raise UnitError(f"{where}: {text} has no unit; {example}")
    return Q_(magnitude, parse_unit(unit, where))


def _finite_magnitude(magnitude: Any) -> bool:
    try:
        return math.isfinite(magnitude)
    except (TypeError, OverflowError, ValueError):
        return False


def number_in(value: Any, unit: str, kind: str, where: str) -> pint.Quantity:
    """A number given without its unit (a JSON number, or text in the number grammar) as a ``unit`` quantity."""
    number = parse_number(value, where) if isinstance(value, str) else finite(value, where)
    return parse_quantity(Q_(number, parse_unit(unit, where)), kind, where)


def require(q: pint.Quantity, kind: str, where: str) -> pint.Quantity:
    """Check an existing quantity's dimension and that it is finite; return it unchanged."""
    return parse_quantity(q, kind, where)


def format_quantity(q: pint.Quantity, digits: int | None = None) -> str:
    """A short human form: ``1.5 mA``, ``22 µL``."""
    mag = q.magnitude
    if digits is not None:
        mag = round(float(mag), digits)
        if digits == 0:
            mag = int(mag)
    elif isinstance(mag, float) and mag.is_integer():
        mag = int(mag)
    return f"{mag} {_litre(f'{q.units:~P}')}"


def _litre(units: str) -> str:
    """pint writes litre as ``l``; laboratories write ``L`` (µL, mmol/L)."""
    return re.sub(r"(?<![A-Za-z])([µm]?)l(?![A-Za-z])", r"\1L", units)


def magnitude_in(q: pint.Quantity, unit: str) -> float:
    """The plain number of ``q`` in ``unit``; for file formats that demand plain numbers, and for the 10 Hz
    loop (a quantity already in ``unit`` is not converted)."""
    if q.units == _unit(unit):
        return float(q.magnitude)
    return float(q.to(unit).magnitude)


@functools.cache
def _unit(unit: str) -> pint.Unit:
    return ureg.Unit(unit)


#: A number read off a device's display and typed by a person: digits, at most one decimal point, a sign.
_DISPLAYED = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
#: What a display shows, for the examples of a person's entry (in the field's unit).
_SHOWN = {"volume": 35.5, "mass": 75.2, "concentration": 45}


def entry_example(unit: str, kind: str) -> str:
    """The advice ending every refusal of a person's entry: an example in the field's ``unit``."""
    shown_unit = _litre(f"{parse_unit(unit, unit):~P}")
    return f"type the number the device shows, for example {_SHOWN.get(kind, 1)} {shown_unit}"


def parse_entry(text: str, unit: str, kind: str, what: str) -> pint.Quantity:
    """A value a person typed into a field printed with ``unit`` (the unit the device shows): a number as the
    display shows it, optionally followed by a unit of the same ``kind`` (``40 µL``, ``0.040 mL``, ``40µL``),
    returned in ``unit``. No exponent, no arithmetic, no comma: a refusal quotes exactly what was typed and
    gives an example in the field's unit; the number still goes through ``NUMBER`` (never evaluated)."""
    t = text.strip()
    shown = f"\u201c{t if len(t) <= MAX_TEXT else t[:MAX_TEXT] + '...'}\u201d"
    field_unit = _litre(f"{parse_unit(unit, what):~P}")
    example = entry_example(unit, kind)
    if not t:
        raise UnitError(f"{what}: nothing typed; {example}")
    if _NOT_FINITE.match(t):
        raise UnitError(f"{what}: {shown} is not a number; {example}")
    m = _QUANTITY.fullmatch(t) if len(t) <= MAX_TEXT else None
    if m is None:
        raise UnitError(f"{what}: {shown} is not one number with its unit; {example}")
    number, unit_text = m.group("number"), m.group("unit")
    if not number:
        raise UnitError(f"{what}: {shown} has no number; {example}")
    if "," in number:
        fixed = number.replace(",", ".", 1) if number.count(",") == 1 else number.replace(",", "")
        raise UnitError(f"{what}: {shown}: use a decimal point ({fixed}), not a comma; {example}")
    if not _DISPLAYED.fullmatch(number):
        written = (f"is written with an exponent (it would mean {float(number):g} {field_unit})"
                   if NUMBER.fullmatch(number) and _finite_magnitude(float(number))
                   else "needs a digit on each side of the decimal point, like 0.5 or 40"
                   if re.fullmatch(r"[+-]?(?:[0-9]+\.|\.[0-9]+)", number)
                   else "is not a number (only digits and one decimal point: no arithmetic, no exponent)")
        raise UnitError(f"{what}: {shown} {written}; {example}")
    if len(number.lstrip("+-").replace(".", "")) > MAX_DIGITS:  # parse_number's advice (an exponent) is no use here
        raise UnitError(f"{what}: {shown} has more than {MAX_DIGITS} digits; {example}")
    magnitude = parse_number(number, what)
    if not unit_text:
        return Q_(magnitude, parse_unit(unit, what))
    try:
        if unit_text in ("µ", "μ"):  # a prefix alone (the L forgotten); pint would read it as u, a mass
            raise UnitError(unit_text)
        typed_unit = parse_unit(unit_text, what)
    except UnitError:
        raise UnitError(f"{what}: {shown}: \u201c{unit_text}\u201d is not a unit; {example}") from None
    if typed_unit.dimensionality != dimensionality(kind):
        other = next((k for k in _SHOWN if dimensionality(k) == typed_unit.dimensionality), None)
        raise UnitError(f"{what}: {shown} is {f'a {other}, ' if other else ''}not a {kind}; {example}")
    value = Q_(magnitude, typed_unit).to(unit).magnitude
    return Q_(float(f"{value:.12g}") if typed_unit != parse_unit(unit, what) else magnitude, parse_unit(unit, what))


def _example(kind: str) -> str:
    return {"current": "1.5 mA", "time": "5 min", "mass": "75 mg", "volume": "15 uL",
            "concentration": "45 mmol/L", "area": "5.3 cm**2", "voltage": "25 V",
            "resistance": "10 kohm", "charge": "7.5 mA*min", "sweat_rate": "1 g/m**2/min",
            "fraction": "0.5 percent"}.get(kind, DIMENSIONS[kind])
