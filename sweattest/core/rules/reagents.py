"""Reagent checks before stimulation.

Source: CLSI C34 (stimulation reagents; quality assurance): pilocarpine nitrate 0.5 %; reagents are used
within their expiry and their lot is recorded for every run. An expired pilocarpine lot blocks stimulation.
"""

from __future__ import annotations

from datetime import date

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Finding, Severity

SRC_LOT = "CLSI C34 (reagents within expiry, lot recorded; an expired lot blocks stimulation)"


def check_pilocarpine_lot(lot: str, expires: date, on: date) -> list[Finding]:
    """Findings for using pilocarpine ``lot`` (expiring ``expires``) on day ``on``.

    A lot is usable through its expiry date; from the next day it blocks stimulation.
    """
    if not isinstance(lot, str) or not lot.strip():
        raise ValidationError("pilocarpine lot: enter the lot number printed on the pack")
    if not isinstance(expires, date) or not isinstance(on, date):
        raise ValidationError("pilocarpine lot: expiry and test dates must be dates (YYYY-MM-DD)")
    if on > expires:
        return [Finding("pilocarpine_lot_expired", Severity.BLOCK,
                        f"pilocarpine lot {lot.strip()} expired on {expires.isoformat()}: use an "
                        "in-date lot; stimulation is blocked", SRC_LOT)]
    return []


def lot_block(lot: str, expires: date, on: date) -> Finding | None:
    """The one decision whether a pilocarpine lot blocks stimulation on day ``on``: the blocking finding, or
    None. Every place that starts or continues a stimulation asks this."""
    return next((f for f in check_pilocarpine_lot(lot, expires, on) if f.severity is Severity.BLOCK), None)
