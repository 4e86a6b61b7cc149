"""The manual-entry worksheet: interpret one sweat-test case given as JSON (format: docs/interpret.md).

``interpret_case(doc)`` validates the whole case first (every error names its field), builds quantities,
and runs the clinical rules of ``sweattest.core.rules``; it returns the output document. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sweattest.core.errors import ConfigError, ValidationError
from sweattest.core.fields import date_field, field, number_field
from sweattest.core.protocol import Protocol, load_protocol
from sweattest.core.rules.adequacy import CRITERIA, DEFAULT_CRITERION, Adequacy, assess_volume, assess_weights
from sweattest.core.rules.age import age_at, local_date
from sweattest.core.rules.chloride import ChlorideReport, site_chloride
from sweattest.core.rules.eligibility import CONDITIONS, DEFAULT_LIMITS, Limits, assess, check_site
from sweattest.core.rules.findings import Finding, Severity, withheld_because
from sweattest.core.rules.interpretation import SITE_DIFFERENCE_LIMIT, interpret
from sweattest.core.rules.ranges import DEFAULT_RANGE_SET, RangeSet, range_set
from sweattest.core.rules.result import SiteOutcome, SiteResult
from sweattest.core.rules.sodium import check_sodium
from sweattest.core.units import Q_, Quantity

CASE_KEYS = {"method", "patient", "collected_at", "sites", "ranges", "adequacy"}
PATIENT_KEYS = {"dob", "gestational_age_weeks_at_birth", "weight_kg", "conditions", "cftr_modulator"}
SITE_KEYS = {"site", "collection_min", "volume_ul", "pre_weight_mg", "post_weight_mg", "chloride_mmol_l",
             "eluate_chloride_mmol_l", "eluate_volume_ml", "blank_mmol_l", "sodium_mmol_l"}
SRC_QNS_NOT_ANALYSED = "CLSI C34; CFF 2007 (no chloride is analysed or reported for a QNS site)"


@dataclass(frozen=True)
class SiteEntry:
    """One site of the worksheet, as quantities."""

    site: str
    where: str
    minutes: Any
    volume: Any = None
    pre: Any = None
    post: Any = None
    chloride: Any = None
    sodium: Any = None
    eluate_chloride: Any = None
    eluate_volume: Any = None
    blank: Any = None


def interpret_case(doc: Any, protocols: Path | None = None, ranges: str = DEFAULT_RANGE_SET,
                   limits: Limits = DEFAULT_LIMITS, zone: tzinfo = UTC,
                   difference_limit: Quantity = SITE_DIFFERENCE_LIMIT, adequacy: str = "") -> dict[str, Any]:
    """Validate a case document and return the output document (see docs/interpret.md). The case's method
    is looked up in the lab's ``protocols`` folder first, then the shipped methods; its range set is the
    case's ``ranges`` field, else the lab's ``ranges``. A block finding of the case (eligibility: patient or
    site) withholds the interpretation. Ages are calendar ages on the collection date in the lab's ``zone``;
    ``difference_limit``: the lab's between-site difference limit. A patient on a CFTR modulator
    (``patient.cftr_modulator``) gets a monitoring value, without a diagnostic category. ``adequacy``: the
    lab's criterion (the case's ``adequacy`` field first; unset: the range set's default)."""
    protocol, patient_findings, entries, rs = parse_case(doc, protocols, ranges, limits, zone)
    criterion = field(doc, "adequacy", "", str, required=False, default=adequacy) or DEFAULT_CRITERION[rs.name]
    if criterion not in CRITERIA:
        raise ValidationError(f"adequacy: {criterion!r}; use one of {', '.join(CRITERIA)}")
    outcomes, site_findings = [], []
    for entry in entries:
        outcome, findings = _site(protocol, entry, criterion)
        outcomes.append(outcome)
        site_findings.append(findings)
    modulator = field(doc["patient"], "cftr_modulator", "patient", str, required=False, default="").strip()
    result = interpret(outcomes, rs, withheld=withheld_because(patient_findings), difference_limit=difference_limit,
                       monitoring=modulator or None)
    findings = list(patient_findings) + list(result.findings)
    return {"sites": [_site_doc(o, r, f) for o, r, f in zip(outcomes, result.sites, site_findings, strict=True)],
            "interpretation": result.category, "wording": result.wording,
            "range_set": {"name": rs.name, "group": rs.group, "source": rs.source},
            "repeat_recommended": result.repeat_recommended, "withheld": result.withheld,
            "monitoring": result.monitoring, "current_guideline": result.current_guideline,
            "adequacy": {"criterion": criterion, "text": CRITERIA[criterion][0], "source": CRITERIA[criterion][1]},
            "findings": [f.to_dict() for f in findings]}


def parse_case(doc: Any, protocols: Path | None = None, ranges: str = DEFAULT_RANGE_SET,
               limits: Limits = DEFAULT_LIMITS,
               zone: tzinfo = UTC) -> tuple[Protocol, list[Finding], list[SiteEntry], RangeSet]:
    """The method, the case's eligibility findings (patient and sites), the site entries and the range set."""
    if not isinstance(doc, dict):
        raise ValidationError("case: expected a JSON object with method, patient, collected_at and sites")
    _no_unknown(doc, CASE_KEYS, "case")
    name = field(doc, "ranges", "", str, required=False, default=ranges)
    method = field(doc, "method", "", str)
    try:
        protocol = load_protocol(method, protocols)
    except ConfigError as exc:
        raise ValidationError(f"method: {exc}") from None
    collected_at = _datetime(field(doc, "collected_at", "", str), "collected_at")
    pdoc = field(doc, "patient", "", dict)
    sites = field(doc, "sites", "", list)
    if not sites:
        raise ValidationError("sites: empty; give one or two collection sites")
    entries = [_entry(protocol, s, f"sites[{i}]") for i, s in enumerate(sites)]
    names = [e.site for e in entries]
    if len(set(names)) != len(names):
        raise ValidationError("sites: a site is listed twice; sites are never pooled, give each once")
    case_findings = _eligibility(pdoc, collected_at, names, limits, zone)
    try:
        rs = range_set(name, age_at(date_field(pdoc, "dob", "patient"), collected_at, zone))
    except ValidationError as exc:
        raise ValidationError(f"ranges: {exc}") from None
    return protocol, case_findings, entries, rs


def _eligibility(pdoc: dict[str, Any], collected_at: datetime, sites: list[str], limits: Limits,
                 zone: tzinfo) -> list[Finding]:
    """The case's eligibility findings, by the same check as a run (sweattest.core.rules.eligibility.assess)."""
    _no_unknown(pdoc, PATIENT_KEYS, "patient")
    dob = date_field(pdoc, "dob", "patient")
    ga = number_field(pdoc, "gestational_age_weeks_at_birth", "patient", required=False, minimum=20, maximum=45)
    weight = number_field(pdoc, "weight_kg", "patient", required=False, minimum=0.1, maximum=300)
    conditions = field(pdoc, "conditions", "patient", list, required=False, default=[])
    for i, code in enumerate(conditions):
        if code not in CONDITIONS:
            raise ValidationError(f"patient.conditions[{i}]: unknown condition {code!r}; use one of "
                                  f"{', '.join(CONDITIONS)}")
    if dob > local_date(collected_at, zone):
        raise ValidationError("patient.dob: the date of birth is after collected_at; correct it")
    return list(assess(dob, collected_at, sites=sites, gestational_age_at_birth=None if ga is None else Q_(ga, "week"),
                       weight=None if weight is None else Q_(weight, "kg"), conditions=conditions,
                       limits=limits, zone=zone).findings)


def _entry(protocol: Protocol, sdoc: Any, where: str) -> SiteEntry:
    if not isinstance(sdoc, dict):
        raise ValidationError(f"{where}: expected an object with site, collection_min and the sample")
    _no_unknown(sdoc, SITE_KEYS, where)
    site = field(sdoc, "site", where, str)
    minutes = number_field(sdoc, "collection_min", where, minimum=0, maximum=240)
    if minutes <= 0:
        raise ValidationError(f"{where}.collection_min: must be above 0 minutes")
    num = _numbers(sdoc, where)
    if protocol.gravimetric:
        if "volume_ul" in num:
            raise ValidationError(f"{where}.volume_ul: {protocol.name} collects by weight; give "
                                  "pre_weight_mg and post_weight_mg instead")
        _need_pair(num, ("pre_weight_mg", "post_weight_mg"), where, "the gauze or filter paper weights")
    else:
        for key in ("pre_weight_mg", "post_weight_mg", "eluate_chloride_mmol_l", "eluate_volume_ml",
                    "blank_mmol_l"):
            if key in num:
                raise ValidationError(f"{where}.{key}: {protocol.name} reads the sample as a volume; "
                                      "give volume_ul and chloride_mmol_l")
        if "volume_ul" not in num:
            raise ValidationError(f"{where}.volume_ul: missing; give the collected volume in uL")
    _plausible(num, where)
    eluate = [k for k in ("eluate_chloride_mmol_l", "eluate_volume_ml") if k in num]
    if eluate and "chloride_mmol_l" in num:
        raise ValidationError(f"{where}.chloride_mmol_l: give either chloride_mmol_l or the eluate pair, "
                              "not both")
    if eluate or "blank_mmol_l" in num:
        _need_pair(num, ("eluate_chloride_mmol_l", "eluate_volume_ml"), where, "the eluate pair")
    return SiteEntry(site=site, where=where, minutes=Q_(minutes, "min"), volume=_q(num, "volume_ul", "uL"),
                     pre=_q(num, "pre_weight_mg", "mg"), post=_q(num, "post_weight_mg", "mg"),
                     chloride=_q(num, "chloride_mmol_l", "mmol/L"), sodium=_q(num, "sodium_mmol_l", "mmol/L"),
                     eluate_chloride=_q(num, "eluate_chloride_mmol_l", "mmol/L"),
                     eluate_volume=_q(num, "eluate_volume_ml", "mL"), blank=_q(num, "blank_mmol_l", "mmol/L"))


def _plausible(num: dict[str, float], where: str) -> None:
    """Entry errors to correct (never a QNS): impossible weights, blank above the eluate, empty eluate."""
    if num.get("pre_weight_mg", 1) <= 0:
        raise ValidationError(f"{where}.pre_weight_mg: a container weighs more than 0 mg; re-weigh or correct it")
    if "post_weight_mg" in num and num["post_weight_mg"] < num.get("pre_weight_mg", 0):
        raise ValidationError(f"{where}.post_weight_mg: {num['post_weight_mg']} mg is below the pre weight "
                              f"{num['pre_weight_mg']} mg; re-weigh or correct the entry")
    if num.get("eluate_volume_ml", 1) <= 0:
        raise ValidationError(f"{where}.eluate_volume_ml: must be above 0 mL")
    if num.get("blank_mmol_l", 0) > num.get("eluate_chloride_mmol_l", float("inf")):
        raise ValidationError(f"{where}.blank_mmol_l: the pad blank is above the eluate chloride; repeat the "
                              "blank or the eluate measurement")


def _numbers(sdoc: dict[str, Any], where: str) -> dict[str, float]:
    out = {}
    for key in SITE_KEYS - {"site", "collection_min"}:
        value = number_field(sdoc, key, where, required=False, minimum=0, maximum=100000)
        if value is not None:
            out[key] = value
    return out


def _need_pair(num: dict[str, float], keys: tuple[str, str], where: str, what: str) -> None:
    for key in keys:
        if key not in num:
            raise ValidationError(f"{where}.{key}: missing; give {what} ({keys[0]} and {keys[1]})")


def _q(num: dict[str, float], key: str, unit: str):
    return Q_(num[key], unit) if key in num else None


def _site(protocol: Protocol, e: SiteEntry, criterion: str) -> tuple[SiteOutcome, list[Finding]]:
    """Adequacy by the lab's criterion, then chloride for an adequate site only (CLSI C34), and the Na/Cl
    plausibility check when a sodium is entered."""
    findings = check_site(e.site)  # shown with the site; the case's own check withholds the interpretation
    try:
        if protocol.gravimetric:
            adequacy: Adequacy = assess_weights(protocol, e.pre, e.post, e.minutes, criterion)
        else:
            adequacy = assess_volume(protocol, e.volume, e.minutes, criterion)
    except ValidationError as exc:
        raise ValidationError(f"{e.where}: {exc}") from None
    findings += adequacy.findings
    report: ChlorideReport | None = None
    has_chloride = e.chloride is not None or e.eluate_chloride is not None
    if not adequacy.adequate:
        if has_chloride:
            findings.append(Finding("chloride_not_reported_qns", Severity.WARN, f"{e.site} is QNS: the "
                                    "chloride entered is not reported", SRC_QNS_NOT_ANALYSED))
    elif has_chloride:
        try:
            if e.chloride is not None:
                report = site_chloride(protocol, e.chloride)
            else:
                report = site_chloride(protocol, e.eluate_chloride, sweat_mass=adequacy.sample,
                                       eluate_volume=e.eluate_volume, blank=e.blank)
        except ValidationError as exc:
            raise ValidationError(f"{e.where}: {exc}") from None
        findings += report.findings
    if e.sodium is not None and adequacy.adequate:
        try:
            findings += check_sodium(e.site, e.sodium, report if report is not None and report.reportable else None)
        except ValidationError as exc:
            raise ValidationError(f"{e.where}.sodium_mmol_l: {exc}") from None
    return SiteOutcome(e.site, adequacy, report), findings


def _site_doc(outcome: SiteOutcome, result: SiteResult, findings: list[Finding]) -> dict[str, Any]:
    adequacy = outcome.adequacy
    assert adequacy is not None
    sample = adequacy.sample
    # as weighed or read, at the balance's precision: the one rounding is for display (.10g drops float noise)
    if sample.dimensionality == Q_(1, "mg").dimensionality:
        sample_text = f"{sample.to('mg').magnitude:.10g} mg"
    else:
        sample_text = f"{sample.to('uL').magnitude:.10g} uL"
    chloride = result.chloride
    return {"site": outcome.site, "adequate": adequacy.adequate, "sample": sample_text,
            "sweat_rate_g_m2_min": round(float(adequacy.sweat_rate.to("g/m**2/min").magnitude), 1),
            "status": result.status,
            "reportable_chloride": chloride.text if chloride is not None and chloride.reportable else None,
            "chloride_text": None if chloride is None else chloride.text,
            "flag": result.flag,
            "findings": [f.to_dict() for f in findings]}


def _datetime(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{where}: {text!r} is not a date and time; write it like "
                              "2026-11-20T10:00:00Z") from None
    if value.tzinfo is None:
        raise ValidationError(f"{where}: {text!r} has no time zone; add Z for UTC or an offset like +01:00")
    return value


def _no_unknown(doc: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}: unknown field; expected one of {', '.join(sorted(allowed))}")
