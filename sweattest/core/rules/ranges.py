"""Interpretive range sets: which band a whole-mmol/L sweat chloride falls in, and its HL7 flag.

Sources:
- ``cff_2017`` (default) — CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15), all ages:
  <= 29 mmol/L CF unlikely; 30-59 intermediate; >= 60 CF likely.
- ``clsi_c34_a3`` — CLSI C34-A3 (2009), superseded by CFF 2017 but still used by some labs:
  up to 6 months of age as CFF 2017; over 6 months <= 39 normal, 40-59 intermediate, >= 60 CF likely.
- ``uk_2014`` — ACB 2014 UK guideline (Guidelines for the performance of the sweat test for the
  investigation of cystic fibrosis in the UK, 2nd version, 2014): under 6 months < 30 unlikely, 30-60
  intermediate; from 6 months < 40 unlikely, 40-60 intermediate; > 60 supports the diagnosis. Under the UK
  wording 60 mmol/L is intermediate.
- HL7 v2.5.1 table 0078 (OBX-8): N normal (CF unlikely), A abnormal (intermediate), H above the high
  limit (CF likely). OBX-7 carries the CF-unlikely band as the reference range.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sweattest.core.errors import ValidationError
from sweattest.core.rules.age import CalendarAge, Cutoff


class Category(StrEnum):
    CF_UNLIKELY = "cf_unlikely"
    INTERMEDIATE = "intermediate"
    CF_LIKELY = "cf_likely"


class Flag(StrEnum):
    """HL7 v2.5.1 table 0078 abnormal flags, as OBX-8 carries them."""

    NORMAL = "N"
    ABNORMAL = "A"
    HIGH = "H"


FLAGS = {Category.CF_UNLIKELY: Flag.NORMAL, Category.INTERMEDIATE: Flag.ABNORMAL, Category.CF_LIKELY: Flag.HIGH}


@dataclass(frozen=True)
class Band:
    """Whole mmol/L from ``low`` to ``high`` inclusive (``high`` None: no upper bound). ``label``: the band's
    name in the range set's own words (C34-A3 over 6 months: "Normal"), printed on the report and sent as the
    coded interpretation's text; ``code``: the coded interpretation (the category, or "normal")."""

    category: Category
    low: int
    high: int | None
    wording: str
    label: str = ""
    code: str = ""


@dataclass(frozen=True)
class RangeSet:
    """The range set a result was interpreted with: its name, the age group it was chosen for, its bands."""

    name: str
    group: str
    bands: tuple[Band, Band, Band]
    source: str
    #: a superseded set (C34-A3): the report also states what the current guideline (CFF 2017) calls the value
    superseded: bool = False

    def category(self, whole_mmol_l: int) -> Category:
        for band in self.bands:
            if band.high is None or whole_mmol_l <= band.high:
                return band.category
        raise AssertionError("the last band has no upper bound")

    def wording(self, category: Category) -> str:
        return self.band(category).wording

    def band(self, category: Category) -> Band:
        return next(b for b in self.bands if b.category is category)

    @property
    def normal(self) -> Band:
        return self.bands[0]


LABELS = ("CF unlikely", "Intermediate", "CF likely")


def _bands(unlikely_max: int, intermediate_max: int, wording: tuple[str, str, str],
           labels: tuple[str, str, str] = LABELS) -> tuple[Band, Band, Band]:
    codes = ["normal" if labels[0] == "Normal" else Category.CF_UNLIKELY.value, Category.INTERMEDIATE.value,
             Category.CF_LIKELY.value]
    return (Band(Category.CF_UNLIKELY, 0, unlikely_max, wording[0], labels[0], codes[0]),
            Band(Category.INTERMEDIATE, unlikely_max + 1, intermediate_max, wording[1], labels[1], codes[1]),
            Band(Category.CF_LIKELY, intermediate_max + 1, None, wording[2], labels[2], codes[2]))


SRC_CFF2017 = "CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15), all ages"
SRC_C34A3 = "CLSI C34-A3 (2009), superseded by CFF 2017"
SRC_UK2014 = ("ACB 2014 UK guideline (Guidelines for the performance of the sweat test for the investigation "
              "of cystic fibrosis in the UK, 2nd version, 2014)")
_REPEAT = "repeat the sweat test and refer for CFTR genetic analysis"

CFF_2017 = RangeSet("cff_2017", "all ages", _bands(29, 59, (
    "Sweat chloride <= 29 mmol/L: CF unlikely.",
    f"Sweat chloride 30-59 mmol/L: intermediate; CF possible. Further evaluation recommended: {_REPEAT}.",
    "Sweat chloride >= 60 mmol/L: CF likely (with clinical presentation or a positive newborn screen); "
    "confirm per CF Foundation guidelines.")), SRC_CFF2017)
C34_A3_INFANT = RangeSet("clsi_c34_a3", "age 6 months or under", _bands(29, 59, (
    "Sweat chloride <= 29 mmol/L (age <= 6 months): CF unlikely.",
    f"Sweat chloride 30-59 mmol/L (age <= 6 months): intermediate; CF possible; {_REPEAT}.",
    "Sweat chloride >= 60 mmol/L: CF likely.")), SRC_C34A3, True)
C34_A3_OLDER = RangeSet("clsi_c34_a3", "age over 6 months", _bands(39, 59, (
    "Sweat chloride <= 39 mmol/L (age > 6 months): normal.",
    f"Sweat chloride 40-59 mmol/L (age > 6 months): intermediate; CF possible; {_REPEAT}.",
    "Sweat chloride >= 60 mmol/L: CF likely."), ("Normal", "Intermediate", "CF likely")), SRC_C34A3, True)
_UK_LABELS = ("CF unlikely", "Intermediate", "Supports the diagnosis of CF")
UK_2014_INFANT = RangeSet("uk_2014", "age under 6 months", _bands(29, 60, (
    "Sweat chloride < 30 mmol/L (under 6 months): CF unlikely.",
    f"Sweat chloride 30-60 mmol/L (under 6 months): intermediate; CF possible; {_REPEAT}.",
    "Sweat chloride > 60 mmol/L: supports the diagnosis of CF."), _UK_LABELS), SRC_UK2014)
UK_2014_OLDER = RangeSet("uk_2014", "age 6 months or over", _bands(39, 60, (
    "Sweat chloride < 40 mmol/L (6 months or over): CF unlikely.",
    f"Sweat chloride 40-60 mmol/L (6 months or over): intermediate; CF possible; {_REPEAT}.",
    "Sweat chloride > 60 mmol/L: supports the diagnosis of CF."), _UK_LABELS), SRC_UK2014)

RANGE_SETS = ("cff_2017", "clsi_c34_a3", "uk_2014")
#: The range set of a lab that names none (``[report] ranges``), and of every record made without one.
DEFAULT_RANGE_SET = CFF_2017.name
#: The age cut-offs of the range sets, in calendar months (sweattest.core.rules.age). C34-A3 gives its infant
#: ranges "up to 6 months" (6 months or under: the day the patient turns 6 months is still the infant group);
#: ACB 2014 gives them "under 6 months" (the day the patient turns 6 months is the older group).
AGE_CUTOFFS = {"clsi_c34_a3": Cutoff(6, True, "CLSI C34-A3 (2009): infants up to and including 6 months"),
               "uk_2014": Cutoff(6, False, "ACB 2014 (2nd version), interpretation of results: less than 6 "
                                           "months of age; 6 months or over")}
_GROUPS = {"clsi_c34_a3": (C34_A3_INFANT, C34_A3_OLDER), "uk_2014": (UK_2014_INFANT, UK_2014_OLDER)}


def range_set(name: str = DEFAULT_RANGE_SET, age: CalendarAge | None = None) -> RangeSet:
    """The range set ``name`` for a patient of calendar ``age`` on the day of collection; the C34-A3 and UK
    sets split at 6 calendar months (``AGE_CUTOFFS``: which group the boundary day belongs to)."""
    if name not in RANGE_SETS:
        raise ValidationError(f"unknown range set {name!r}; known range sets: {', '.join(RANGE_SETS)}")
    if name == CFF_2017.name:
        return CFF_2017
    if age is None:
        raise ValidationError(f"range set {name} needs the patient's age (its ranges differ at 6 months)")
    infant, older = _GROUPS[name]
    return infant if AGE_CUTOFFS[name].younger(age) else older
