"""Event and record data to and from plain JSON: quantities travel as {"value": ..., "unit": ...}."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pint

from sweattest.core.units import Q_, parse_unit


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, pint.Quantity):
        mag = obj.magnitude
        mag = float(mag) if isinstance(mag, Decimal) else mag
        return {"value": mag, "unit": f"{obj.units:~C}"}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def from_jsonable(obj: Any) -> Any:
    """Inverse of ``to_jsonable`` for event data: {"value", "unit"} dicts become quantities again."""
    if isinstance(obj, dict):
        if set(obj) == {"value", "unit"} and isinstance(obj["unit"], str):
            return Q_(obj["value"], parse_unit(obj["unit"], "stored quantity"))
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    return obj
