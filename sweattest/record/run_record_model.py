"""The run record as typed values: everything known about a run, built once (sweattest.record.run_record and,
for what the store keeps beside the run, sweattest.record.stored_record) and read by reports, LIMS files, QA,
the web views and the command line. Times are aware datetimes; categories, flags, statuses and severities
the rules' own enums; the range set the rules' own ``RangeSet``. Quantities are ``Shown``: the quantity and its
text at the instrument's precision (which a template prints as it is); ``Amounts`` gives them as numbers in the
units their field names declare, for file formats.

JSON is only at the file edge (sweattest.record.record_json: one serializer, one parser). What came from
outside the record as a document stays a mapping: the order as the run kept it, its eligibility findings, the
QC status, the instruments the readiness check recorded, the repeat link, the patient's earlier tests and the
change on a CFTR modulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pint

from sweattest.core.procedure.model import Step
from sweattest.core.rules.bands import Category, Flag, RangeSet
from sweattest.core.rules.chloride import ChlorideStatus
from sweattest.core.rules.findings import Finding
from sweattest.core.rules.result import SiteStatus

#: The report's status: preliminary until released, final, corrected once amended.
ReportState = Literal["preliminary", "final", "corrected"]


@dataclass(frozen=True)
class Shown:
    """A quantity of the record and its text as the record shows it: the instrument's precision, trailing zeros
    kept (``100.00 mg`` on a 0.01 mg balance). Printed (a report template, a message), it is that text."""

    quantity: pint.Quantity
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class AdequacyRule:
    """The lab's adequacy criterion as the run kept it, in words, with its source."""

    criterion: str
    text: str
    source: str


@dataclass(frozen=True)
class Method:
    """The method (protocol) the run ran with."""

    name: str
    title: str
    collection_device: str
    collection_kind: str
    analysis: str
    current: Shown
    duration: Shown
    minimum_sample: Shown
    adequacy: AdequacyRule
    max_collection_time: Shown
    lower_limit: Shown | None
    upper_limit: Shown | None
    weight_readability: Shown | None


@dataclass(frozen=True)
class Amounts:
    """A site's amounts as numbers in the units their names declare, for file formats."""

    sample: float | None
    sample_unit: str
    collection_min: float | None
    current_ma: float | None
    charge_ma_min: float | None
    analyzer_chloride_mmol_l: float | None
    sodium_mmol_l: float | None


@dataclass(frozen=True)
class Stimulation:
    current: Shown
    charge: Shown | None
    trace: str
    duration_s: float | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class Collection:
    started_at: datetime | None
    ended_at: datetime | None
    minutes: Shown | None


@dataclass(frozen=True)
class Chloride:
    """A site's chloride as the rules decided it: whole mmol/L (None: not reportable), comparator, text."""

    status: ChlorideStatus
    value_mmol_l: int | None
    comparator: str
    text: str
    repeat_required: bool


@dataclass(frozen=True)
class Analysis:
    """When the site was analysed, minutes after the end of collection, and the lab's limit."""

    at: datetime
    delay_min: int
    limit: Mapping[str, Any]


@dataclass(frozen=True)
class Was:
    """A corrected site's values as the version before showed them."""

    chloride: str | None
    sample: str | None
    adequacy: str | None


@dataclass(frozen=True)
class SiteEntry:
    """One collection site of the record."""

    site: str
    state: str
    abort_reason: str | None
    sample_id: str
    status: SiteStatus
    category: Category | None
    flag: Flag | None
    amounts: Amounts
    stimulation: Stimulation
    collection: Collection
    pre_weight: Shown | None
    post_weight: Shown | None
    sample: Shown | None
    adequate: bool | None
    sweat_rate_g_m2_min: float | None
    analyzer_chloride: Shown | None
    sodium: Shown | None
    chloride: Chloride | None
    analysis: Analysis | None
    findings: tuple[Finding, ...]
    #: each step as it was written (the audit's times; a simulated run's other times are the procedure clock's)
    steps: tuple[Step, ...]
    #: on a corrected version, the values this site showed before (None: unchanged or not corrected)
    was: Was | None = None

    @property
    def reportable(self) -> bool:
        """A chloride that is a result (reported, or below the measuring range)."""
        return self.status in (SiteStatus.REPORTED, SiteStatus.BELOW_RANGE)


@dataclass(frozen=True)
class Interpretation:
    """The test's interpretation with the range set it used; ``withheld`` the reason when there is none."""

    category: Category | None
    wording: str
    repeat_recommended: bool
    withheld: str | None
    findings: tuple[Finding, ...]
    label: str | None
    code: str | None
    monitoring: str | None
    current_guideline: str | None
    ranges: RangeSet


@dataclass(frozen=True)
class Performed:
    """Who performed the run: the "performed" signature, else the order's operator (not signed)."""

    by: str
    name: str | None
    signed: bool
    at: datetime | None


@dataclass(frozen=True)
class Reviewed:
    by: str
    name: str | None
    at: datetime | None


@dataclass(frozen=True)
class Resumption:
    """The run brought back after its process stopped: when, by whom, the state it was found in."""

    at: datetime
    by: str
    state_found: str


@dataclass(frozen=True)
class Change:
    """One value an amendment changed: the field, old and new as the report shows them; ``name`` the field in
    words (set on a corrected version's record); ``not_applied`` why it could not be applied."""

    field: str
    old: Any
    new: Any
    not_applied: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Correction:
    """One amendment of the result: its version, when, by whom (``by_name`` the full name), why, what."""

    version: int
    at: datetime
    by: str
    reason: str
    changes: tuple[Change, ...]
    by_name: str | None = None


@dataclass(frozen=True)
class CorrectedBy:
    username: str
    name: str | None


@dataclass(frozen=True)
class Changed:
    """What a corrected version changed: per site the observations, and whether the interpretation did."""

    sites: Mapping[str, tuple[str, ...]]
    interpretation: bool


@dataclass(frozen=True)
class InterpretationChange:
    was: str
    now: str
    text: str


@dataclass(frozen=True)
class CorrectionSummary:
    """A corrected version against the one before it (sweattest.record.correction)."""

    first_released_at: datetime | None
    corrected_by: CorrectedBy
    changed: Changed
    interpretation_change: InterpretationChange | None


@dataclass(frozen=True)
class ReportStatus:
    """The report's status and version; ``released_at`` this version's release (a corrected version's: its
    correction's); ``summary`` what a corrected version changed (None before a correction was summarised)."""

    status: ReportState
    version: int
    released_at: datetime | None
    corrections: tuple[Correction, ...]
    summary: CorrectionSummary | None = None

    @property
    def first_released_at(self) -> datetime | None:
        return self.summary.first_released_at if self.summary else None

    @property
    def corrected_by(self) -> CorrectedBy | None:
        return self.summary.corrected_by if self.summary else None

    @property
    def changed(self) -> Changed | None:
        return self.summary.changed if self.summary else None

    @property
    def interpretation_change(self) -> InterpretationChange | None:
        return self.summary.interpretation_change if self.summary else None

    def site_changed(self, site: str) -> tuple[str, ...]:
        """The observations of ``site`` this version changed (none when not corrected)."""
        return tuple(self.changed.sites.get(site, ())) if self.changed else ()


@dataclass(frozen=True)
class SkinEntry:
    """The skin of a stimulated site after stimulation, as recorded."""

    site: str
    grade: str
    note: str
    adverse: bool
    by: str
    at: datetime


@dataclass(frozen=True)
class AuditHead:
    """The audit chain's head when the record was made (kept outside the database on every report)."""

    entry: int | None
    sha256: str | None


@dataclass(frozen=True)
class StoredParts:
    """What the store keeps beside the run's events (sweattest.record.stored_record)."""

    skin: tuple[SkinEntry, ...]
    audit_head: AuditHead
    repeat_of: Mapping[str, Any] | None
    earlier_tests: tuple[Mapping[str, Any], ...]
    modulator: Mapping[str, Any] | None


@dataclass(frozen=True)
class RunRecord:
    """Everything known about a run. ``stored``: the parts the store keeps beside it (None for a record made
    from the run's events alone)."""

    run_id: str
    state: str
    generated_at: datetime
    simulated: bool
    timeline: str | None
    order: Mapping[str, Any]
    proficiency: Mapping[str, Any] | None
    eligibility: Mapping[str, Any]
    method: Method
    instruments: Mapping[str, Any] | None
    sites: tuple[SiteEntry, ...]
    interpretation: Interpretation
    reviewer: str | None
    qc: Mapping[str, Any]
    performed: Performed
    reviewed: Reviewed | None
    resumed: tuple[Resumption, ...]
    report: ReportStatus
    stored: StoredParts | None = None

    @property
    def patient(self) -> Mapping[str, Any]:
        return self.order["patient"]

    @property
    def accession(self) -> str:
        return self.order["accession"]

    @property
    def skin(self) -> tuple[SkinEntry, ...]:
        return self.stored.skin if self.stored else ()

    @property
    def audit_head(self) -> AuditHead | None:
        return self.stored.audit_head if self.stored else None

    @property
    def repeat_of(self) -> Mapping[str, Any] | None:
        return self.stored.repeat_of if self.stored else None

    @property
    def earlier_tests(self) -> tuple[Mapping[str, Any], ...]:
        return self.stored.earlier_tests if self.stored else ()

    @property
    def modulator(self) -> Mapping[str, Any] | None:
        return self.stored.modulator if self.stored else None

    @property
    def not_production(self) -> bool:
        """A simulated run or a proficiency-testing sample: never a patient result."""
        return bool(self.simulated or self.proficiency)

    def collection_starts(self) -> list[datetime]:
        return [s.collection.started_at for s in self.sites if s.collection.started_at is not None]

    def collection_ends(self) -> list[datetime]:
        return [s.collection.ended_at for s in self.sites if s.collection.ended_at is not None]

    @property
    def first_collection(self) -> datetime | None:
        starts = self.collection_starts()
        return min(starts) if starts else None
