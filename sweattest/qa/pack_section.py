"""One section of the accreditation evidence pack (``sweattest qa pack``): a titled table, written as one CSV
file and printed as one part of the pack's PDF, with the sentences that explain it and its charts.

Each QA record contributes its section through a builder ``(store, where: RunFilter) -> PackSection``, listed in
``sweattest.qa.pack.SECTION_BUILDERS`` in the order the pack prints them. ``where`` is the pack's period
(patient runs only, unless the pack was asked for other runs by name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PackSection:
    #: file-safe name: the CSV file is ``<key>.csv``
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    #: sentences printed under the title: the source of each target, what was breached, what is missing
    notes: tuple[str, ...] = ()
    #: PNG images printed after the table (e.g. Levey-Jennings charts)
    figures: tuple[bytes, ...] = ()


SectionBuilder = Callable[..., PackSection]
