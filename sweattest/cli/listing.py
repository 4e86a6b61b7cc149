"""Lists printed by the CLI (`--format table|json`): one JSON object per row and line, or a table."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def print_listing(rows: list[dict[str, Any]], fmt: str, *, empty: str, header: str,
                  line: Callable[[dict[str, Any]], str]) -> None:
    """``fmt`` "json": each row as JSON with sorted keys, one per line (nothing when there are none); else
    ``empty`` when there is no row, or ``header`` and one ``line`` per row."""
    if fmt == "json":
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    if not rows:
        print(empty)
        return
    print(header)
    for row in rows:
        print(line(row))
