"""One pint registry for the whole program, and the checked parsing of quantities.

Every physical quantity is a pint Quantity from the wire to the report. A wrong dimension is an error
naming where the value came from, never a silent conversion.
"""

from __future__ import annotations

import functools
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
    return ureg(DIMENSIONS[kind]).dimensionality


def parse_quantity(value: Any, kind: str, where: str) -> pint.Quantity:
    """Parse ``value`` (a string such as ``"1.5 mA"`` or a Quantity) and check it is a ``kind``.

    ``where`` names the origin (``"protocols/macroduct.toml: stimulation.current"``) and appears in
    every error.
    """
    expected = DIMENSIONS[kind]
    if isinstance(value, pint.Quantity):
        q = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise UnitError(f"{where}: empty value; give a {kind} such as '{_example(kind)}'")
        try:
            q = ureg.Quantity(text.replace("µ", "u").replace("·", "*"))
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError) as exc:
            raise UnitError(
                f"{where}: cannot read {value!r} as a {kind}; write it like '{_example(kind)}' ({exc})"
            ) from None
        if not isinstance(q, pint.Quantity):
            q = ureg.Quantity(q)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise UnitError(f"{where}: {value!r} has no unit; write it like '{_example(kind)}'")
    else:
        raise UnitError(f"{where}: expected a {kind} such as '{_example(kind)}', got {value!r}")
    if q.dimensionality != dimensionality(kind):
        raise UnitError(
            f"{where}: {format_quantity(q)} is not a {kind} (expected units like {expected})"
        )
    return q


def require(q: pint.Quantity, kind: str, where: str) -> pint.Quantity:
    """Check an existing quantity's dimension; return it unchanged."""
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
    """The plain number of ``q`` in ``unit``; for file formats that demand plain numbers."""
    return float(q.to(unit).magnitude)


def _example(kind: str) -> str:
    return {"current": "1.5 mA", "time": "5 min", "mass": "75 mg", "volume": "15 uL",
            "concentration": "45 mmol/L", "area": "5.3 cm**2", "voltage": "25 V",
            "resistance": "10 kohm", "charge": "7.5 mA*min", "sweat_rate": "1 g/m**2/min",
            "fraction": "0.5 percent"}.get(kind, DIMENSIONS[kind])
