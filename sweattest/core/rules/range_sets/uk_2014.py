"""``uk_2014``: ACB 2014 UK guideline (Guidelines for the performance of the sweat test for the investigation of
cystic fibrosis in the UK, 2nd version, 2014): under 6 months < 30 unlikely, 30-60 intermediate; from 6 months
< 40 unlikely, 40-60 intermediate; > 60 supports the diagnosis. Under the UK wording 60 mmol/L is intermediate.
"Less than 6 months of age": the day the patient turns 6 months is the older group. Adequacy by the sweat rate."""

from sweattest.core.rules.age import Cutoff
from sweattest.core.rules.bands import REPEAT, AgeGroup, RangeSetDefinition, bands

_LABELS = ("CF unlikely", "Intermediate", "Supports the diagnosis of CF")

RANGE_SET = RangeSetDefinition(
    name="uk_2014",
    source="ACB 2014 UK guideline (Guidelines for the performance of the sweat test for the investigation of cystic "
           "fibrosis in the UK, 2nd version, 2014)",
    reference="ACB 2014 (2nd version, March 2014), interpretation of results",
    cutoff=Cutoff(6, False, "ACB 2014 (2nd version), interpretation of results: less than 6 months of age; 6 "
                            "months or over"),
    groups=(
        AgeGroup("age under 6 months", bands(29, 60, (
            "Sweat chloride < 30 mmol/L (under 6 months): CF unlikely.",
            f"Sweat chloride 30-60 mmol/L (under 6 months): intermediate; CF possible; {REPEAT}.",
            "Sweat chloride > 60 mmol/L: supports the diagnosis of CF."), _LABELS)),
        AgeGroup("age 6 months or over", bands(39, 60, (
            "Sweat chloride < 40 mmol/L (6 months or over): CF unlikely.",
            f"Sweat chloride 40-60 mmol/L (6 months or over): intermediate; CF possible; {REPEAT}.",
            "Sweat chloride > 60 mmol/L: supports the diagnosis of CF."), _LABELS)),
    ),
    adequacy="sweat_rate",
)
