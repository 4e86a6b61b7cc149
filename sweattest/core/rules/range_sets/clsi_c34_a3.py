"""``clsi_c34_a3``: CLSI C34-A3 (2009), superseded by CFF 2017 but still used by some labs: up to 6 months of age
as CFF 2017; over 6 months <= 39 normal, 40-59 intermediate, >= 60 CF likely. "Up to 6 months": the day the
patient turns 6 months is still the infant group."""

from sweattest.core.rules.age import Cutoff
from sweattest.core.rules.bands import REPEAT, AgeGroup, RangeSetDefinition, bands

RANGE_SET = RangeSetDefinition(
    name="clsi_c34_a3",
    source="CLSI C34-A3 (2009), superseded by CFF 2017",
    reference="CLSI C34-A3 (3rd ed., 2009), interpretation of results",
    cutoff=Cutoff(6, True, "CLSI C34-A3 (2009): infants up to and including 6 months"),
    groups=(
        AgeGroup("age 6 months or under", bands(29, 59, (
            "Sweat chloride <= 29 mmol/L (age <= 6 months): CF unlikely.",
            f"Sweat chloride 30-59 mmol/L (age <= 6 months): intermediate; CF possible; {REPEAT}.",
            "Sweat chloride >= 60 mmol/L: CF likely."))),
        AgeGroup("age over 6 months", bands(39, 59, (
            "Sweat chloride <= 39 mmol/L (age > 6 months): normal.",
            f"Sweat chloride 40-59 mmol/L (age > 6 months): intermediate; CF possible; {REPEAT}.",
            "Sweat chloride >= 60 mmol/L: CF likely."), ("Normal", "Intermediate", "CF likely"))),
    ),
    superseded=True,
)
