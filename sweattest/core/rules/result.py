"""The one typed result of a sweat test, computed once by ``interpretation.interpret`` and only formatted
after: per-site chloride as quantities, the interpretation, the range set it used, HL7 flags, whether the
test is to be repeated, and why an interpretation is withheld."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sweattest.core.rules.adequacy import Adequacy
from sweattest.core.rules.chloride import ChlorideReport
from sweattest.core.rules.findings import Finding
from sweattest.core.rules.ranges import Category, Flag, RangeSet


class SiteStatus(StrEnum):
    """What a site yielded; never blank in any output (a LIMS reads a blank chloride as 0)."""

    REPORTED = "reported"
    BELOW_RANGE = "below_range"
    QNS = "qns"
    NOT_REPORTABLE = "not_reportable"
    ABORTED = "aborted"
    PENDING = "pending"


@dataclass(frozen=True)
class SiteOutcome:
    """One collection site as measured: adequacy (None: not assessed) and chloride (None: QNS or not yet
    analysed); ``aborted`` when the site was given up."""

    site: str
    adequacy: Adequacy | None
    chloride: ChlorideReport | None
    aborted: bool = False


@dataclass(frozen=True)
class SiteResult:
    site: str
    status: SiteStatus
    chloride: ChlorideReport | None
    #: the band this site's chloride falls in and its HL7 OBX-8 flag (None: no reportable chloride, or withheld)
    category: Category | None
    flag: Flag | None


@dataclass(frozen=True)
class SweatResult:
    sites: tuple[SiteResult, ...]
    #: None when no reportable result exists or the interpretation is withheld
    category: Category | None
    #: what the report says: the interpretation, or why there is none (never blank)
    wording: str
    ranges: RangeSet
    repeat_recommended: bool
    withheld: str | None
    findings: tuple[Finding, ...]
    #: the CFTR modulator the patient is on: the value is a monitoring value, without a diagnostic category
    monitoring: str | None = None
    #: under a superseded range set: what the current guideline (CFF 2017) calls the value, in words
    current_guideline: str | None = None
