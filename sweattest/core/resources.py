"""Where the shipped data (protocols/, templates/) lives: inside an installed wheel, or a source tree."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def data_dir(name: str) -> Path:
    """The folder ``name`` ("protocols" or "templates") as shipped with this installation.

    In a wheel it is ``sweattest/_data/<name>``; in a source checkout (or editable install) it is the
    top-level ``<name>/`` folder beside the package.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"sweattest installation is incomplete: no {name}/ folder found")
