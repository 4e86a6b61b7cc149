"""Checks on values before they enter the store: aware times, plain JSON data, canonical JSON text.

A refused value raises ``StoreError`` before anything is written, so nothing is half-stored.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from sweattest.errors import StoreError


def check_time(value: Any, field: str) -> datetime:
    """``value`` if it is an aware datetime; a naive or non-datetime value is refused."""
    if not isinstance(value, datetime):
        raise StoreError(f"{field} must be a datetime, got {type(value).__name__}; nothing was stored")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"refusing a naive datetime {value.isoformat()} for {field}: records need an aware "
                         "UTC time (the clock's utcnow()); nothing was stored")
    return value


def check_plain_json(value: Any, field: str, path: str = "") -> Any:
    """``value`` if it would come back unchanged from JSON; quantities, tuples, NaN, sets are refused."""
    where = f"{field}{path}"
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(f"{where} is {value}, which JSON cannot hold; nothing was stored")
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain_json(item, field, f"{path}[{i}]")
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoreError(f"{where} has a non-text key {key!r}; nothing was stored")
            check_plain_json(item, field, f"{path}.{key}")
        return value
    raise StoreError(f"{where} is a {type(value).__name__}, not a plain JSON value; store quantities as "
                     '{"value": ..., "unit": ...}; nothing was stored')


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
