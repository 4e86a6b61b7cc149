"""HL7 v2.5.1 ORU^R01 result message of one run (documented in docs/hl7.md).

MSH (UUID control ID, UTF-8 declared), PID, ORC, OBR, then per site the OBX observations (sweat chloride
LOINC 2077-6 and the lab's local codes for site, sample, adequacy, sweat rate, collection time,
stimulation current and charge) and NTE for the interpretation, flags, comments and corrections.
Every OBX has its value type (OBX-2) and every text goes through ``escape`` (hl7apy #82: an untyped
OBX-5 leaves ``^`` unescaped). A corrected result is a new message with OBX-11 = C, never an overwrite.

The message is built with python-hl7 containers (as the acknowledgements, sweattest.lis.ack), each field
placed as HL7 text: every piece escaped once by ``escape``, composites from the order written back by ``join``.
Not with hl7apy's builder: its escaping turns ``\\.br\\`` and ``\\Xhh\\`` into ``\\E\\.br\\E\\``. hl7apy at its STRICT
level validates the messages in the tests (goldens, composites, corrections); not on every send, where its
parser takes about half a second a message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import hl7

from sweattest.core.config import LabConfig
from sweattest.outputs.lims.hl7_escape import escape, join
from sweattest.outputs.report.context import SITE_NAMES, flags
from sweattest.outputs.report.facts import correction_lines, modulator_lines
from sweattest.record.run_record_model import RunRecord, SiteEntry

VERSION = "2.5.1"
CHARSET = "UNICODE UTF-8"
SEGMENT_END = "\r"
#: The codes of OBR-4 and each OBX-3 come from ``[lis.codes]`` (sweattest.core.lis_config: LOINC 2077-6 for the
#: chloride, the lab's local codes for the rest unless it configures others).
SPECIMEN_TYPE = ("SWT", "Sweat", "HL70487")
COLLECTION_METHOD = ("PILO", "Pilocarpine iontophoresis, timed collection", "L")
#: report status -> OBR-25 / OBX-11 result status (HL7 table 0085 / 0123)
RESULT_STATUS = {"preliminary": "P", "final": "F", "corrected": "C"}
NOT_OBTAINED = "X"


#: HL7 v2.5.1 MSH-10 (message control ID, ST) is at most 20 characters.
CONTROL_ID_LENGTH = 20


def new_control_id() -> str:
    """MSH-10: 20 hex digits of a random UUID (80 random bits), unique per message without being time-based
    or a lab identifier, and within the field's 20-character limit so a strict receiver accepts it."""
    return uuid.uuid4().hex.upper()[:CONTROL_ID_LENGTH]


def render_oru(record: RunRecord, config: LabConfig | None = None, *, sent_at: datetime,
               control_id: str | None = None) -> str:
    """The ORU^R01 message for ``record``'s current version; segments end with CR."""
    config = config or LabConfig()
    status = RESULT_STATUS[record.report.status]
    not_production = record.not_production
    message = hl7.parse("MSH|^~\\&|")
    for number, value in enumerate(_msh(config, sent_at, control_id or new_control_id(), not_production), start=3):
        if value:
            message.segment("MSH").assign_field(value, number)
    _add(message, "PID", _pid(record, config))
    _add(message, "PV1", _pv1(record))
    _add(message, "ORC", _orc(record, config))
    _add(message, "OBR", _obr(record, config, status))
    for note in _notes(record):
        _add(message, "NTE", note)
    performer = _performer(config)
    observations = [(index, site, obx) for index, site in enumerate(record.sites, start=1)
                    for obx in _site_observations(record, site, status, config)]
    observations += [(0, None, obx) for obx in _interpretation(record, status, config)]
    for set_id, (index, site, obx) in enumerate(observations, start=1):
        _add(message, "OBX", [str(set_id), *_obx_fields(obx, index, record, site, performer)])
    specimen = (record.order.get("lis") or {}).get("specimen")
    for index, site in enumerate(record.sites, start=1):
        _add(message, "SPM", _spm(index, site, config, specimen))
    return str(message).rstrip(SEGMENT_END) + SEGMENT_END  # one terminator (python-hl7 ends with one already)


def _add(message: hl7.Message, name: str, fields: list[str]) -> None:
    """Segment ``name`` with field n ``fields[n - 1]`` (HL7 text); empty ones left empty, none after the last."""
    fields = list(fields)
    while fields and not fields[-1]:
        fields.pop()
    message.append(message.create_segment([message.create_field([value]) for value in (name, *fields)]))


def _ce(code: tuple[str, str, str]) -> str:
    return "^".join(escape(part) for part in code)


def _ts(at: datetime | None) -> str:
    """HL7 TS with explicit UTC offset: YYYYMMDDHHMMSS+0000."""
    return "" if at is None else at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def _msh(config: LabConfig, sent_at: datetime, control_id: str, simulated: bool) -> list[str]:
    """MSH-3 onwards."""
    h = config.hl7
    processing_id = "T" if simulated else h.processing_id  # a simulated run is never a production result
    return [escape(h.sending_application), escape(h.sending_facility), escape(h.receiving_application),
            escape(h.receiving_facility), _ts(sent_at), "", "ORU^R01^ORU_R01", escape(control_id), processing_id,
            VERSION, "", "", "AL", "NE", "", CHARSET]


def _pid(record: RunRecord, config: LabConfig) -> list[str]:
    """PID-3, PID-5 and PID-8 as the LIS sent them (components and subcomponents kept: ``join``), else from the
    bench order."""
    p = record.patient
    sent = (record.order.get("lis") or {}).get("patient") or {}
    ids = join(sent.get("identifiers")) or f"{escape(p['mrn'])}^^^{escape(config.hl7.sending_facility)}^MR"
    name = join(sent.get("name")) or f"{escape(p['family'])}^{escape(p['given'])}"
    return ["1", "", ids, "", name, "", p["dob"].replace("-", ""), escape(sent.get("sex") or p["sex"])]


def _pv1(record: RunRecord) -> list[str]:
    """PV1-2 the patient class (table 0004; the LIS's, else U unknown), PV1-3 the location and PV1-19 the visit
    number (with its assigning authority) as the LIS sent them."""
    visit = (record.order.get("lis") or {}).get("visit") or {}
    fields = [""] * 19
    fields[0], fields[1] = "1", escape(visit.get("class") or "U")
    fields[2] = join(visit.get("location"))
    fields[18] = join(visit.get("number_cx")) or escape(visit.get("number") or "")
    return fields


def _numbers(record: RunRecord, config: LabConfig) -> tuple[str, str]:
    """Placer and filler order numbers (EI): as the LIS sent them, else the accession and the run id."""
    lis = record.order.get("lis") or {}
    placer = lis.get("placer_ei") or [record.accession]
    filler = lis.get("filler_ei") or [record.run_id, config.hl7.sending_facility]
    return "^".join(escape(p) for p in placer), "^".join(escape(p) for p in filler)


def _provider(record: RunRecord) -> str:
    """XCN: the ordering provider as the LIS sent it (its ID, often the NPI, names, assigning authority), else
    the LIS's ID and the name as written on the order."""
    provider = (record.order.get("lis") or {}).get("provider") or {}
    written = f"{escape(provider.get('id', ''))}^{escape(record.order['ordering_provider'])}"
    return join(provider.get("xcn")) or written


def _orc(record: RunRecord, config: LabConfig) -> list[str]:
    order_status = "IP" if record.report.status == "preliminary" else "CM"  # HL7 table 0038
    placer, filler = _numbers(record, config)
    group = join((record.order.get("lis") or {}).get("placer_group"))  # ORC-4 as the LIS sent it
    return ["RE", placer, filler, group, order_status, "", "", "", "", "", "", _provider(record)]


def _obr(record: RunRecord, config: LabConfig, status: str) -> list[str]:
    starts, ends = record.collection_starts(), record.collection_ends()
    fields = [""] * 25
    fields[0] = "1"
    fields[1], fields[2] = _numbers(record, config)
    fields[3] = _ce(config.lis.code("panel"))
    fields[6] = _ts(min(starts) if starts else None)
    fields[7] = _ts(max(ends) if ends else None)
    fields[15] = _provider(record)
    fields[21] = _ts(record.report.released_at or record.generated_at)
    fields[23] = "LAB"
    fields[24] = status
    return fields


def _notes(record: RunRecord) -> list[list[str]]:
    texts: list[str] = []
    pt = record.proficiency
    if pt:
        texts.append(f"PROFICIENCY TEST: {pt['provider']} {pt['scheme']}, event {pt['event']}, sample "
                     f"{pt['sample']}; not a patient result")
    interp = record.interpretation
    texts.append(f"Interpretation: {interp.wording}")
    ranges = interp.ranges
    texts.append(f"Interpretive ranges: {ranges.name} ({ranges.group}); {ranges.source}")
    texts += flags(record)
    comment = record.order.get("comment")
    if comment:
        texts.append(f"Comment: {comment}")
    link = record.repeat_of
    if link:
        texts.append(f"Repeat of accession {link['accession']} (run {link['run_id']}, {link['date']}): "
                     f"{link['reason_text']}" + (f"; {link['note']}" if link.get("note") else ""))
    texts += modulator_lines(record)
    texts += correction_lines(record)
    return [[str(i), "L", escape(t)] for i, t in enumerate(texts, start=1)]


def _site_observations(record: RunRecord, site: SiteEntry, status: str,
                       config: LabConfig) -> list[dict[str, Any]]:
    name = SITE_NAMES.get(site.site, site.site)

    def code(observation: str) -> tuple[str, str, str]:
        return config.lis.code(observation, site.site)

    obs = [{"type": "CWE", "code": code("site"), "value": f"{escape(site.site)}^{escape(name)}^L"}]
    obs.append(_chloride(record, site, code("chloride")) | {"observation": "chloride"})
    amounts = site.amounts
    if amounts.sample is not None:
        unit = amounts.sample_unit
        obs.append(_number(code("weight" if unit == "mg" else "volume"), amounts.sample, unit)
                   | {"observation": "sample"})
    if site.adequate is not None:
        adequacy = "ADEQ^Adequate^L" if site.adequate else "QNS^Quantity not sufficient^L"
        obs.append({"type": "CWE", "code": code("adequacy"), "value": adequacy, "observation": "adequacy"})
    if site.sweat_rate_g_m2_min is not None:
        obs.append({"type": "NM", "code": code("sweat_rate"), "value": _num(site.sweat_rate_g_m2_min),
                    "units": "g/(m2.min)^g/(m2.min)^UCUM", "observation": "sweat_rate"})
    if amounts.collection_min:
        obs.append(_number(code("collection_time"), amounts.collection_min, "min"))
    obs.append(_number(code("current"), amounts.current_ma, "mA"))
    if amounts.charge_ma_min is not None:
        obs.append(_number(code("charge"), amounts.charge_ma_min, "mA.min"))
    changed = record.report.site_changed(site.site)
    for o in obs:
        o.setdefault("status", _version_status(status, o.pop("observation", None) in changed))
        o["at"] = site.collection.started_at
    return obs


def _version_status(status: str, changed: bool) -> str:
    """OBX-11 of a corrected version (HL7 table 0085): C only on an observation this version changed; the
    others are sent again as final (F)."""
    if status != RESULT_STATUS["corrected"]:
        return status
    return status if changed else RESULT_STATUS["final"]


def _interpretation(record: RunRecord, status: str, config: LabConfig) -> list[dict[str, Any]]:
    """One OBX for the test's interpretation (category code, the wording in NTE); none when withheld."""
    interp = record.interpretation
    if not interp.category or interp.withheld:
        return []
    category = str(interp.category)
    # the code and text in the range set's own words, as the report prints them ("normal" under C34-A3)
    code = str(interp.code or category)
    text = str(interp.label or CATEGORY_TEXT.get(category, category))
    changed = bool(record.report.changed and record.report.changed.interpretation)
    return [{"type": "CWE", "code": config.lis.code("interpretation"), "status": _version_status(status, changed),
             "value": f"{escape(code)}^{escape(text)}^L", "at": None}]


#: interpretation category -> OBX-5 text (records made before the range set's labels were kept)
CATEGORY_TEXT = {"cf_unlikely": "CF unlikely", "intermediate": "Intermediate", "cf_likely": "CF likely"}


def _performer(config: LabConfig) -> list[str]:
    """OBX-23 performing organization (name, CLIA number), OBX-24 its address, OBX-25 its director: each only
    as the lab configured it; an unset field (or component) is left empty, never filled with an invented one."""
    lab = config.lab
    org = escape(lab.name)
    if lab.name and lab.clia:
        org += f"^L^^^^CLIA&2.16.840.1.113883.4.7&ISO^XX^^^{escape(lab.clia)}"
    return [org, escape(lab.address), f"^{escape(lab.director)}" if lab.director else ""]


def _spm(index: int, site: SiteEntry, config: LabConfig, specimen: list | None = None) -> list[str]:
    """The specimen of one site: its sample ID (assigned by the lab: SPM-2.2; SPM-2.1 the placer's specimen ID of
    the OML, as sent), sweat, its collection method, the site, collection start and end."""
    name = SITE_NAMES.get(site.site, site.site)
    collection = site.collection
    fields = [""] * 17
    fields[0] = str(index)
    placer = "&".join(escape(sub) for sub in specimen[0][0]) if specimen and specimen[0] else ""
    fields[1] = f"{placer}^{escape(site.sample_id)}&{escape(config.hl7.sending_facility)}"
    fields[3] = _ce(SPECIMEN_TYPE)
    fields[6] = _ce(COLLECTION_METHOD)
    fields[7] = f"{escape(site.site)}^{escape(name)}^L"
    if collection.started_at:
        fields[16] = f"{_ts(collection.started_at)}^{_ts(collection.ended_at)}"
    return fields


def _number(code, value: float, ucum: str) -> dict[str, Any]:
    return {"type": "NM", "code": code, "value": _num(value), "units": f"{ucum}^{ucum}^UCUM"}


def _num(value: float) -> str:
    return f"{float(value):.6g}" if float(value) != int(value) else str(int(value))


def _chloride(record: RunRecord, site: SiteEntry, code: tuple[str, str, str]) -> dict[str, Any]:
    """OBX for the chloride (LOINC 2077-6 unless configured): the value, OBX-7 the range set's CF-unlikely
    band, OBX-8 the site's flag."""
    normal = record.interpretation.ranges.normal
    out: dict[str, Any] = {"type": "NM", "code": code, "units": "mmol/L^mmol/L^UCUM", "analysis": True,
                           "range": f"{normal.low}-{normal.high}"}
    chloride = site.chloride
    if not site.reportable or chloride is None:
        return out | {"value": "", "status": NOT_OBTAINED}
    flag = str(site.flag or "")
    if chloride.comparator:
        return out | {"type": "SN", "value": f"{escape(chloride.comparator)}^{chloride.value_mmol_l}", "flag": flag}
    return out | {"value": str(chloride.value_mmol_l), "flag": flag}


def _obx_fields(obx: dict[str, Any], sub_id: int, record: RunRecord, site: SiteEntry | None,
                performer: list[str]) -> list[str]:
    """OBX-2 to OBX-25: for the chloride also OBX-18 the analyzer and OBX-19 the analysis time."""
    fields = [obx["type"], _ce(obx["code"]), str(sub_id) if sub_id else "", obx["value"], obx.get("units", ""),
              obx.get("range", ""), obx.get("flag", ""), "", "", obx["status"], "", "", _ts(obx.get("at"))]
    fields += [""] * 4  # OBX-15 to OBX-18
    if obx.get("analysis") and site is not None and obx["status"] != NOT_OBTAINED:
        fields[16] = _equipment(record)
        fields.append(_ts(site.analysis.at if site.analysis else None))
    else:
        fields.append("")
    fields += ["", "", "", *performer]  # OBX-20 to OBX-22 empty; OBX-23, 24, 25 the performing lab
    return fields


def _equipment(record: RunRecord) -> str:
    """OBX-18 (EI): the analyzer's serial number (or its identity text) and its model."""
    analyzer = (record.instruments or {}).get("analyzer") or {}
    ident = analyzer.get("serial_number") or analyzer.get("identity") or ""
    return f"{escape(str(ident)[:199])}^{escape(str(analyzer.get('model') or ''))}" if ident else ""
