"""Reading JSON input files with errors that name the file and the problem."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweattest.core.errors import ValidationError


def read_json(path: str | Path, what: str) -> Any:
    """Parse ``path`` (``-`` for stdin); ``what`` names the document in errors ("order", "scenario")."""
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{what} file {path} not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{what} file {path} cannot be read: {exc}") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant(what, path))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}; fix the JSON syntax") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ValidationError(f"{what} file {path}: a number is too long ({exc}); check the file") from None
    except RecursionError:
        raise ValidationError(f"{what} file {path}: nested too deeply to be a {what}; check the file") from None


def _refuse_constant(what: str, path: str | Path) -> Callable[[str], Any]:
    """NaN and Infinity are not JSON, though Python's reader accepts them; they would pass every range check."""
    def refuse(name: str) -> Any:
        raise ValidationError(f"{what} file {path}: {name} is not a number; give a finite measured value")
    return refuse
