"""Interpretation of a test's site results: interpretive ranges, bilateral agreement, QNS sites.

Sources (sweat-testing sheet §4):
- CFF 2017 (Farrell et al., all ages): <= 29 mmol/L CF unlikely; 30-59 intermediate; >= 60 CF likely.
  This is the default range set. The older CLSI C34-A3 (2009) set, superseded by CFF 2017 but still used
  by some labs, is available by name: <= 6 months as CFF 2017; > 6 months <= 39 normal, 40-59
  intermediate, >= 60 CF likely.
- CFF 2007; Macroduct 3710 manual: sites are reported separately, never pooled; a test is QNS only when
  both sites are QNS; one QNS site: the adequate site is reported with a comment.
- Bilateral values in different categories: the interpretation follows the higher value (sweattest's
  conservative default; no guideline states it) and the discordance is flagged.
- Between-site difference > 10 mmol/L while both are < 60 mmol/L: flagged for review and repeat
  (lab-configurable default; Mackay 2008 between-site SD about 4 mmol/L; Rock & LeGrys between-arm CV).
"""

from __future__ import annotations

from dataclasses import dataclass

from sweattest.core.errors import ValidationError
from sweattest.core.rules.adequacy import Adequacy
from sweattest.core.rules.chloride import ChlorideReport, round_half_up
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.units import Q_, Quantity, require

CATEGORIES = ("cf_unlikely", "intermediate", "cf_likely")
QNS_WORDING = "QNS — quantity not sufficient, repeat test"
#: Lab-configurable default for the between-site difference that is flagged (sheet §4).
SITE_DIFFERENCE_LIMIT = Q_(10, "mmol/L")
#: Below this both sites must be for the difference rule to apply (sheet §4).
DIFFERENCE_RULE_CEILING = Q_(60, "mmol/L")

SRC_CFF2017 = "CFF 2017 (Farrell et al., J Pediatr 2017;181S:S4-S15; sheet §4 interpretive ranges)"
SRC_C34A3 = "CLSI C34-A3 (2009), superseded by CFF 2017 (sheet §4 older ranges)"
SRC_QNS = "Macroduct 3710 manual; CFF 2007 (sheet §2, §4: QNS only when both sites are QNS)"
SRC_HIGHER = "sweattest conservative default, no guideline states it (sheet §4: follow the higher value)"
SRC_DIFFERENCE = ("lab-configurable default, no guideline states it (sheet §4: > 10 mmol/L with both "
                  "< 60; Mackay 2008, Rock & LeGrys)")
SRC_PENDING = "CFF 2007 (sheet §4: each adequate site is analysed and reported separately)"
SRC_RANGE_HIGH = "CLSI C34 (sheet §3: above the upper limit not reported; repeat the test)"


@dataclass(frozen=True)
class SiteOutcome:
    """One collection site's adequacy (None: not assessed) and chloride (None: QNS or not analysed)."""

    site: str
    adequacy: Adequacy | None
    chloride: ChlorideReport | None


@dataclass(frozen=True)
class Interpretation:
    category: str | None
    wording: str | None
    repeat_recommended: bool
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class RangeSet:
    """Interpretive ranges: whole mmol/L upper bounds of the unlikely and intermediate bands."""

    name: str
    unlikely_max: int
    intermediate_max: int
    wording: dict[str, str]
    source: str

    def category(self, whole_mmol_l: int) -> str:
        if whole_mmol_l <= self.unlikely_max:
            return "cf_unlikely"
        if whole_mmol_l <= self.intermediate_max:
            return "intermediate"
        return "cf_likely"


_CFF2017_WORDING = {
    "cf_unlikely": "Sweat chloride <= 29 mmol/L: CF unlikely.",
    "intermediate": ("Sweat chloride 30-59 mmol/L: intermediate; CF possible. Further evaluation "
                     "recommended (CFTR genetic analysis, repeat sweat test)."),
    "cf_likely": ("Sweat chloride >= 60 mmol/L: CF likely (with clinical presentation or a positive "
                  "newborn screen); confirm per CF Foundation guidelines."),
}
CFF_2017 = RangeSet("cff_2017", 29, 59, _CFF2017_WORDING, SRC_CFF2017)
C34_A3_INFANT = RangeSet("clsi_c34_a3", 29, 59, {
    "cf_unlikely": "Sweat chloride <= 29 mmol/L (age <= 6 months): CF unlikely.",
    "intermediate": "Sweat chloride 30-59 mmol/L (age <= 6 months): intermediate; CF possible.",
    "cf_likely": "Sweat chloride >= 60 mmol/L: CF likely.",
}, SRC_C34A3)
C34_A3_OLDER = RangeSet("clsi_c34_a3", 39, 59, {
    "cf_unlikely": "Sweat chloride <= 39 mmol/L (age > 6 months): normal.",
    "intermediate": "Sweat chloride 40-59 mmol/L (age > 6 months): intermediate; CF possible.",
    "cf_likely": "Sweat chloride >= 60 mmol/L: CF likely.",
}, SRC_C34A3)
RANGE_SETS = ("cff_2017", "clsi_c34_a3")


def range_set(name: str = "cff_2017", age: Quantity | None = None) -> RangeSet:
    """The interpretive ranges by name; CLSI C34-A3 needs the patient's age (6-month split)."""
    if name == "cff_2017":
        return CFF_2017
    if name == "clsi_c34_a3":
        if age is None:
            raise ValidationError("range set clsi_c34_a3 needs the patient's age (ranges differ at 6 months)")
        months = require(age, "time", "patient age").to("day").magnitude / (365.25 / 12)
        return C34_A3_INFANT if months <= 6 else C34_A3_OLDER
    raise ValidationError(f"unknown range set {name!r}; use one of {', '.join(RANGE_SETS)}")


def interpret(outcomes: list[SiteOutcome], ranges: str = "cff_2017", age: Quantity | None = None,
              difference_limit: Quantity = SITE_DIFFERENCE_LIMIT) -> Interpretation:
    """Interpret a test's sites (CFF 2017 by default; see the module notes for each rule's source)."""
    if not outcomes:
        raise ValidationError("sites: at least one collection site is needed to interpret a test")
    rs = range_set(ranges, age)
    findings: list[Finding] = []
    qns = [o.site for o in outcomes if o.adequacy is not None and not o.adequacy.adequate]
    if len(qns) == len(outcomes):
        findings.append(Finding("test_qns", Severity.BLOCK, f"all sites QNS ({', '.join(qns)}): "
                                "no chloride; repeat the test", SRC_QNS))
        return Interpretation(None, QNS_WORDING, True, tuple(findings))
    for site in qns:
        findings.append(Finding("site_qns", Severity.WARN, f"{site} was QNS; the result is reported "
                                "from the adequate site only", SRC_QNS))
    repeat = False
    reportable: list[tuple[str, ChlorideReport]] = []
    for o in outcomes:
        if o.site in qns:
            continue
        if o.chloride is None:
            findings.append(Finding("chloride_missing", Severity.WARN, f"{o.site}: adequate sample but no "
                                    "chloride result yet; the interpretation is incomplete", SRC_QNS))
        elif not o.chloride.reportable:
            repeat = True
            findings.append(Finding("site_not_reportable", Severity.WARN, f"{o.site}: chloride not "
                                    "reportable; repeat the test", SRC_RANGE_HIGH))
        else:
            reportable.append((o.site, o.chloride))
    if not reportable:
        return Interpretation(None, None, repeat, tuple(findings))
    bilateral, repeat_b = _bilateral(reportable, rs, difference_limit)
    findings.extend(bilateral)
    highest = max(_whole(c) for _, c in reportable)
    category = rs.category(highest)
    return Interpretation(category, rs.wording[category], repeat or repeat_b, tuple(findings))


def _whole(report: ChlorideReport) -> int:
    return round_half_up(report.value)


def _bilateral(reportable: list[tuple[str, ChlorideReport]], rs: RangeSet,
               difference_limit: Quantity) -> tuple[list[Finding], bool]:
    """Discordance and between-site difference flags (sheet §4)."""
    if len(reportable) < 2:
        return [], False
    findings: list[Finding] = []
    values = {site: _whole(c) for site, c in reportable}
    texts = ", ".join(f"{site} {c.text} mmol/L" for site, c in reportable)
    if len({rs.category(v) for v in values.values()}) > 1:
        findings.append(Finding("bilateral_discordant", Severity.WARN, f"sites fall in different "
                                f"categories ({texts}); the interpretation follows the higher value",
                                SRC_HIGHER))
    limit = require(difference_limit, "concentration", "site difference limit").to("mmol/L").magnitude
    ceiling = DIFFERENCE_RULE_CEILING.to("mmol/L").magnitude
    spread = max(values.values()) - min(values.values())
    if spread > limit and all(v < ceiling for v in values.values()):
        findings.append(Finding("bilateral_difference", Severity.WARN, f"sites differ by {spread} mmol/L "
                                f"(more than {limit:g}) ({texts}): review and repeat the test",
                                SRC_DIFFERENCE))
        return findings, True
    return findings, False
