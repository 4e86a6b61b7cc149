"""Sample adequacy (QNS) and sweat rate.

Sources:
- CLSI C34; CFF 2007: minimum sample 15 uL (Macroduct coil) / 75 mg (gauze, filter paper) in 30 min,
  equivalent to a sweat rate of 1 g/m2/min. Adequacy is decided by the minimum sample alone.
- CLSI C34: collection 30 minutes at most; a longer collection is flagged and the minimum rises in
  proportion (minimum x minutes / 30), so a long collection never turns a QNS into an adequate sample.
- CLSI C34: gravimetric sample = post - pre weight on an analytical balance. Both weights keep the
  balance's own precision (0.01 mg on a semi-micro balance) through the subtraction; the sample is rounded
  once, for display only, so 1075.03 - 1000.04 mg is a QNS 74.99 mg, never an adequate 75.0 mg.
- Plausibility (collection.maximum_sample): a Macroduct coil holds about 85 uL (Macroduct 3710 manual); a
  2x2 in gauze yields tens to a few hundred mg (CLSI C34 Appendix A). A sample beyond what the method can
  physically yield is an entry or instrument error: refused, naming the limit, never a result.
- Sweat rate (g/m2/min) = sample (mg) / (area (m2) x minutes) / 1000; sweat density 1 mg/uL.
- The adequacy criterion is the lab's choice among sourced criteria (``CRITERIA``; ``[adequacy] criterion``,
  default per range set, ``DEFAULT_CRITERION``): ``minimum_sample`` (CLSI C34; CFF 2007: 15 uL / 75 mg in
  at most 30 min; the sweat rate is then for information only) or ``sweat_rate`` (Macroduct 3710 manual;
  ACB 2014: a minimum sweat rate of 1 g/m2/min, the protocol's ``collection.minimum_sweat_rate`` over its
  ``collection.area``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sweattest.core.errors import ValidationError
from sweattest.core.protocol import MAXIMUM_SAMPLE_SOURCE, Protocol
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.range_sets import ALL as RANGE_SETS
from sweattest.core.units import Q_, Quantity, format_quantity, require

#: Sweat density used to turn a volume into a mass (CLSI C34: taken as 1 mg/uL).
SWEAT_DENSITY = Q_(1, "mg/uL")

SRC_MINIMUM = "CLSI C34; CFF 2007 (minimum sample 15 uL / 75 mg in 30 min)"
SRC_MAX_TIME = "CLSI C34 (collection 30 min at most; minimum x minutes / 30 beyond)"
SRC_RATE = "CLSI C34 (sweat rate 1 g/m2/min, informational)"
SRC_RATE_CRITERION = ("Macroduct 3710 manual; ACB 2014 (2nd version), sweat collection: minimum sweat rate "
                      "1 g/m2/min")
MINIMUM_SAMPLE, SWEAT_RATE = "minimum_sample", "sweat_rate"
#: criterion -> what it decides adequacy by, and its source
CRITERIA = {MINIMUM_SAMPLE: ("the minimum sample in at most 30 min", "CLSI C34; CFF 2007"),
            SWEAT_RATE: ("a sweat rate of at least 1 g/m²/min", "Macroduct 3710 manual; ACB 2014")}
#: the criterion of each range set's guideline when the lab chooses none: the UK guideline uses the sweat rate
DEFAULT_CRITERION = {rs.name: rs.adequacy for rs in RANGE_SETS}
assert set(DEFAULT_CRITERION.values()) <= set(CRITERIA), "a range set names an unknown adequacy criterion"


def check_criterion(criterion: str) -> str:
    if criterion not in CRITERIA:
        raise ValidationError(f"adequacy criterion {criterion!r}: use one of {', '.join(CRITERIA)}")
    return criterion


@dataclass(frozen=True)
class Adequacy:
    """Whether one site's sample is enough for chloride analysis; not adequate means QNS."""

    adequate: bool
    sample: Quantity
    sweat_rate: Quantity
    findings: tuple[Finding, ...]


def assess_volume(protocol: Protocol, volume: Quantity, collection_time: Quantity,
                  criterion: str = MINIMUM_SAMPLE) -> Adequacy:
    """Adequacy of a volumetric (Macroduct coil) sample of ``volume`` collected for ``collection_time``, by
    the lab's ``criterion``."""
    if protocol.gravimetric:
        raise ValidationError(f"method {protocol.name} collects by weight: enter pre and post weights, "
                              "not a volume")
    volume = require(volume, "volume", "sample volume")
    minutes = _collection_minutes(collection_time)
    if volume.magnitude < 0:
        raise ValidationError(f"sample volume {format_quantity(volume)} is negative: correct the reading "
                              "(a dry collector is 0 uL)")
    check_plausible(protocol, volume)
    return _assess(protocol, volume.to("uL"), volume * SWEAT_DENSITY, minutes, criterion)


def assess_weights(protocol: Protocol, pre: Quantity, post: Quantity, collection_time: Quantity,
                   criterion: str = MINIMUM_SAMPLE) -> Adequacy:
    """Adequacy of a gravimetric sample weighed ``pre`` and ``post`` collection (CLSI C34 Appendix A), by
    the lab's ``criterion``."""
    if not protocol.gravimetric:
        raise ValidationError(f"method {protocol.name} reads the sample as a volume: enter the volume, "
                              "not weights")
    minutes = _collection_minutes(collection_time)
    sample = sample_weight(pre, post)
    check_plausible(protocol, sample)
    return _assess(protocol, sample, sample, minutes, criterion)


def sample_weight(pre: Quantity, post: Quantity) -> Quantity:
    """post - pre in Decimal at the precision each weight was read with (CLSI C34): 1112.4 - 1012.4 is
    exactly 100.0 mg and 1075.03 - 1000.04 is 74.99 mg; nothing is rounded here.

    A negative, zero or falling weight is an entry or weighing error to correct, never a QNS.
    """
    pre_mg = _exact_mg(require(pre, "mass", "pre weight"), "pre weight")
    post_mg = _exact_mg(require(post, "mass", "post weight"), "post weight")
    if post_mg < pre_mg:
        raise ValidationError(f"post weight {post_mg} mg is below pre weight {pre_mg} mg: re-weigh or "
                              "correct the entry (a sample cannot weigh less than nothing)")
    return Q_(float(post_mg - pre_mg), "mg")


def check_plausible(protocol: Protocol, sample: Quantity) -> None:
    """Refuse a sample the method cannot physically yield (collection.maximum_sample and its source)."""
    limit = protocol.maximum_sample
    if sample.to(limit.units).magnitude > limit.magnitude:
        what = "weight" if protocol.gravimetric else "volume"
        source = protocol.sources.get("collection.maximum_sample", MAXIMUM_SAMPLE_SOURCE[protocol.collection_kind])
        raise ValidationError(
            f"sample {what} {format_quantity(sample.to(limit.units), 2)} is above the {format_quantity(limit)} "
            f"maximum ({source}): an entry or instrument error, not a result; "
            f"{'re-weigh' if protocol.gravimetric else 'read the coil again'} and enter the value shown")


def sweat_rate(sample_mass: Quantity, area: Quantity, collection_time: Quantity) -> Quantity:
    """g/m2/min = mg / (m2 x min) / 1000 (CLSI C34; 1 mg/(cm2 min) = 10 g/m2/min)."""
    return (sample_mass / (area * collection_time)).to("g/m**2/min")


def minimum_for(protocol: Protocol, collection_time: Quantity) -> Quantity:
    """The minimum sample for a collection of ``collection_time`` (CLSI C34).

    Up to the protocol's maximum time the minimum is the protocol's; beyond it the minimum rises in
    proportion (minimum x minutes / 30 with the 30-minute maximum).
    """
    if collection_time <= protocol.max_collection_time:
        return protocol.minimum_sample
    return protocol.minimum_sample * (collection_time / protocol.max_collection_time).to("dimensionless")


def _assess(protocol: Protocol, sample: Quantity, mass: Quantity, minutes: Quantity, criterion: str) -> Adequacy:
    check_criterion(criterion)
    findings: list[Finding] = []
    minimum = minimum_for(protocol, minutes)
    if minutes > protocol.max_collection_time:
        findings.append(Finding(
            "collection_too_long", Severity.WARN,
            f"collection ran {format_quantity(minutes)}, longer than the "
            f"{format_quantity(protocol.max_collection_time)} maximum; minimum sample raised to "
            f"{format_quantity(minimum.to(sample.units), 1)}", SRC_MAX_TIME))
    rate = sweat_rate(mass, protocol.area, minutes)
    if criterion == SWEAT_RATE:
        return _by_rate(protocol, sample, rate, findings)
    # compared at 1e-9 so that float noise in a scaled minimum never decides a boundary case
    adequate = round(sample.to(minimum.units).magnitude - minimum.magnitude, 9) >= 0
    if not adequate:
        findings.append(Finding(
            "sample_qns", Severity.BLOCK,
            f"QNS: {format_quantity(sample)} is below the minimum of "
            f"{format_quantity(minimum.to(sample.units), 1)}; no chloride is analysed for this site",
            SRC_MINIMUM))
    if rate < protocol.minimum_sweat_rate:
        findings.append(Finding(
            "sweat_rate_low", Severity.INFO,
            f"sweat rate {format_quantity(rate, 2)} is below {format_quantity(protocol.minimum_sweat_rate)} "
            "(information only; adequacy is decided by the minimum sample)", SRC_RATE))
    return Adequacy(adequate=adequate, sample=sample, sweat_rate=rate, findings=tuple(findings))


def _by_rate(protocol: Protocol, sample: Quantity, rate: Quantity, findings: list[Finding]) -> Adequacy:
    """Adequate when the sweat rate reaches the protocol's minimum (1 g/m2/min), compared at 1e-9 before any
    display rounding: 21 uL on 5.3 cm2 in 40 min is 0.99 g/m2/min, QNS."""
    minimum = protocol.minimum_sweat_rate
    adequate = round(float(rate.to(minimum.units).magnitude) - float(minimum.magnitude), 9) >= 0
    if not adequate:
        findings.append(Finding(
            "sample_qns", Severity.BLOCK,
            f"QNS: sweat rate {format_quantity(rate, 2)} ({format_quantity(sample)}) is below the minimum of "
            f"{format_quantity(minimum)}; no chloride is analysed for this site", SRC_RATE_CRITERION))
    return Adequacy(adequate=adequate, sample=sample, sweat_rate=rate, findings=tuple(findings))


def _collection_minutes(collection_time: Quantity) -> Quantity:
    t = require(collection_time, "time", "collection time").to("min")
    if t.magnitude <= 0:
        raise ValidationError(f"collection time {format_quantity(t)} must be above 0 min: correct it")
    return t


def _exact_mg(q: Quantity, what: str) -> Decimal:
    """The weight in mg as the decimal it was written or read as (the shortest repr of the float)."""
    mg = Decimal(repr(float(q.to("mg").magnitude)))
    if mg <= 0:
        raise ValidationError(f"{what} {mg} mg is impossible (a container weighs more than 0 mg): "
                              "re-weigh or correct the entry")
    return mg
