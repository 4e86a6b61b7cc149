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


#: Source of the rule that a block withholds the interpretation.
SRC_WITHHELD = ("CLSI C34; CFF 2017 (a sweat test collected against a block - under the minimum age, at a "
                "forbidden site - is not interpreted; the test is repeated)")


def withheld_because(findings: Iterable[Finding]) -> str | None:
    """Why the interpretation is withheld, or None. Any block finding on the test as a whole (eligibility:
    age under the minimum, a site not allowed, skin not intact...) withholds it: the result then says why and
    that the test is to be repeated. Per-site sample and chloride findings are not passed here: a QNS or
    out-of-range site is handled by the interpretation itself (the other site may still be reported)."""
    blocks = [f for f in findings if f.severity is Severity.BLOCK]
    if not blocks:
        return None
    return ("interpretation withheld: " + "; ".join(f"{f.message} ({f.code})" for f in blocks)
            + ". Repeat the test once this is resolved.")
