"""Typed field access for JSON documents: each error names the field path and the fix."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sweattest.core.errors import ValidationError
from sweattest.core.units import finite

#: A patient's administrative sex as orders and HL7 PID-8 give it.
SEXES = ("F", "M", "O", "U")

_MISSING = object()


def field(doc: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...], *,
          required: bool = True, default: Any = None) -> Any:
    if not isinstance(doc, dict):
        raise ValidationError(f"{where}: expected an object")
    value = doc.get(key, _MISSING)
    path = f"{where}.{key}" if where else key
    if value is _MISSING or value is None:
        if required:
            raise ValidationError(f"{path}: missing; add it")
        return default
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ValidationError(f"{path}: expected {_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise ValidationError(f"{path}: expected {_name(kind)}, got {type(value).__name__} {value!r}")
    if isinstance(value, str) and not value.strip():
        raise ValidationError(f"{path}: empty; give a value")
    return value


#: The one way a date is written, typed or in a file: year, month, day (ISO 8601 calendar date).
DATE_FORM = "YYYY-MM-DD"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d also takes other scripts' digits


def typed_date(text: str, what: str) -> date:
    """A date written YYYY-MM-DD (exactly: no other ISO form, no day-first or month-first form, no time), and a
    day of the calendar. Else a ValidationError quoting exactly what was given, with an example: a typing error
    to correct, never read as some other date."""
    if not _DATE.fullmatch(text):
        raise ValidationError(f"{what}: {text!r} is not a date; write it as {DATE_FORM}, for example "
                              "2024-03-15 for 15 March 2024")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what}: {text!r} is not a date; there is no such day in the calendar. Write it "
                              f"as {DATE_FORM}, for example 2024-03-15 for 15 March 2024") from None


def date_field(doc: dict[str, Any], key: str, where: str, *, required: bool = True) -> date | None:
    text = field(doc, key, where, str, required=required)
    if text is None:
        return None
    return typed_date(text, f"{where}.{key}")


def number_field(doc: dict[str, Any], key: str, where: str, *, required: bool = True,
                 minimum: float | None = None, maximum: float | None = None) -> float | None:
    value = field(doc, key, where, (int, float), required=required)
    if value is None:
        return None
    finite(value, f"{where}.{key}")
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise ValidationError(f"{where}.{key}: {value} is out of range ({minimum} to {maximum})")
    return float(value)


def _name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object",
             bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))
