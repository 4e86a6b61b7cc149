"""Interpretation of a test's sites into its one result (``result.SweatResult``).

Sources:
- Range sets and HL7 flags: ``ranges`` (CFF 2017 default; CLSI C34-A3; ACB 2014 UK guideline).
- CFF 2007; Macroduct 3710 manual: sites are reported separately, never pooled; a test is QNS only when
  every measured site is QNS; one QNS site: the adequate site is reported with a comment.
- CFF 2017: an intermediate result calls for a repeat sweat test and CFTR analysis; a test without a
  reportable result (QNS, not reportable, aborted) is repeated (CLSI C34).
- Bilateral values in different categories: the interpretation follows the higher value (sweattest's
  conservative default; no guideline states it), the discordance is flagged and a repeat recommended: two
  simultaneous collections normally agree within a few mmol/L (Mackay 2008), so a different category means one
  collection may be wrong.
- A site above the analyzer's upper limit (160 mmol/L; physiologically implausible, CLSI C34) is not a valid
  result: the test's interpretation is withheld (never interpreted from the other site as if nothing were
  wrong), with the reason, and a repeat is recommended.
- A patient on a CFTR modulator: sweat chloride falls on treatment and is used to monitor the response (ECFS
  standards of care, Castellani et al., J Cyst Fibros 2018;17:153-178); diagnostic categories do not apply.
  ``monitoring`` names the modulator: no category, no flags; the wording says it is a monitoring value.
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
SRC_HIGHER = ("sweattest conservative default, no guideline states it (the interpretation follows the higher value; "
              "a repeat is recommended because simultaneous collections normally agree, Mackay 2008)")
SRC_IMPLAUSIBLE = "CLSI C34 (4th ed., 2019): above the upper limit physiologically implausible; repeat the test"
SRC_MODULATOR = ("ECFS standards of care (Castellani et al., J Cyst Fibros 2018;17:153-178): sweat chloride "
                 "monitors the response to a CFTR modulator; CFF 2017 diagnostic categories do not apply")
SRC_DIFFERENCE = ("lab-configurable default, no guideline states it (> 10 mmol/L with both < 60; Mackay 2008, "
                  "Rock & LeGrys)")
SRC_PENDING = "CFF 2007 (each adequate site is analysed and reported separately)"
SRC_INTERMEDIATE = "CFF 2017 (an intermediate result calls for a repeat sweat test and CFTR analysis)"


def interpret(outcomes: list[SiteOutcome], ranges: RangeSet = CFF_2017, *, withheld: str | None = None,
              difference_limit: Quantity = SITE_DIFFERENCE_LIMIT, monitoring: str | None = None) -> SweatResult:
    """The test's result from its sites, interpreted with ``ranges``. ``withheld``: why a block withholds
    the interpretation (then no category, no flags, repeat recommended); a site above the measuring range
    withholds it too. ``monitoring``: the CFTR modulator the patient takes (then no diagnostic category)."""
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
    implausible = [o.site for o in measured if o.chloride is not None and _above_range(o.chloride)]
    if implausible and withheld is None:
        named = " and ".join(site.replace("_", " ") for site in implausible)
        withheld = (f"{named} chloride above the analyzer's upper limit (physiologically implausible): not a "
                    "valid result, so the test is not interpreted from the other site")
        findings.append(Finding("site_implausible", Severity.BLOCK, f"{' and '.join(implausible)}: chloride above "
                                "the measuring range is physiologically implausible; the test's interpretation is "
                                "withheld: repeat the test", SRC_IMPLAUSIBLE))
    if reportable and withheld is None:
        bilateral, repeat_b = _bilateral(reportable, ranges, difference_limit, monitoring is None)
        findings.extend(bilateral)
        repeat = repeat or repeat_b
        if monitoring is None:
            category = ranges.category(max(_whole(c) for _, c in reportable))
            repeat = repeat or category is Category.INTERMEDIATE  # CFF 2017 (SRC_INTERMEDIATE)
    pending = any(s is SiteStatus.PENDING for s in statuses.values())
    if category is None and (withheld is not None or not pending) and not (monitoring and reportable):
        repeat = True
    monitored = monitoring if withheld is None and reportable else None
    sites = tuple(_site_result(o, statuses[o.site], ranges, withheld or monitored) for o in outcomes)
    wording = (_monitoring_wording(monitored) if monitored
               else _wording(category, ranges, withheld, statuses, bool(qns)))
    current = None
    if category is not None and ranges.superseded:
        current = _current_guideline(max(_whole(c) for _, c in reportable))
        wording = f"{wording} {current}"
    return SweatResult(sites, category, wording, ranges, repeat, withheld, tuple(findings), monitored, current)


def _in_text(label: str) -> str:
    """A band's label inside a sentence: "intermediate", "CF likely"."""
    return label if label.startswith("CF") else label[:1].lower() + label[1:]


def _current_guideline(value: int) -> str:
    """What CFF 2017, the current guideline, calls ``value`` (stated beside a superseded range set's words)."""
    band = CFF_2017.band(CFF_2017.category(value))
    span = (f"<= {band.high}" if band.low == 0 else f">= {band.low}" if band.high is None
            else f"{band.low}-{band.high}")
    return (f"Under CFF 2017, the current guideline, {value} mmol/L is {_in_text(band.label)} ({span} mmol/L, all "
            "ages); the range set used here (CLSI C34-A3, 2009) is superseded.")


def _above_range(report: ChlorideReport) -> bool:
    return any(f.code == "chloride_above_range" for f in report.findings)


def _monitoring_wording(modulator: str) -> str:
    return (f"Monitoring value: the patient is on a CFTR modulator ({modulator}). Sweat chloride falls on "
            "treatment; diagnostic categories do not apply. See the change from the patient's previous result.")


def _status(o: SiteOutcome) -> SiteStatus:
    if o.aborted:
        return SiteStatus.ABORTED
    if o.adequacy is not None and not o.adequacy.adequate:
        return SiteStatus.QNS
    if o.chloride is None:
        return SiteStatus.PENDING
    return {ChlorideStatus.REPORTED: SiteStatus.REPORTED, ChlorideStatus.BELOW_RANGE: SiteStatus.BELOW_RANGE,
            ChlorideStatus.NOT_REPORTABLE: SiteStatus.NOT_REPORTABLE}[o.chloride.status]


def _site_result(o: SiteOutcome, status: SiteStatus, ranges: RangeSet, uncategorised: str | None) -> SiteResult:
    """One site's result; ``uncategorised`` (withheld, or a monitoring value): no category and no flag."""
    chloride = o.chloride if status in {SiteStatus.REPORTED, SiteStatus.BELOW_RANGE,
                                        SiteStatus.NOT_REPORTABLE} else None
    if uncategorised is not None or chloride is None or not chloride.reportable:
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
               difference_limit: Quantity, diagnostic: bool = True) -> tuple[list[Finding], bool]:
    """Discordance (``diagnostic`` only: a monitoring value has no category) and between-site difference
    flags; whether they call for a repeat."""
    if len(reportable) < 2:
        return [], False
    findings: list[Finding] = []
    values = {site: _whole(c) for site, c in reportable}
    repeat = False
    if diagnostic and len({rs.category(v) for v in values.values()}) > 1:
        texts = ", ".join(f"{site} {c.text} mmol/L {_in_text(rs.band(rs.category(values[site])).label)}"
                          for site, c in reportable)
        findings.append(Finding("bilateral_discordant", Severity.WARN, f"sites fall in different interpretive "
                                f"categories ({texts}): simultaneous collections normally agree, so one may be "
                                "wrong; the interpretation follows the higher value; repeat the test to confirm",
                                SRC_HIGHER))
        repeat = True
    texts = ", ".join(f"{site} {c.text} mmol/L" for site, c in reportable)
    limit = require(difference_limit, "concentration", "site difference limit").to("mmol/L").magnitude
    ceiling = DIFFERENCE_RULE_CEILING.to("mmol/L").magnitude
    spread = max(values.values()) - min(values.values())
    if spread > limit and all(v < ceiling for v in values.values()):
        findings.append(Finding("bilateral_difference", Severity.WARN, f"sites differ by {spread} mmol/L "
                                f"(more than {limit:g}) ({texts}): review and repeat the test",
                                SRC_DIFFERENCE))
        return findings, True
    return findings, repeat
