"""Sweat sodium beside chloride: a plausibility check on the chloride, never a result of its own.

Sources:
- Ann Clin Biochem 1985;22:171-174 (A study of sweat sodium and chloride; criteria for the diagnosis of cystic
  fibrosis, Bristol and Sheffield): in CF the chloride concentration is usually higher than the sodium, in
  normal subjects the reverse; measuring both reduces misdiagnosis, most usefully at borderline chlorides.
- Diagnostic Pathology 2016, doi:10.1186/s13000-016-0555-6 (quality of the sweat test by the proportion of
  sweat sodium and chloride): a test is taken as of good quality when chloride < 60 mmol/L with sodium above
  chloride, or chloride >= 60 mmol/L with sodium below chloride.
- UK 2014 (ACB, Guidelines for the performance of the sweat test for the investigation of cystic fibrosis in the
  UK, 2nd version, March 2014), sweat analysis: sodium may be measured beside chloride, as a check on it; it is
  never reported or interpreted alone for diagnosis.
The check is a warning on the site: the sodium pattern contradicts the chloride's, so the chloride is to be
reviewed (contamination, evaporation, an entry error) and the test repeated if doubt remains.
"""

from __future__ import annotations

from sweattest.core.errors import ValidationError
from sweattest.core.rules.chloride import ChlorideReport, round_half_up
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Quantity, format_quantity, require

SRC_SODIUM = ("UK 2014 (ACB, 2nd version, March 2014), sweat analysis: sodium beside chloride as a check, never alone; "
              "Ann Clin Biochem 1985;22:171-174 (in CF chloride usually exceeds sodium, in non-CF the reverse); "
              "Diagnostic Pathology 2016, doi:10.1186/s13000-016-0555-6 (Na/Cl pattern as a quality check)")
#: the chloride at which the expected Na/Cl pattern turns (CFF 2017 "CF likely" limit, as the 2016 study uses)
PATTERN_CHLORIDE = 60


def check_sodium(site: str, sodium: Quantity, chloride: ChlorideReport | None) -> list[Finding]:
    """The Na/Cl plausibility finding of one site (none when the pattern agrees with the chloride)."""
    na = require(sodium, "concentration", "sweat sodium").to("mmol/L")
    if na.magnitude < 0:
        raise ValidationError(f"{site}: sweat sodium {format_quantity(na)} is negative; correct it")
    if chloride is None or chloride.value is None:
        raise ValidationError(f"{site}: a sweat sodium needs the site's reportable chloride beside it (sodium is "
                              "never reported alone for diagnosis)")
    cl = round_half_up(chloride.value)
    na_whole = round_half_up(na)
    expected = "below" if cl >= PATTERN_CHLORIDE else "above"
    contradicts = na_whole > cl if expected == "below" else na_whole < cl
    if not contradicts:
        return []
    return [Finding("sodium_chloride_pattern", Severity.WARN,
                    f"{site}: sodium {na_whole} mmol/L is {'above' if na_whole > cl else 'below'} chloride {cl} "
                    f"mmol/L, where {'CF' if expected == 'below' else 'non-CF'} sweat has sodium {expected} "
                    "chloride: review the chloride (contamination, evaporation, entry) and repeat the test if in "
                    "doubt", SRC_SODIUM)]
