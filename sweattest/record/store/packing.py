"""Readings stored compactly: many readings of one run, site and kind in one row.

A row's ``data`` is zlib-compressed canonical JSON, column by column: ``{"at": [[n, AT], ...], "fields": [...],
"t": [...], "values": [[...], ...]}`` (one list per field) when every reading has the same fields, else
``{"at": ..., "rows": [...], "t": ...}``. ``at`` gives the time each reading was committed, run-length
encoded (``n`` readings committed at ``AT``, stored UTC text); ``t`` is null when each reading's own ``t``
field holds its time. Numbers are kept exactly as JSON writes them, so every reading reads back as taken.
"""

from __future__ import annotations

import json
import zlib
from itertools import groupby
from typing import Any

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode

#: One reading: (committed at, as stored UTC text; t, seconds; data).
Reading = tuple[str, float, dict[str, Any]]


#: zlib level of a sealed block: a stimulation's 41 kB of readings take 0.5 ms at 4 (11.1 kB), 2.1 ms at 6
#: (10.9 kB) and far longer at 9.
SEALED_LEVEL = 4


def pack(readings: list[Reading], level: int = SEALED_LEVEL) -> bytes:
    times = [t for _, t, _ in readings]
    datas = [d for _, _, d in readings]
    fields = list(datas[0])
    own_t = all(d.get("t") == t for _, t, d in readings)
    doc: dict[str, Any] = {"at": [[len(list(g)), at] for at, g in groupby(at for at, _, _ in readings)],
                           "t": None if own_t else times}
    if fields and all(list(d) == fields for d in datas):
        doc |= {"fields": fields, "values": [[d[f] for d in datas] for f in fields]}
    else:
        doc["rows"] = datas
    return zlib.compress(_dumps(doc).encode("utf-8"), level)


def unpack(blob: bytes) -> list[Reading]:
    doc = json.loads(zlib.decompress(bytes(blob)))
    if "rows" in doc:
        datas = doc["rows"]
    else:
        fields, columns = doc["fields"], doc["values"]
        datas = [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
    times = doc["t"] if doc["t"] is not None else [d["t"] for d in datas]
    ats = [at for n, at in doc["at"] for _ in range(n)]
    return list(zip(ats, times, datas, strict=True))


def merge(blobs: list[bytes], level: int = SEALED_LEVEL) -> bytes:
    """What ``pack`` makes of all the readings of ``blobs`` (each made by ``pack``), in order; when the blobs
    share their fields and keep each reading's time in its own ``t``, their columns are joined without taking
    every reading apart (sealing the seconds of a stimulation into one block)."""
    docs = [json.loads(zlib.decompress(bytes(blob))) for blob in blobs]
    fields = docs[0].get("fields")
    if not fields or any(d.get("fields") != fields or d["t"] is not None for d in docs):
        return pack([reading for blob in blobs for reading in unpack(blob)], level)
    at: list[list] = []
    for doc in docs:
        for n, stamp in doc["at"]:
            if at and at[-1][1] == stamp:
                at[-1][0] += n
            else:
                at.append([n, stamp])
    values = [[v for doc in docs for v in doc["values"][k]] for k in range(len(fields))]
    return zlib.compress(_dumps({"at": at, "t": None, "fields": fields, "values": values}).encode("utf-8"), level)
