"""Readings stored compactly: the readings of one write (one site, one kind, one commit) in one row.

A block's ``data`` is zlib-compressed canonical JSON, column by column: ``{"fields": [...], "t": [...],
"values": [[...], ...]}`` (one list per field) when every reading has the same fields, else ``{"rows": [...],
"t": [...]}``. ``t`` is null when each reading's own ``t`` field holds its time. Numbers are kept exactly as
JSON writes them, so every reading reads back as it was taken.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode


def pack(readings: list[tuple[float, dict[str, Any]]]) -> bytes:
    """``readings``: (t, data) pairs, in the order taken."""
    times = [t for t, _ in readings]
    datas = [d for _, d in readings]
    fields = list(datas[0])
    own_t = all(d.get("t") == t for t, d in readings)
    doc: dict[str, Any] = {"t": None if own_t else times}
    if fields and all(list(d) == fields for d in datas):
        doc |= {"fields": fields, "values": [[d[f] for d in datas] for f in fields]}
    else:
        doc["rows"] = datas
    return zlib.compress(_dumps(doc).encode("utf-8"), 9)


def unpack(blob: bytes) -> list[tuple[float, dict[str, Any]]]:
    doc = json.loads(zlib.decompress(bytes(blob)))
    if "rows" in doc:
        datas = doc["rows"]
    else:
        fields, columns = doc["fields"], doc["values"]
        datas = [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
    times = doc["t"] if doc["t"] is not None else [d["t"] for d in datas]
    return list(zip(times, datas, strict=True))
