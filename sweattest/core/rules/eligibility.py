"""Who may be tested, when, and where on the body; overrides of warnings with a recorded reason.

Sources:
- CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15): newborn-screen-positive infants are tested once
  > 2 kg and >= 36 weeks corrected gestational age, as soon as possible after 10 days of age (ideally by
  4 weeks).
- CFF 2007 (LeGrys et al.) and CLSI C34 teaching: >= 2 weeks of age for asymptomatic infants; labs do not
  collect under 48 hours of age (a block, never overridden).
- ACB 2014 (UK guideline, 2nd version): >= 2 weeks and >= 3 kg. The limits where guidelines differ are lab
  configuration (``Limits``; ``[eligibility]`` in sweattest.toml) with the CFF 2017 values as defaults.
- CLSI C34: warn on dehydration, oedema, systemic illness, systemic corticosteroids, eczema or broken
  skin, oxygen by open delivery; CLSI C34 (2024) adds implanted electronic devices, epilepsy and
  pregnancy as reasons to consult first. These are warnings: the tech may proceed with a recorded reason,
  one reason per warning.
- CLSI C34: never stimulate across the chest or the head, never over broken, inflamed or eczematous skin;
  use the flexor forearm, or the upper arm / thigh in small infants. A site that breaks this is blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sweattest.core.errors import ValidationError
from sweattest.core.rules.age import calendar_age, local_date
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Q_, Quantity, format_quantity, require

SRC_MIN_AGE = "CLSI C34; CFF 2007 (labs do not collect under 48 hours of age)"
SRC_10D = "CFF 2017 (as soon as possible after 10 days of age)"
SRC_RECOMMENDED_AGE = "CFF 2007; CLSI C34 (>= 2 weeks for asymptomatic infants); ACB 2014 (>= 2 weeks)"
SRC_CGA = "CFF 2017 (>= 36 weeks corrected gestational age)"
SRC_WEIGHT = "CFF 2017 (tested once > 2 kg); ACB 2014 (>= 3 kg)"
SRC_CONDITION = "CLSI C34 (contraindications to warn on)"
SRC_CONSULT = "CLSI C34 (2024) (consult first)"
SRC_SITE = "CLSI C34 (flexor forearm, or upper arm/thigh in small infants; never chest or head)"
SRC_SKIN = "CLSI C34 (never over broken, inflamed or eczematous skin)"
SRC_OVERRIDE = "CLSI C34 (below the blocks a tech may proceed with a recorded reason)"


@dataclass(frozen=True)
class Limits:
    """The limits where guidelines differ: lab configuration, CFF 2017 / CFF 2007 values by default."""

    #: under this age: block (CLSI C34; CFF 2007: 48 hours)
    min_age: Quantity = Q_(48, "h")
    #: under this age: warning (CFF 2007 / CLSI C34 teaching, ACB 2014: 2 weeks)
    recommended_age: Quantity = Q_(2, "week")
    #: at or under this weight: warning (CFF 2017: tested once > 2 kg; ACB 2014 uses 3 kg)
    min_weight: Quantity = Q_(2, "kg")
    #: corrected gestational age under this: warning (CFF 2017: 36 weeks)
    min_corrected_ga: Quantity = Q_(36, "week")

    def as_dict(self) -> dict[str, str]:
        return {k: format_quantity(getattr(self, k)) for k in self.__dataclass_fields__}


#: The CFF 2017 / CFF 2007 limits, used when the lab configures none.
DEFAULT_LIMITS = Limits()

#: Contraindications: code -> (text, source)
CONDITIONS: dict[str, tuple[str, str]] = {
    "dehydration": ("dehydration", SRC_CONDITION),
    "oedema": ("oedema", SRC_CONDITION),
    "systemic_illness": ("systemic illness", SRC_CONDITION),
    "systemic_corticosteroids": ("systemic corticosteroids", SRC_CONDITION),
    "eczema": ("eczema", SRC_CONDITION),
    "broken_skin": ("broken skin", SRC_CONDITION),
    "open_oxygen": ("oxygen by open delivery (spark risk)", SRC_CONDITION),
    "implanted_device": ("implanted electronic device: consult first", SRC_CONSULT),
    "epilepsy": ("epilepsy: consult first", SRC_CONSULT),
    "pregnancy": ("pregnancy: consult first", SRC_CONSULT),
}
#: Stimulation sites (CLSI C34): flexor forearm; upper arm or thigh in small infants.
SITES = ("left_forearm", "right_forearm", "left_upper_arm", "right_upper_arm", "left_thigh", "right_thigh")
SKIN_PROBLEMS = ("broken", "inflamed", "eczematous")


@dataclass(frozen=True)
class Override:
    """A tech's decision to proceed despite one warning; the reason is recorded with the run."""

    code: str
    reason: str
    by: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason, "by": self.by}


@dataclass(frozen=True)
class Decision:
    """Whether the test may proceed: no block and every warning overridden with its own reason."""

    allowed: bool
    findings: tuple[Finding, ...]
    overrides: tuple[Override, ...]

    @property
    def blocks(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.BLOCK]

    @property
    def pending(self) -> list[Finding]:
        """Warnings that still need a reason."""
        done = {o.code for o in self.overrides}
        return [f for f in self.findings if f.severity is Severity.WARN and f.code not in done]

    def refusal(self) -> str | None:
        """Why the test may not proceed, and what to do; None when it may."""
        if self.blocks:
            return ("do not stimulate: " + "; ".join(f.message for f in self.blocks))
        if self.pending:
            return ("each warning needs its own recorded reason to proceed; no reason yet for: "
                    + "; ".join(f"{f.code} ({f.message})" for f in self.pending))
        return None

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "overrides": [o.to_dict() for o in self.overrides]}


def check_patient(born: date | datetime, on: datetime, *, gestational_age_at_birth: Quantity | None = None,
                  weight: Quantity | None = None, conditions: Iterable[str] = (),
                  limits: Limits = DEFAULT_LIMITS, zone: tzinfo = UTC) -> list[Finding]:
    """Eligibility of a patient born ``born`` for collection at ``on`` (aware datetime); ages in days are
    calendar days to the collection date in the lab's ``zone``."""
    if on.tzinfo is None:
        raise ValidationError("collection time must carry a time zone (e.g. 2026-11-20T10:00:00Z)")
    findings = _age(born, on, limits, zone)
    days = (local_date(on, zone) - _birth_date(born, zone)).days
    if gestational_age_at_birth is not None:
        findings.extend(_corrected_ga(gestational_age_at_birth, days, limits))
    if weight is not None:
        w = require(weight, "mass", "patient weight")
        if w.magnitude <= 0:
            raise ValidationError(f"patient weight {format_quantity(w)} must be above 0: correct it")
        if w <= limits.min_weight:
            findings.append(Finding(
                "weight_at_or_under_minimum", Severity.WARN, f"weight {format_quantity(w.to('kg'))} is not above "
                f"{format_quantity(limits.min_weight.to('kg'))}: test once the weight is above it", SRC_WEIGHT))
    for code in dict.fromkeys(conditions):
        if code not in CONDITIONS:
            raise ValidationError(f"unknown condition {code!r}; use one of {', '.join(CONDITIONS)}")
        text, source = CONDITIONS[code]
        findings.append(Finding(f"condition_{code}", Severity.WARN, f"contraindication: {text}", source))
    return findings


def check_site(site: str, skin: Iterable[str] = ()) -> list[Finding]:
    """A stimulation site: an allowed body site with intact skin (CLSI C34)."""
    findings = []
    if site not in SITES:
        findings.append(Finding("site_not_allowed", Severity.BLOCK, f"site {site!r} is not a stimulation "
                                f"site; use one of {', '.join(SITES)}", SRC_SITE))
    for problem in skin:
        if problem not in SKIN_PROBLEMS:
            raise ValidationError(f"unknown skin problem {problem!r}; use one of {', '.join(SKIN_PROBLEMS)}")
        findings.append(Finding("site_skin_not_intact", Severity.BLOCK, f"{site}: skin is {problem}; "
                                "choose another site", SRC_SKIN))
    return findings


def decide(findings: Sequence[Finding], overrides: Iterable[Override] = ()) -> Decision:
    """Apply a tech's overrides: each warning may be overridden with its own reason; a block never."""
    by_code = {f.code: f for f in findings}
    accepted: dict[str, Override] = {}
    for o in overrides:
        finding = by_code.get(o.code)
        if finding is None:
            raise ValidationError(f"override {o.code!r}: there is no such finding to override; remove it "
                                  f"(findings: {', '.join(by_code) or 'none'})")
        if finding.severity is Severity.BLOCK:
            raise ValidationError(f"override {o.code!r}: a block cannot be overridden ({finding.message})")
        if not o.reason.strip() or not o.by.strip():
            raise ValidationError(f"override {o.code!r}: give a reason and who decided; both are recorded")
        if o.code in accepted:
            raise ValidationError(f"override {o.code!r} is given twice: give one reason per warning")
        accepted[o.code] = o
    out = list(findings)
    out += [Finding("override", Severity.INFO, f"{o.code} overridden by {o.by}: {o.reason}", SRC_OVERRIDE)
            for o in accepted.values()]
    blocked = any(f.severity is Severity.BLOCK for f in findings)
    pending = [f for f in findings if f.severity is Severity.WARN and f.code not in accepted]
    return Decision(not blocked and not pending, tuple(out), tuple(accepted.values()))


def assess(born: date | datetime, on: datetime, *, sites: Iterable[str] = (),
           gestational_age_at_birth: Quantity | None = None, weight: Quantity | None = None, zone: tzinfo = UTC,
           conditions: Iterable[str] = (), overrides: Iterable[Override] = (),
           limits: Limits = DEFAULT_LIMITS) -> Decision:
    """The one eligibility check for a run, the bench and the worksheet: the patient, each site, and the
    tech's overrides (one reason per warning)."""
    findings = check_patient(born, on, gestational_age_at_birth=gestational_age_at_birth, weight=weight,
                             conditions=conditions, limits=limits, zone=zone)
    for site in sites:
        findings += check_site(site)
    return decide(findings, overrides)


def _birth_date(born: date | datetime, zone: tzinfo) -> date:
    return born.astimezone(zone).date() if isinstance(born, datetime) else born


def _age(born: date | datetime, on: datetime, limits: Limits, zone: tzinfo) -> list[Finding]:
    """Age rules. With a date of birth only, the birth is taken at the end of that day in the lab's time zone,
    so the minimum age is never reached early. Days are calendar days in the lab's time zone: the day the
    patient is 10 days (14 days) old is the older group, no warning (docs/rules.md, age cut-offs)."""
    if isinstance(born, datetime):
        if born.tzinfo is None:
            raise ValidationError("time of birth must carry a time zone")
        earliest_age = on - born
    else:
        earliest_age = on - datetime.combine(born + timedelta(days=1), time(0), tzinfo=zone)
    days = (local_date(on, zone) - _birth_date(born, zone)).days
    if days < 0 or (isinstance(born, datetime) and born > on):
        raise ValidationError("the date of birth is in the future (after the collection time): correct the "
                              "date of birth on the order")
    minimum = timedelta(seconds=float(limits.min_age.to("s").magnitude))
    if earliest_age < minimum:
        return [Finding("age_under_minimum", Severity.BLOCK, f"patient is under the minimum age of "
                        f"{format_quantity(limits.min_age)}: do not collect; book the test later", SRC_MIN_AGE)]
    if days < 10:
        return [Finding("age_under_10_days", Severity.WARN, f"patient is {days} days old: test after 10 days "
                        "of age", SRC_10D)]
    if _younger_than(limits.recommended_age, _birth_date(born, zone), local_date(on, zone)):
        return [Finding("age_under_recommended", Severity.WARN, f"patient is {days} days old: for asymptomatic "
                        f"infants test from {format_quantity(limits.recommended_age)} of age",
                        SRC_RECOMMENDED_AGE)]
    return []


def _younger_than(limit: Quantity, born: date, on: date) -> bool:
    """Whether the patient is under ``limit`` on ``on``: a limit in months or years by the calendar
    (sweattest.core.rules.age), never at 30.44 days a month; in days or weeks by calendar days."""
    unit = str(limit.units)
    if unit in {"month", "year"}:
        months = limit.to("month").magnitude
        if months != int(months):
            raise ValidationError(f"age limit {format_quantity(limit)}: give whole months, or days or weeks")
        return calendar_age(born, on).total_months < int(months)
    return (on - born).days < float(limit.to("day").magnitude)


def _corrected_ga(ga: Quantity, age_days: int, limits: Limits) -> list[Finding]:
    weeks = float(require(ga, "time", "gestational age at birth").to("week").magnitude)
    if not 20 <= weeks <= 45:
        raise ValidationError(f"gestational age at birth {format_quantity(ga)} is impossible: give 20-45 weeks")
    corrected = weeks + age_days / 7
    if round(corrected, 9) < float(limits.min_corrected_ga.to("week").magnitude):
        return [Finding("corrected_ga_under_minimum", Severity.WARN, f"corrected gestational age "
                        f"{corrected:.1f} weeks is under {format_quantity(limits.min_corrected_ga)}", SRC_CGA)]
    return []
