"""Who may be tested, when, and where on the body; overrides of warnings with a recorded reason.

Sources (sweat-testing sheet §1, §4):
- CFF 2017: newborn-screen-positive infants are tested once > 2 kg and >= 36 weeks corrected
  gestational age, as soon as possible after 10 days of age (ideally by 4 weeks).
- CFF/CLSI teaching: >= 2 weeks of age for asymptomatic infants.
- Labs do not collect under 48 hours of age: a block, never overridden.
- CLSI C34: warn on dehydration, oedema, systemic illness, systemic corticosteroids, eczema or broken
  skin, oxygen by open delivery; CLSI C34 (2024) adds implanted electronic devices, epilepsy and
  pregnancy as reasons to consult first. These are warnings: the tech may proceed with a recorded reason.
- CLSI C34 (sheet §1 safety): never stimulate across the chest or the head, never over broken, inflamed
  or eczematous skin; use the flexor forearm, or the upper arm / thigh in small infants. A site that
  breaks this is blocked (choose another site); the sheet lists skin at the site among the warnings of
  §4 and as a "never" in §1: the stricter statement is followed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sweattest.core.errors import ValidationError
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Q_, Quantity, format_quantity, require

SRC_48H = "CLSI C34; CFF 2017 (sheet §4: labs do not collect under 48 hours of age)"
SRC_10D = "CFF 2017 (sheet §4: as soon as possible after 10 days of age)"
SRC_2W = "CFF/CLSI teaching (sheet §4: >= 2 weeks for asymptomatic infants)"
SRC_CGA = "CFF 2017 (sheet §4: >= 36 weeks corrected gestational age)"
SRC_WEIGHT = "CFF 2017 (sheet §4: tested once > 2 kg)"
SRC_CONDITION = "CLSI C34 (sheet §4: contraindications to warn on)"
SRC_CONSULT = "CLSI C34 (2024) (sheet §4: consult first)"
SRC_SITE = "CLSI C34 (sheet §1: flexor forearm, or upper arm/thigh in small infants; never chest or head)"
SRC_SKIN = "CLSI C34 (sheet §1, §4: never over broken, inflamed or eczematous skin)"
SRC_OVERRIDE = "sheet §4: below the blocks a tech may proceed with a recorded reason"

MIN_AGE = timedelta(hours=48)
WEIGHT_LIMIT = Q_(2, "kg")
CGA_LIMIT_WEEKS = 36

#: Contraindications (sheet §4): code -> (text, source)
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
    """A tech's decision to proceed despite a warning; the reason is recorded with the run."""

    code: str
    reason: str
    by: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason, "by": self.by}


@dataclass(frozen=True)
class Decision:
    """Whether the test may proceed: no block and every warning overridden with a reason."""

    allowed: bool
    findings: tuple[Finding, ...]
    overrides: tuple[Override, ...]


def check_patient(born: date | datetime, on: datetime, *, gestational_age_weeks_at_birth: float | None = None,
                  weight: Quantity | None = None, conditions: Iterable[str] = ()) -> list[Finding]:
    """Eligibility of a patient born ``born`` for collection at ``on`` (aware datetime)."""
    if on.tzinfo is None:
        raise ValidationError("collection time must carry a time zone (e.g. 2026-11-20T10:00:00Z)")
    findings = _age(born, on)
    days = (on.astimezone(UTC).date() - _birth_date(born)).days
    if gestational_age_weeks_at_birth is not None:
        findings.extend(_corrected_ga(gestational_age_weeks_at_birth, days))
    if weight is not None:
        w = require(weight, "mass", "patient weight")
        if w.magnitude <= 0:
            raise ValidationError(f"patient weight {format_quantity(w)} must be above 0: correct it")
        if w <= WEIGHT_LIMIT:
            findings.append(Finding("weight_2kg_or_less", Severity.WARN, f"weight {format_quantity(w.to('kg'))}"
                                    " is not above 2 kg: testing is recommended once > 2 kg", SRC_WEIGHT))
    for code in conditions:
        if code not in CONDITIONS:
            raise ValidationError(f"unknown condition {code!r}; use one of {', '.join(CONDITIONS)}")
        text, source = CONDITIONS[code]
        findings.append(Finding(f"condition_{code}", Severity.WARN, f"contraindication: {text}", source))
    return findings


def check_site(site: str, skin: Iterable[str] = ()) -> list[Finding]:
    """A stimulation site: an allowed body site with intact skin (CLSI C34; sheet §1)."""
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
    """Apply a tech's overrides: a warning may be overridden with a reason; a block never."""
    by_code = {f.code: f for f in findings}
    accepted: list[Override] = []
    for o in overrides:
        finding = by_code.get(o.code)
        if finding is None:
            raise ValidationError(f"override {o.code!r}: there is no such finding to override")
        if finding.severity is Severity.BLOCK:
            raise ValidationError(f"override {o.code!r}: a block cannot be overridden ({finding.message})")
        if not o.reason.strip() or not o.by.strip():
            raise ValidationError(f"override {o.code!r}: give a reason and who decided; both are recorded")
        accepted.append(o)
    overridden = {o.code for o in accepted}
    out = list(findings)
    out += [Finding("override", Severity.INFO, f"{o.code} overridden by {o.by}: {o.reason}", SRC_OVERRIDE)
            for o in accepted]
    blocked = any(f.severity is Severity.BLOCK for f in findings)
    pending = [f for f in findings if f.severity is Severity.WARN and f.code not in overridden]
    allowed = not blocked and not pending
    return Decision(allowed, tuple(out), tuple(accepted))


def _birth_date(born: date | datetime) -> date:
    return born.astimezone(UTC).date() if isinstance(born, datetime) else born


def _age(born: date | datetime, on: datetime) -> list[Finding]:
    """Age rules. With a date of birth only, the birth is taken at the end of that day (UTC), so the
    48-hour block is never lifted early."""
    if isinstance(born, datetime):
        if born.tzinfo is None:
            raise ValidationError("time of birth must carry a time zone")
        earliest_age = on - born
    else:
        earliest_age = on - datetime.combine(born + timedelta(days=1), time(0), tzinfo=UTC)
    days = (on.astimezone(UTC).date() - _birth_date(born)).days
    if days < 0 or (isinstance(born, datetime) and born > on):
        raise ValidationError("date of birth is after the collection time: correct the date of birth")
    if earliest_age < MIN_AGE:
        return [Finding("age_under_48h", Severity.BLOCK, "patient is under 48 hours old: do not collect; "
                        "book the test later", SRC_48H)]
    if days < 10:
        return [Finding("age_under_10_days", Severity.WARN, f"patient is {days} days old: test after 10 days "
                        "of age", SRC_10D)]
    if days < 14:
        return [Finding("age_under_2_weeks", Severity.WARN, f"patient is {days} days old: for asymptomatic "
                        "infants test from 2 weeks of age", SRC_2W)]
    return []


def _corrected_ga(ga_weeks: float, age_days: int) -> list[Finding]:
    if isinstance(ga_weeks, bool) or not 20 <= ga_weeks <= 45:
        raise ValidationError(f"gestational age at birth {ga_weeks!r} weeks is impossible: give 20-45 weeks")
    corrected = ga_weeks + age_days / 7
    if round(corrected, 9) < CGA_LIMIT_WEEKS:
        return [Finding("corrected_ga_under_36_weeks", Severity.WARN, f"corrected gestational age "
                        f"{corrected:.1f} weeks is under 36 weeks", SRC_CGA)]
    return []
