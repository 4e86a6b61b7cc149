"""Sweat chloride of one site: the analyzer's measuring range, the eluate of a pad, the reportable result.

Sources:
- CLSI C34 Appendix A: the pad is eluted with a known volume of deionized water; sweat chloride =
  (eluate chloride - pad blank) x (eluate volume + sweat volume) / sweat volume, sweat volume from sweat
  weight at 1 mg/uL. Total-volume form by default; a protocol may say ``eluate_only`` (numerator without
  the sweat volume), as some lab procedures do.
- CLSI C34: the measuring range of coulometry is typically 10-160 mmol/L (analysis.lower_limit and
  upper_limit, lab-configurable). The range applies to what the analyzer measured: for an eluate, before
  the dilution is undone. An eluate below the lower limit is "< limit, not reportable" (multiplying an
  unmeasurable value by the dilution would invent a sweat chloride); a direct reading below it is reported
  as "<10". Above 160 mmol/L sweat chloride is physiologically implausible: not reported, repeat the test.
- CLSI C34: chloride reported in mmol/L as a whole number. Rounding half up, once, at the end, and the
  lower limit figure of 10 mmol/L are sweattest defaults: no guideline states them (docs/rules.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sweattest.core.errors import ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.rules.adequacy import SWEAT_DENSITY
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Q_, Quantity, format_quantity, require

SRC_ELUATE = "CLSI C34 Appendix A (eluate chloride x (eluate + sweat volume) / sweat volume)"
SRC_RANGE_LOW = "CLSI C34 (below the analyzer's lower limit reported as '<N')"
SRC_ELUATE_LOW = "CLSI C34 (the measuring range applies to the eluate the analyzer measured)"
SRC_RANGE_HIGH = "CLSI C34 (above the upper limit physiologically implausible; repeat the test)"


class ChlorideStatus(StrEnum):
    REPORTED = "reported"
    BELOW_RANGE = "below_range"
    NOT_REPORTABLE = "not_reportable"


@dataclass(frozen=True)
class ChlorideReport:
    """One site's chloride as the rules decided it.

    ``value``: whole mmol/L when reported; the lower limit when below range (read with ``comparator``
    "<"); None when not reportable (then ``repeat_required``). ``text`` is what the report prints.
    """

    status: ChlorideStatus
    value: Quantity | None
    text: str
    repeat_required: bool
    findings: tuple[Finding, ...]
    comparator: str = ""

    @property
    def reportable(self) -> bool:
        return self.status is not ChlorideStatus.NOT_REPORTABLE


def site_chloride(protocol: Protocol, measured: Quantity, *, sweat_mass: Quantity | None = None,
                  eluate_volume: Quantity | None = None, blank: Quantity | None = None) -> ChlorideReport:
    """The site's chloride from what the analyzer ``measured``: the sweat itself, or, given ``sweat_mass``,
    the eluate of a pad holding that much sweat (``eluate_volume`` defaults to the protocol's)."""
    c = require(measured, "concentration", "measured chloride").to("mmol/L")
    if c.magnitude < 0:
        raise ValidationError(f"chloride {format_quantity(c)} is negative: correct the entry")
    if sweat_mass is None:
        return report_chloride(protocol, c)
    low = protocol.lower_limit.to("mmol/L")
    if c < low:
        text = f"<{_limit_text(low)} mmol/L (eluate), not reportable"
        return ChlorideReport(ChlorideStatus.NOT_REPORTABLE, None, text, True, (Finding(
            "eluate_below_range", Severity.BLOCK,
            f"eluate chloride {format_quantity(c, 1)} is below the analyzer's lower limit of "
            f"{_limit_text(low)} mmol/L: the sweat chloride cannot be computed from it (it is never "
            "multiplied up); not reportable, repeat the test", SRC_ELUATE_LOW),))
    sweat = sweat_chloride_from_eluate(protocol, c, eluate_volume or protocol.eluate_volume, sweat_mass, blank)
    return report_chloride(protocol, sweat)


def sweat_chloride_from_eluate(protocol: Protocol, eluate_chloride: Quantity, eluate_volume: Quantity,
                               sweat_mass: Quantity, blank: Quantity | None = None) -> Quantity:
    """Sweat chloride (mmol/L, not rounded) from an eluted pad (CLSI C34 Appendix A)."""
    c = require(eluate_chloride, "concentration", "eluate chloride").to("mmol/L")
    v_eluate = require(eluate_volume, "volume", "eluate volume").to("uL")
    mass = require(sweat_mass, "mass", "sweat weight").to("mg")
    b = Q_(0, "mmol/L") if blank is None else require(blank, "concentration", "pad blank chloride")
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
    """Whole mmol/L, half up (CLSI C34). Float noise below 1e-9 mmol/L is removed first so that a value
    computed as 59.49999999999999 rounds as the 59.5 it stands for."""
    mag = Decimal(repr(float(chloride.to("mmol/L").magnitude))).quantize(Decimal("1e-9"), ROUND_HALF_UP)
    return int(mag.quantize(Decimal("1"), ROUND_HALF_UP))


def report_chloride(protocol: Protocol, chloride: Quantity) -> ChlorideReport:
    """The reportable form of a sweat chloride, within the method's range (CLSI C34)."""
    c = require(chloride, "concentration", "chloride").to("mmol/L")
    if c.magnitude < 0:
        raise ValidationError(f"chloride {format_quantity(c)} is negative: correct the entry")
    low = protocol.lower_limit.to("mmol/L")
    high = protocol.upper_limit.to("mmol/L")
    if c < low:
        limit = _limit_text(low)
        return ChlorideReport(ChlorideStatus.BELOW_RANGE, low, f"<{limit}", False, (Finding(
            "chloride_below_range", Severity.INFO,
            f"chloride below the analytical range: reported as <{limit} mmol/L", SRC_RANGE_LOW),), "<")
    if c > high:
        return ChlorideReport(ChlorideStatus.NOT_REPORTABLE, None, "not reportable (above the measuring range)",
                              True, (Finding(
                                  "chloride_above_range", Severity.BLOCK,
                                  f"chloride {format_quantity(c, 1)} is above {_limit_text(high)} mmol/L: "
                                  "physiologically implausible, not reported; repeat the test",
                                  SRC_RANGE_HIGH),))
    whole = round_half_up(c)
    return ChlorideReport(ChlorideStatus.REPORTED, Q_(whole, "mmol/L"), str(whole), False, ())


def _limit_text(limit: Quantity) -> str:
    mag = float(limit.magnitude)
    return str(int(mag)) if mag.is_integer() else f"{mag:g}"
