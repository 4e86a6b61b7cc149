"""What a range set is made of: interpretive bands of whole mmol/L, the age groups they apply to, and the
HL7 flag of each category. The range sets themselves are data, one module each in ``range_sets/``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sweattest.core.rules.age import Cutoff


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
#: the advice an intermediate band's wording gives (CFF 2017)
REPEAT = "repeat the sweat test and refer for CFTR genetic analysis"


def bands(unlikely_max: int, intermediate_max: int, wording: tuple[str, str, str],
          labels: tuple[str, str, str] = LABELS) -> tuple[Band, Band, Band]:
    """The three bands: CF unlikely up to ``unlikely_max``, intermediate up to ``intermediate_max``, CF likely
    above (whole mmol/L, inclusive), each with its wording and label."""
    codes = ["normal" if labels[0] == "Normal" else Category.CF_UNLIKELY.value, Category.INTERMEDIATE.value,
             Category.CF_LIKELY.value]
    return (Band(Category.CF_UNLIKELY, 0, unlikely_max, wording[0], labels[0], codes[0]),
            Band(Category.INTERMEDIATE, unlikely_max + 1, intermediate_max, wording[1], labels[1], codes[1]),
            Band(Category.CF_LIKELY, intermediate_max + 1, None, wording[2], labels[2], codes[2]))


@dataclass(frozen=True)
class AgeGroup:
    """The bands of one age group, and the group's name as the result keeps it (``age over 6 months``)."""

    name: str
    bands: tuple[Band, Band, Band]


@dataclass(frozen=True)
class RangeSetDefinition:
    """One range set as its guideline gives it. ``groups``: one (all ages), or the younger and the older group
    split at ``cutoff`` (calendar months, and which group the boundary day belongs to, with its source).
    ``source``: kept with each result interpreted with the set; ``reference``: the guideline's edition and
    section; ``adequacy``: the adequacy criterion of the guideline when the lab chooses none."""

    name: str
    source: str
    reference: str
    groups: tuple[AgeGroup, ...]
    cutoff: Cutoff | None = None
    superseded: bool = False
    adequacy: str = "minimum_sample"

    def __post_init__(self):
        if len(self.groups) != (1 if self.cutoff is None else 2):
            raise ValueError(f"range set {self.name}: one age group without a cut-off, two with one")
