"""Pilocarpine lot expiry: CLSI C34: an expired lot blocks stimulation."""

from datetime import date

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Severity, has_block
from sweattest.core.rules.reagents import check_pilocarpine_lot

# (expires, on, blocked, source)
LOT_CASES = [
    (date(2026, 11, 20), date(2026, 11, 19), False, "CLSI C34: in date"),
    (date(2026, 11, 20), date(2026, 11, 20), False, "CLSI C34: usable through its expiry date"),
    (date(2026, 11, 20), date(2026, 11, 21), True, "CLSI C34: the day after expiry blocks stimulation"),
]


@pytest.mark.parametrize(("expires", "on", "blocked", "source"), LOT_CASES)
def test_pilocarpine_lot_expiry(expires, on, blocked, source):
    findings = check_pilocarpine_lot("PG-2291", expires, on)
    assert has_block(findings) is blocked, source
    if blocked:
        assert findings[0].code == "pilocarpine_lot_expired"
        assert findings[0].severity is Severity.BLOCK
        assert "PG-2291" in findings[0].message


def test_lot_number_required():
    with pytest.raises(ValidationError, match="lot"):
        check_pilocarpine_lot("  ", date(2027, 1, 1), date(2026, 1, 1))
