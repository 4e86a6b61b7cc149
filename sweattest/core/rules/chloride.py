"""Sweat chloride: from the eluate of a gauze/filter-paper sample, and the reportable result.

Sources (sweat-testing sheet §3, §4):
- CLSI C34 Appendix A: the pad is eluted with a known volume of deionized water; sweat chloride =
  (eluate chloride - pad blank) x (eluate volume + sweat volume) / sweat volume, sweat volume from sweat
  weight at 1 mg/uL. Total-volume form by default; a protocol may say ``eluate_only`` (numerator without
  the sweat volume), as some lab procedures do.
- CLSI C34: analytical range of coulometry typically 10-160 mmol/L; below the lower limit reported as
  "<10"; above 160 mmol/L physiologically implausible: not reported, the test must be repeated (both
  limits lab-configurable in the protocol file).
- CLSI C34 (sheet §4): chloride reported in mmol/L as a whole number, rounded half up once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sweattest.core.errors import ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.rules.adequacy import SWEAT_DENSITY
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Q_, Quantity, format_quantity, require

SRC_ELUATE = "CLSI C34 Appendix A (sheet §3: eluate chloride x (eluate + sweat volume) / sweat volume)"
SRC_RANGE_LOW = "CLSI C34 (sheet §3: below the analyzer's lower limit reported as '<N')"
SRC_RANGE_HIGH = "CLSI C34 (sheet §3: above the upper limit physiologically implausible; repeat the test)"
SRC_ROUNDING = "CLSI C34 (sheet §4: whole mmol/L, round half up once at the end)"


@dataclass(frozen=True)
class ChlorideReport:
    """One site's chloride as a report prints it.

    ``value`` is the whole-number result in mmol/L; ``text`` is what the report prints ("45", "<10"),
    None when the result is not reportable (then ``repeat_required``).
    """

    value: Quantity
    text: str | None
    reportable: bool
    repeat_required: bool
    findings: tuple[Finding, ...]


def sweat_chloride_from_eluate(protocol: Protocol, eluate_chloride: Quantity, eluate_volume: Quantity,
                               sweat_mass: Quantity, blank: Quantity | None = None) -> Quantity:
    """Sweat chloride (mmol/L, not rounded) from an eluted pad (CLSI C34 Appendix A; sheet §3)."""
    c = require(eluate_chloride, "concentration", "eluate chloride").to("mmol/L")
    v_eluate = require(eluate_volume, "volume", "eluate volume").to("uL")
    mass = require(sweat_mass, "mass", "sweat weight").to("mg")
    b = Q_(0, "mmol/L") if blank is None else require(blank, "concentration", "pad blank chloride")
    if c.magnitude < 0:
        raise ValidationError(f"eluate chloride {format_quantity(c)} is negative: correct the entry")
    if b.magnitude < 0:
        raise ValidationError(f"pad blank chloride {format_quantity(b)} is negative: correct the entry")
    if v_eluate.magnitude <= 0:
        raise ValidationError(f"eluate volume {format_quantity(v_eluate)} must be above 0: correct it")
    if mass.magnitude <= 0:
        raise ValidationError(f"sweat weight {format_quantity(mass)} must be above 0 mg to compute "
                              "chloride from an eluate")
    net = c - b
    if net.magnitude < 0:
        raise ValidationError(f"pad blank {format_quantity(b)} is above the eluate chloride "
                              f"{format_quantity(c)}: repeat the blank or the eluate measurement")
    v_sweat = (mass / SWEAT_DENSITY).to("uL")
    numerator = v_eluate if protocol.eluate_formula == "eluate_only" else v_eluate + v_sweat
    return (net * numerator / v_sweat).to("mmol/L")


def round_half_up(chloride: Quantity) -> int:
    """Whole mmol/L, half up (sheet §4). Float noise below 1e-9 mmol/L is removed first so that a value
    computed as 59.49999999999999 rounds as the 59.5 it stands for."""
    mag = Decimal(repr(float(chloride.to("mmol/L").magnitude))).quantize(Decimal("1e-9"), ROUND_HALF_UP)
    return int(mag.quantize(Decimal("1"), ROUND_HALF_UP))


def report_chloride(protocol: Protocol, chloride: Quantity) -> ChlorideReport:
    """The reportable form of a measured chloride, within the method's analytical range (CLSI C34)."""
    c = require(chloride, "concentration", "chloride").to("mmol/L")
    if c.magnitude < 0:
        raise ValidationError(f"chloride {format_quantity(c)} is negative: correct the entry")
    whole = Q_(round_half_up(c), "mmol/L")
    low = protocol.lower_limit.to("mmol/L")
    high = protocol.upper_limit.to("mmol/L")
    if c < low:
        limit = _limit_text(low)
        return ChlorideReport(whole, f"<{limit}", True, False, (Finding(
            "chloride_below_range", Severity.INFO,
            f"chloride below the analytical range: reported as <{limit} mmol/L", SRC_RANGE_LOW),))
    if c > high:
        return ChlorideReport(whole, None, False, True, (Finding(
            "chloride_above_range", Severity.BLOCK,
            f"chloride {format_quantity(c, 1)} is above {_limit_text(high)} mmol/L: physiologically "
            "implausible, not reported; repeat the test", SRC_RANGE_HIGH),))
    return ChlorideReport(whole, str(int(whole.magnitude)), True, False, ())


def _limit_text(limit: Quantity) -> str:
    mag = float(limit.magnitude)
    return str(int(mag)) if mag.is_integer() else f"{mag:g}"
