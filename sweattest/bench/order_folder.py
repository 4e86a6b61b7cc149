"""Orders waiting at a bench without an LIS feed: a folder of order files (ORDER.json, docs/formats.md), looked
up by accession each time a label is scanned, so a file dropped in is found at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.jsonfile import read_json


class OrderFolder:
    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise ValidationError(f"--orders: {folder} is not a folder; give the folder the order files are in")
        self.folder = folder

    def _orders(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.glob("*.json")):
            try:
                doc = read_json(path, "order")
            except SweatTestError:
                continue  # a half-copied or broken file is not an order; it is reported when opened by name
            if isinstance(doc, dict) and isinstance(doc.get("accession"), str):
                found.setdefault(doc["accession"], doc)
        return found

    def __contains__(self, accession: object) -> bool:
        return accession in self._orders()

    def __getitem__(self, accession: str) -> dict[str, Any]:
        return self._orders()[accession]
