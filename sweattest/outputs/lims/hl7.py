"""HL7 v2.5.1 ORU^R01 result message of one run (documented in docs/hl7.md).

MSH (UUID control ID, UTF-8 declared), PID, ORC, OBR, then per site the OBX observations (sweat chloride
LOINC 2077-6 and the lab's local codes for site, sample, adequacy, sweat rate, collection time,
stimulation current and charge) and NTE for the interpretation, flags, comments and corrections.
Every OBX has its value type (OBX-2) and every text goes through ``escape`` (hl7apy #82: an untyped
OBX-5 leaves ``^`` unescaped). A corrected result is a new message with OBX-11 = C, never an overwrite.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sweattest.core.config import LabConfig
from sweattest.outputs.lims.hl7_escape import escape
from sweattest.outputs.report.context import SITE_NAMES, flags

VERSION = "2.5.1"
CHARSET = "UNICODE UTF-8"
SEGMENT_END = "\r"
CHLORIDE = ("2077-6", "Chloride [Moles/volume] in Sweat", "LN")
PANEL = ("SWEATCL", "Sweat chloride test", "L")
#: The lab's local codes (LOINC covers only the chloride, 2077-6; local codes for the rest unless a LOINC is configured)
SITE = ("SWSITE", "Sweat collection site", "L")
VOLUME = ("SWVOL", "Sweat sample volume", "L")
WEIGHT = ("SWWT", "Sweat sample weight", "L")
ADEQUACY = ("SWADQ", "Sweat sample adequacy", "L")
SWEAT_RATE = ("SWRATE", "Sweat rate", "L")
COLLECTION_TIME = ("SWCOLT", "Sweat collection time", "L")
CURRENT = ("SWCUR", "Iontophoresis current", "L")
CHARGE = ("SWCHG", "Iontophoresis charge delivered", "L")
#: report status -> OBR-25 / OBX-11 result status (HL7 table 0085 / 0123)
RESULT_STATUS = {"preliminary": "P", "final": "F", "corrected": "C"}
NOT_OBTAINED = "X"


#: HL7 v2.5.1 MSH-10 (message control ID, ST) is at most 20 characters.
CONTROL_ID_LENGTH = 20


def new_control_id() -> str:
    """MSH-10: 20 hex digits of a random UUID (80 random bits), unique per message without being time-based
    or a lab identifier, and within the field's 20-character limit so a strict receiver accepts it."""
    return uuid.uuid4().hex.upper()[:CONTROL_ID_LENGTH]


def render_oru(record: dict[str, Any], config: LabConfig | None = None, *, sent_at: datetime,
               control_id: str | None = None) -> str:
    """The ORU^R01 message for ``record``'s current version; segments end with CR."""
    config = config or LabConfig()
    status = RESULT_STATUS[record["report"]["status"]]
    segments = [_msh(config, sent_at, control_id or new_control_id(), bool(record.get("simulated"))),
                _pid(record, config), _orc(record, config), _obr(record, config, status)]
    segments += _notes(record)
    set_id = 0
    for index, site in enumerate(record["sites"], start=1):
        for obx in _site_observations(record, site, status):
            set_id += 1
            segments.append(_segment("OBX", str(set_id), *_obx_fields(obx, index, site)))
    return SEGMENT_END.join(segments) + SEGMENT_END


def _segment(name: str, *fields: str) -> str:
    out = list(fields)
    while out and out[-1] == "":
        out.pop()
    return "|".join([name, *out])


def _ce(code: tuple[str, str, str]) -> str:
    return "^".join(escape(part) for part in code)


def _ts(value: str | datetime | None) -> str:
    """HL7 TS with explicit UTC offset: YYYYMMDDHHMMSS+0000."""
    if not value:
        return ""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def _msh(config: LabConfig, sent_at: datetime, control_id: str, simulated: bool) -> str:
    h = config.hl7
    processing_id = "T" if simulated else h.processing_id  # a simulated run is never a production result
    return "|".join(["MSH", "^~\\&", escape(h.sending_application), escape(h.sending_facility),
                     escape(h.receiving_application), escape(h.receiving_facility), _ts(sent_at), "",
                     "ORU^R01^ORU_R01", escape(control_id), processing_id, VERSION, "", "", "AL", "NE", "",
                     CHARSET])


def _pid(record: dict[str, Any], config: LabConfig) -> str:
    p = record["order"]["patient"]
    mrn = f"{escape(p['mrn'])}^^^{escape(config.hl7.sending_facility)}^MR"
    return _segment("PID", "1", "", mrn, "", f"{escape(p['family'])}^{escape(p['given'])}", "",
                    p["dob"].replace("-", ""), escape(p["sex"]))


def _orc(record: dict[str, Any], config: LabConfig) -> str:
    o = record["order"]
    fac = escape(config.hl7.sending_facility)
    order_status = "IP" if record["report"]["status"] == "preliminary" else "CM"  # HL7 table 0038
    return _segment("ORC", "RE", escape(o["accession"]), f"{escape(record['run_id'])}^{fac}", "", order_status,
                    "", "", "", "", "", "", f"^{escape(o['ordering_provider'])}")


def _obr(record: dict[str, Any], config: LabConfig, status: str) -> str:
    o = record["order"]
    starts = [s["collection"]["started_at"] for s in record["sites"] if s["collection"]["started_at"]]
    ends = [s["collection"]["ended_at"] for s in record["sites"] if s["collection"].get("ended_at")]
    fields = [""] * 25
    fields[0] = "1"
    fields[1] = escape(o["accession"])
    fields[2] = f"{escape(record['run_id'])}^{escape(config.hl7.sending_facility)}"
    fields[3] = _ce(PANEL)
    fields[6] = _ts(min(starts) if starts else None)
    fields[7] = _ts(max(ends) if ends else None)
    fields[15] = f"^{escape(o['ordering_provider'])}"
    fields[21] = _ts(record["report"].get("released_at") or record["generated_at"])
    fields[23] = "LAB"
    fields[24] = status
    return _segment("OBR", *fields)


def _notes(record: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    interp = record["interpretation"]
    texts.append(f"Interpretation: {interp['wording']}")
    ranges = interp["ranges"]
    texts.append(f"Interpretive ranges: {ranges['name']} ({ranges['group']}); {ranges['source']}")
    texts += flags(record)
    comment = record["order"].get("comment")
    if comment:
        texts.append(f"Comment: {comment}")
    for c in record["report"]["corrections"]:
        changes = "; ".join(f"{ch['field']}: {ch['old'] if ch['old'] is not None else '-'} -> {ch['new']}"
                            + (" (not applied)" if ch.get("not_applied") else "") for ch in c["changes"])
        texts.append(f"Corrected (version {c['version']}) by {c['by']} at {c['at']}: {changes}. "
                     f"Reason: {c['reason']}")
    return [_segment("NTE", str(i), "L", escape(t)) for i, t in enumerate(texts, start=1)]


def _site_observations(record: dict[str, Any], site: dict[str, Any], status: str) -> list[dict[str, Any]]:
    name = SITE_NAMES.get(site["site"], site["site"])
    obs = [{"type": "CWE", "code": SITE, "value": f"{escape(site['site'])}^{escape(name)}^L"}]
    obs.append(_chloride(record, site))
    amounts = site["amounts"]
    if amounts["sample"] is not None:
        unit = amounts["sample_unit"]
        obs.append(_number(WEIGHT if unit == "mg" else VOLUME, amounts["sample"], unit))
    if site["adequate"] is not None:
        adequacy = "ADEQ^Adequate^L" if site["adequate"] else "QNS^Quantity not sufficient^L"
        obs.append({"type": "CWE", "code": ADEQUACY, "value": adequacy})
    if site["sweat_rate_g_m2_min"] is not None:
        obs.append({"type": "NM", "code": SWEAT_RATE, "value": _num(site["sweat_rate_g_m2_min"]),
                    "units": "g/(m2.min)^g/(m2.min)^UCUM"})
    if amounts["collection_min"]:
        obs.append(_number(COLLECTION_TIME, amounts["collection_min"], "min"))
    obs.append(_number(CURRENT, amounts["current_ma"], "mA"))
    if amounts["charge_ma_min"] is not None:
        obs.append(_number(CHARGE, amounts["charge_ma_min"], "mA.min"))
    for o in obs:
        o.setdefault("status", status)
        o["at"] = site["collection"]["started_at"]
    return obs


def _number(code, value: float, ucum: str) -> dict[str, Any]:
    return {"type": "NM", "code": code, "value": _num(value), "units": f"{ucum}^{ucum}^UCUM"}


def _num(value: float) -> str:
    return f"{float(value):.6g}" if float(value) != int(value) else str(int(value))


def _chloride(record: dict[str, Any], site: dict[str, Any]) -> dict[str, Any]:
    """OBX for LOINC 2077-6: the value, OBX-7 the range set's CF-unlikely band, OBX-8 the site's flag."""
    normal = record["interpretation"]["ranges"]["bands"][0]
    out: dict[str, Any] = {"type": "NM", "code": CHLORIDE, "units": "mmol/L^mmol/L^UCUM",
                           "range": f"{normal['low']}-{normal['high']}"}
    chloride = site.get("chloride") or {}
    if site["status"] not in {"reported", "below_range"}:
        return out | {"value": "", "status": NOT_OBTAINED}
    flag = site["flag"] or ""
    if chloride["comparator"]:
        return out | {"type": "SN", "value": f"{escape(chloride['comparator'])}^{chloride['value_mmol_l']}",
                      "flag": flag}
    return out | {"value": str(chloride["value_mmol_l"]), "flag": flag}


def _obx_fields(obx: dict[str, Any], sub_id: int, site: dict[str, Any]) -> list[str]:
    return [obx["type"], _ce(obx["code"]), str(sub_id), obx["value"], obx.get("units", ""), obx.get("range", ""),
            obx.get("flag", ""), "", "", obx["status"], "", "", _ts(obx.get("at"))]
