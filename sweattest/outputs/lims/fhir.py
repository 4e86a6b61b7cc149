"""FHIR R4 result of one run: a Bundle (type collection) holding the DiagnosticReport, the Patient it is
about, a Specimen per site, an Observation per site and measure (chloride, sample weight or volume, adequacy,
sweat rate) and, when the order came from the LIS, the ServiceRequest with its placer and filler numbers.
Documented in docs/lis.md. Codes are those of ``[lis.codes]`` (LOINC 2077-6 for the chloride by default).

Every resource is built as a fhir.resources model (R4B, the R4 resources this file uses unchanged), so each is
validated as it is made: a wrong element, code or datatype raises here, never at the LIS. The JSON is the
models' own, elements in FHIR's order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationReferenceRange
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.specimen import Specimen, SpecimenCollection

from sweattest.core.config import LabConfig
from sweattest.outputs.report.context import SITE_NAMES
from sweattest.outputs.report.facts import correction_lines, modulator_lines
from sweattest.record.run_record_model import RunRecord, SiteEntry

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: the code system of the lab's local codes (coding system "L" in HL7 v2)
LOCAL = "urn:sweattest:local-codes"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: report status -> DiagnosticReport.status and Observation.status
STATUS = {"preliminary": "preliminary", "final": "final", "corrected": "corrected"}
GENDER = {"F": "female", "M": "male", "O": "other", "U": "unknown"}
SYSTEMS = {"LN": LOINC, "L": LOCAL, "HL70487": V2_0487}
SPECIMEN_TYPE = ("SWT", "Sweat", "HL70487")
COLLECTION_METHOD = ("PILO", "Pilocarpine iontophoresis, timed collection", "L")


def render_fhir(record: RunRecord, config: LabConfig | None = None) -> str:
    """The Bundle as JSON text (UTF-8, two-space indent, FHIR's element order)."""
    return bundle(record, config or LabConfig()).model_dump_json(indent=2) + "\n"


def bundle(record: RunRecord, config: LabConfig) -> Bundle:
    run_id, version = record.run_id, record.report.version
    ids = _Ids(f"{run_id}/v{version}")
    status = STATUS[record.report.status]
    order, lis = record.order, record.order.get("lis") or {}
    entries: list[tuple[str, Any]] = [(ids("Patient"), _patient(order, lis, config))]
    subject = Reference(reference=ids("Patient"))
    request = None
    if lis:
        request = _service_request(record, lis, config, subject)
        entries.append((ids("ServiceRequest"), request))
    specimens, results = [], []
    for index, site in enumerate(record.sites, start=1):
        specimen_ref = Reference(reference=ids(f"Specimen/{index}"))
        specimens.append(specimen_ref)
        entries.append((specimen_ref.reference, _specimen(site, subject, config)))
        for measure, observation in _observations(record, site, status, config):
            ref = ids(f"Observation/{index}/{measure}")
            results.append(Reference(reference=ref))
            entries.append((ref, Observation(**observation, subject=subject, specimen=specimen_ref)))
    report = _report(record, status, config, subject, results, specimens,
                     Reference(reference=ids("ServiceRequest")) if request else None)
    entries.insert(0, (ids("DiagnosticReport"), report))
    return Bundle(type="collection", identifier=Identifier(system=LOCAL, value=f"{run_id}-v{version}"),
                  timestamp=_instant(record.report.released_at or record.generated_at),
                  entry=[BundleEntry(fullUrl=url, resource=resource) for url, resource in entries])


class _Ids:
    """Stable urn:uuid references within one bundle (the same run and version give the same ids)."""

    def __init__(self, seed: str):
        self.seed = seed

    def __call__(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sweattest:{self.seed}/{name}')}"


def _coding(code: tuple[str, str, str]) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=SYSTEMS.get(code[2], f"{LOCAL}:{code[2]}"), code=code[0],
                                          display=code[1])], text=code[1])


def _kind(system: str, code: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code)])


def _patient(order: dict[str, Any], lis: dict[str, Any], config: LabConfig) -> Patient:
    """The patient: the identifiers as the LIS sent them (PID-3, each with the system of its assigning
    authority), else the MRN in this lab's namespace; the name with its middle names."""
    p = order["patient"]
    sent = lis.get("patient") or {}
    identifiers = [_identifier(cx) for cx in sent.get("identifiers") or []] or [
        Identifier(type=_kind(V2_0203, "MR"), system=f"urn:sweattest:mrn:{config.hl7.sending_facility}",
                   value=p["mrn"])]
    given = [g for g in (p["given"], sent.get("middle") or "") if g]
    return Patient(identifier=identifiers, name=[HumanName(family=p["family"], given=given)],
                   gender=GENDER.get(p["sex"], "unknown"), birthDate=p["dob"])


def _identifier(cx: Any) -> Identifier:
    """A CX (or an XCN: ``authority`` 9, ``kind`` 13) as a FHIR Identifier: an ISO assigning authority is
    ``urn:oid:``, a UUID ``urn:uuid:``, a URI itself; else the authority's name in sweattest's namespace."""
    return _identifier_of(cx, authority=4, kind=5)


def _identifier_of(value: Any, *, authority: int, kind: int) -> Identifier:
    parts = [[c] for c in value.split("^")] if isinstance(value, str) else value  # stored before composites

    def part(n: int, sub: int = 1) -> str:
        comp = parts[n - 1] if len(parts) >= n else []
        return comp[sub - 1] if len(comp) >= sub else ""

    namespace, universal, universal_type = (part(authority, i) for i in (1, 2, 3))
    if universal and universal_type == "ISO":
        system = f"urn:oid:{universal}"
    elif universal and universal_type == "UUID":
        system = f"urn:uuid:{universal.lower()}"
    elif universal and universal_type in ("URI", "URL"):
        system = universal
    else:
        system = f"urn:sweattest:id:{namespace or universal or 'unknown'}"
    return Identifier(type=_kind(V2_0203, part(kind)) if part(kind) else None, system=system,
                      value=part(1) or None)


def _service_request(record: RunRecord, lis: dict[str, Any], config: LabConfig,
                     subject: Reference) -> ServiceRequest:
    identifiers = []
    for kind, key in (("PLAC", "placer_ei"), ("FILL", "filler_ei")):
        parts = lis.get(key) or []
        if parts:
            identifiers.append(Identifier(type=_kind(V2_0203, kind), value=parts[0],
                                          system=f"urn:sweattest:order:{parts[1] if len(parts) > 1 else 'unknown'}"))
    provider = lis.get("provider") or {}
    xcn = (provider.get("xcn") or [None])[0]
    identifier = None
    if xcn and _identifier_of(xcn, authority=9, kind=13).value:  # the ID with its assigning authority
        # (XCN-9), e.g. the NPI as urn:oid:2.16.840.1.113883.4.6; a provider sent by name only has none
        identifier = _identifier_of(xcn, authority=9, kind=13)
    elif provider.get("id"):
        identifier = Identifier(value=provider["id"])
    return ServiceRequest(identifier=identifiers, status="completed", intent="order",
                          code=_coding(config.lis.code("panel")), subject=subject,
                          requester=Reference(display=record.order["ordering_provider"], identifier=identifier))


def _specimen(site: SiteEntry, subject: Reference, config: LabConfig) -> Specimen:
    started, ended = site.collection.started_at, site.collection.ended_at
    period = Period(start=_instant(started), end=_instant(ended) if ended else None) if started else None
    return Specimen(identifier=[Identifier(system=f"urn:sweattest:sample:{config.hl7.sending_facility}",
                                           value=site.sample_id)],
                    type=_coding(SPECIMEN_TYPE), subject=subject,
                    collection=SpecimenCollection(method=_coding(COLLECTION_METHOD), collectedPeriod=period,
                                                  bodySite=CodeableConcept(
                                                      text=SITE_NAMES.get(site.site, site.site))))


def _observations(record: RunRecord, site: SiteEntry, status: str,
                  config: LabConfig) -> list[tuple[str, dict[str, Any]]]:
    """Each measure of the site as the elements of its Observation (subject and specimen added by the bundle)."""
    def code(observation: str) -> CodeableConcept:
        return _coding(config.lis.code(observation, site.site))

    started = site.collection.started_at
    base: dict[str, Any] = {"status": status, "category": [_kind(OBSERVATION_CATEGORY, "laboratory")],
                            "performer": _performer(config),
                            "effectiveDateTime": _instant(started) if started else None}
    out = [("chloride", base | {"code": code("chloride")} | _chloride(record, site) | _notes(record))]
    amounts = site.amounts
    if amounts.sample is not None:
        unit = amounts.sample_unit
        out.append(("sample", base | {"code": code("weight" if unit == "mg" else "volume"),
                                      "valueQuantity": _quantity(amounts.sample, unit)}))
    if site.adequate is not None:
        value = ("ADEQ", "Adequate", "L") if site.adequate else ("QNS", "Quantity not sufficient", "L")
        out.append(("adequacy", base | {"code": code("adequacy"), "valueCodeableConcept": _coding(value)}))
    if site.sweat_rate_g_m2_min is not None:
        out.append(("sweat_rate", base | {"code": code("sweat_rate"),
                                          "valueQuantity": _quantity(site.sweat_rate_g_m2_min, "g/(m2.min)")}))
    return out


def _notes(record: RunRecord) -> dict[str, Any]:
    """Observation.note: on a CFTR modulator, the monitoring value, the modulator and the change from the
    patient's previous result; on a corrected version, what changed (as the report and HL7 NTE say it)."""
    texts = modulator_lines(record) + correction_lines(record)
    return {"note": [{"text": t} for t in texts]} if texts else {}


def _chloride(record: RunRecord, site: SiteEntry) -> dict[str, Any]:
    normal = record.interpretation.ranges.normal
    out: dict[str, Any] = {"referenceRange": [ObservationReferenceRange(
        low=_quantity(normal.low, "mmol/L"), high=_quantity(normal.high, "mmol/L"),
        text=f"CF unlikely ({record.interpretation.ranges.name})")]}
    chloride = site.chloride
    if not site.reportable or chloride is None:
        return out | {"dataAbsentReason": CodeableConcept(coding=[Coding(system=DATA_ABSENT, code="not-performed")],
                                                          text=str(site.status))}
    value = _quantity(chloride.value_mmol_l, "mmol/L", chloride.comparator)
    if site.flag:
        out["interpretation"] = [_kind(INTERPRETATION, str(site.flag))]
    if site.analysis is not None:
        out["issued"] = _instant(site.analysis.at)
    return out | {"valueQuantity": value}


def _report(record: RunRecord, status: str, config: LabConfig, subject: Reference,
            results: list[Reference], specimens: list[Reference], request: Reference | None) -> DiagnosticReport:
    interp = record.interpretation
    starts, ends = record.collection_starts(), record.collection_ends()
    conclusion_code = None
    if interp.category and not interp.withheld:  # in the range set's own words, as the report
        category = str(interp.category)
        conclusion_code = [_coding((str(interp.code or category),
                                    str(interp.label or category.replace("_", " ")), "L"))]
    return DiagnosticReport(
        identifier=[Identifier(system=f"urn:sweattest:run:{config.hl7.sending_facility}", value=record.run_id)],
        basedOn=[request] if request is not None else None, status=status,
        category=[CodeableConcept(coding=[Coding(system=V2_0074, code="LAB", display="Laboratory")])],
        code=_coding(config.lis.code("panel")), subject=subject,
        effectivePeriod=Period(start=_instant(min(starts)), end=_instant(max(ends)) if ends else None)
        if starts else None,
        issued=_instant(record.report.released_at or record.generated_at),
        performer=_performer(config), specimen=specimens, result=results,
        conclusion=interp.wording or interp.withheld or "no reportable result",
        conclusionCode=conclusion_code)


def _performer(config: LabConfig) -> list[Reference] | None:
    """The performing lab by the name it configured; none when unset (nothing invented stands in)."""
    return [Reference(display=config.lab.name)] if config.lab.name else None


def _quantity(value: float, unit: str, comparator: str | None = None) -> Quantity:
    number = float(value)
    return Quantity(value=int(number) if number == int(number) else round(number, 6), comparator=comparator or None,
                    unit=unit, system=UCUM, code=unit)


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
