"""Structured findings every clinical rule returns: a stable code, a severity, a message, a source.

Severity:
- ``info``: recorded and shown, nothing to do;
- ``warn``: needs attention; where a rule allows it a tech may proceed with a recorded reason;
- ``block``: the step cannot proceed (no override).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True)
class Finding:
    """One outcome of a rule. ``code`` is stable (reports, LIMS comments and tests rely on it)."""

    code: str
    severity: Severity
    message: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": str(self.severity), "message": self.message,
                "source": self.source}


def has_block(findings: Iterable[Finding]) -> bool:
    """True when any finding blocks the step."""
    return any(f.severity is Severity.BLOCK for f in findings)


def codes(findings: Iterable[Finding]) -> list[str]:
    """The codes of ``findings`` in order (for display and tests)."""
    return [f.code for f in findings]
