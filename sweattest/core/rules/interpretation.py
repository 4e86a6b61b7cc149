"""Interpretation of a test's sites into its one result (``result.SweatResult``).

Sources:
- Range sets and HL7 flags: ``ranges`` (CFF 2017 default; CLSI C34-A3; ACB 2014 UK guideline).
- CFF 2007; Macroduct 3710 manual: sites are reported separately, never pooled; a test is QNS only when
  every measured site is QNS; one QNS site: the adequate site is reported with a comment.
- CFF 2017: an intermediate result calls for a repeat sweat test and CFTR analysis; a test without a
  reportable result (QNS, not reportable, aborted) is repeated (CLSI C34).
- Bilateral values in different categories: the interpretation follows the higher value (sweattest's
  conservative default; no guideline states it) and the discordance is flagged.
- Between-site difference > 10 mmol/L while both are < 60 mmol/L: flagged for review and repeat
  (lab-configurable default; Mackay 2008 between-site SD about 4 mmol/L; Rock & LeGrys between-arm CV).
- A block withholds the interpretation (never an interpretation beside a block): ``withheld`` says why,
  and the test is to be repeated.
"""

from __future__ import annotations

from sweattest.core.errors import ValidationError
from sweattest.core.rules.chloride import ChlorideReport, ChlorideStatus, round_half_up
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.ranges import CFF_2017, FLAGS, Category, RangeSet
from sweattest.core.rules.result import SiteOutcome, SiteResult, SiteStatus, SweatResult
from sweattest.core.units import Q_, Quantity, require

QNS_WORDING = "QNS — quantity not sufficient, repeat test"
NO_RESULT_WORDING = "No reportable result: repeat the test."
ABORTED_WORDING = "No result: the test was aborted; repeat the test."
PENDING_WORDING = "No interpretation yet: results pending."
#: Lab-configurable default for the between-site difference that is flagged.
SITE_DIFFERENCE_LIMIT = Q_(10, "mmol/L")
#: Below this both sites must be for the difference rule to apply.
DIFFERENCE_RULE_CEILING = Q_(60, "mmol/L")

SRC_QNS = "Macroduct 3710 manual; CFF 2007 (QNS only when every site is QNS)"
SRC_HIGHER = "sweattest conservative default, no guideline states it (the interpretation follows the higher value)"
SRC_DIFFERENCE = ("lab-configurable default, no guideline states it (> 10 mmol/L with both < 60; Mackay 2008, "
                  "Rock & LeGrys)")
SRC_PENDING = "CFF 2007 (each adequate site is analysed and reported separately)"
SRC_INTERMEDIATE = "CFF 2017 (an intermediate result calls for a repeat sweat test and CFTR analysis)"


def interpret(outcomes: list[SiteOutcome], ranges: RangeSet = CFF_2017, *, withheld: str | None = None,
              difference_limit: Quantity = SITE_DIFFERENCE_LIMIT) -> SweatResult:
    """The test's result from its sites, interpreted with ``ranges``. ``withheld``: why a block withholds
    the interpretation (then no category, no flags, repeat recommended)."""
    if not outcomes:
        raise ValidationError("sites: at least one collection site is needed to interpret a test")
    findings: list[Finding] = []
    statuses = {o.site: _status(o) for o in outcomes}
    measured = [o for o in outcomes if statuses[o.site] is not SiteStatus.ABORTED and o.adequacy is not None]
    qns = [o.site for o in measured if statuses[o.site] is SiteStatus.QNS]
    reportable = [(o.site, o.chloride) for o in measured if o.chloride is not None and o.chloride.reportable]
    for o in measured:
        if statuses[o.site] is SiteStatus.PENDING:
            findings.append(Finding("chloride_missing", Severity.WARN, f"{o.site}: adequate sample but no "
                                    "chloride result yet; the interpretation is incomplete", SRC_PENDING))
    if measured and len(qns) == len(measured):
        findings.append(Finding("test_qns", Severity.BLOCK, f"all sites QNS ({', '.join(qns)}): "
                                "no chloride; repeat the test", SRC_QNS))
    elif reportable:
        findings += [Finding("site_qns", Severity.WARN, f"{site} was QNS; the result is reported from the "
                             "adequate site only", SRC_QNS) for site in qns]
    category = None
    repeat = any(statuses[o.site] is SiteStatus.NOT_REPORTABLE for o in measured)
    if reportable and withheld is None:
        bilateral, repeat_b = _bilateral(reportable, ranges, difference_limit)
        findings.extend(bilateral)
        category = ranges.category(max(_whole(c) for _, c in reportable))
        repeat = repeat or repeat_b or category is Category.INTERMEDIATE  # CFF 2017 (SRC_INTERMEDIATE)
    pending = any(s is SiteStatus.PENDING for s in statuses.values())
    if category is None and (withheld is not None or not pending):
        repeat = True
    sites = tuple(_site_result(o, statuses[o.site], ranges, withheld) for o in outcomes)
    return SweatResult(sites, category, _wording(category, ranges, withheld, statuses, bool(qns)), ranges,
                       repeat, withheld, tuple(findings))


def _status(o: SiteOutcome) -> SiteStatus:
    if o.aborted:
        return SiteStatus.ABORTED
    if o.adequacy is not None and not o.adequacy.adequate:
        return SiteStatus.QNS
    if o.chloride is None:
        return SiteStatus.PENDING
    return {ChlorideStatus.REPORTED: SiteStatus.REPORTED, ChlorideStatus.BELOW_RANGE: SiteStatus.BELOW_RANGE,
            ChlorideStatus.NOT_REPORTABLE: SiteStatus.NOT_REPORTABLE}[o.chloride.status]


def _site_result(o: SiteOutcome, status: SiteStatus, ranges: RangeSet, withheld: str | None) -> SiteResult:
    chloride = o.chloride if status in {SiteStatus.REPORTED, SiteStatus.BELOW_RANGE,
                                        SiteStatus.NOT_REPORTABLE} else None
    if withheld is not None or chloride is None or not chloride.reportable:
        return SiteResult(o.site, status, chloride, None, None)
    category = ranges.category(_whole(chloride))
    return SiteResult(o.site, status, chloride, category, FLAGS[category])


def _wording(category: Category | None, ranges: RangeSet, withheld: str | None,
             statuses: dict[str, SiteStatus], any_qns: bool) -> str:
    if withheld is not None:
        if withheld.lower().startswith("interpretation withheld"):  # findings.withheld_because says it all
            return withheld[:1].upper() + withheld[1:]
        return f"Interpretation withheld: {withheld}. Repeat the test."
    if category is not None:
        return ranges.wording(category)
    values = set(statuses.values())
    if SiteStatus.PENDING in values:
        return PENDING_WORDING
    if values == {SiteStatus.ABORTED}:
        return ABORTED_WORDING
    return QNS_WORDING if any_qns and values <= {SiteStatus.QNS, SiteStatus.ABORTED} else NO_RESULT_WORDING


def _whole(report: ChlorideReport) -> int:
    assert report.value is not None
    return round_half_up(report.value)


def _bilateral(reportable: list[tuple[str, ChlorideReport]], rs: RangeSet,
               difference_limit: Quantity) -> tuple[list[Finding], bool]:
    """Discordance and between-site difference flags."""
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
