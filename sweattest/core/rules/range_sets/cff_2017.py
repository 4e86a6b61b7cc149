"""``cff_2017`` (the default): CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15), all ages: <= 29 mmol/L CF
unlikely; 30-59 intermediate; >= 60 CF likely."""

from sweattest.core.rules.bands import REPEAT, AgeGroup, RangeSetDefinition, bands

RANGE_SET = RangeSetDefinition(
    name="cff_2017",
    source="CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15), all ages",
    reference="CFF 2017 consensus guidelines (Farrell et al., J Pediatr 2017;181S:S4-S15), sweat chloride "
              "interpretation, all ages",
    groups=(AgeGroup("all ages", bands(29, 59, (
        "Sweat chloride <= 29 mmol/L: CF unlikely.",
        f"Sweat chloride 30-59 mmol/L: intermediate; CF possible. Further evaluation recommended: {REPEAT}.",
        "Sweat chloride >= 60 mmol/L: CF likely (with clinical presentation or a positive newborn screen); "
        "confirm per CF Foundation guidelines."))),),
)
