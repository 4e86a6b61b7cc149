"""Interpretive range sets: which band a whole-mmol/L sweat chloride falls in, and its HL7 flag.

The range sets are data, one module each in ``range_sets/`` (bands per age group, age cut-off, sources):
- ``cff_2017`` (default) — CFF 2017, all ages.
- ``clsi_c34_a3`` — CLSI C34-A3 (2009), superseded by CFF 2017; infant and older ranges split at 6 months.
- ``uk_2014`` — ACB 2014 UK guideline; infant and older ranges split at 6 months.
HL7 v2.5.1 table 0078 (OBX-8): N normal (CF unlikely), A abnormal (intermediate), H above the high limit (CF
likely). OBX-7 carries the CF-unlikely band as the reference range.
"""

from __future__ import annotations

from sweattest.core.errors import ValidationError
from sweattest.core.rules.age import CalendarAge, Cutoff
from sweattest.core.rules.bands import FLAGS, LABELS, Band, Category, Flag, RangeSet, RangeSetDefinition
from sweattest.core.rules.range_sets import ALL

__all__ = ["AGE_CUTOFFS", "CFF_2017", "DEFAULT_RANGE_SET", "FLAGS", "LABELS", "RANGE_SETS", "Band", "Category",
           "Flag", "RangeSet", "definition", "range_set"]

#: name -> the set's ranges of each of its age groups (younger first), built once
_GROUPS: dict[str, tuple[RangeSet, ...]] = {
    d.name: tuple(RangeSet(d.name, g.name, g.bands, d.source, d.superseded) for g in d.groups) for d in ALL}
RANGE_SETS = tuple(_GROUPS)
#: The age cut-offs of the range sets that have age groups, in calendar months (sweattest.core.rules.age): C34-A3
#: gives its infant ranges "up to 6 months" (the day the patient turns 6 months is still the infant group); ACB
#: 2014 gives them "under 6 months" (the day the patient turns 6 months is the older group).
AGE_CUTOFFS: dict[str, Cutoff] = {d.name: d.cutoff for d in ALL if d.cutoff is not None}
CFF_2017 = _GROUPS["cff_2017"][0]
#: The range set of a lab that names none (``[report] ranges``): the first of the list.
DEFAULT_RANGE_SET = RANGE_SETS[0]
SRC_CFF2017, SRC_C34A3, SRC_UK2014 = (_GROUPS[name][0].source for name in ("cff_2017", "clsi_c34_a3", "uk_2014"))


def definition(name: str) -> RangeSetDefinition:
    """The range set ``name`` as its module gives it; ValidationError naming the known sets if there is none."""
    for d in ALL:
        if d.name == name:
            return d
    raise ValidationError(f"unknown range set {name!r}; known range sets: {', '.join(RANGE_SETS)}")


def range_set(name: str = DEFAULT_RANGE_SET, age: CalendarAge | None = None) -> RangeSet:
    """The range set ``name`` for a patient of calendar ``age`` on the day of collection; a set with age groups
    splits at its cut-off (``AGE_CUTOFFS``: which group the boundary day belongs to)."""
    cutoff = definition(name).cutoff
    if cutoff is None:
        return _GROUPS[name][0]
    if age is None:
        raise ValidationError(f"range set {name} needs the patient's age (its ranges differ at {cutoff.months} "
                              "months)")
    younger, older = _GROUPS[name]
    return younger if cutoff.younger(age) else older
