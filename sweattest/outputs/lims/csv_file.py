"""LIMS CSV: one row per site result, schema version 2 (documented in docs/lims-csv.md).

UTF-8, CR LF line ends, a header row; times ISO 8601 in UTC (``Z``); an explicit ``site_status`` column
(a QNS site is never a blank chloride: LIMS importers read blanks as 0); cells starting with = + - @ TAB
or CR are prefixed with a quote against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

CSV_SCHEMA_VERSION = "2"
COLUMNS = ("schema_version", "run_id", "accession", "report_version", "result_status", "mrn", "patient_family",
           "patient_given", "dob", "sex", "ordering_provider", "method", "site", "sample_id", "site_status",
           "chloride_mmol_l", "chloride_text", "chloride_unit", "sample_amount", "sample_unit", "adequate",
           "sweat_rate_g_m2_min", "collection_started_at", "collection_minutes", "stimulation_charge_ma_min",
           "interpretation_category", "interpretation", "repeat_recommended", "performed_by", "reviewed_by",
           "reviewed_at", "released_at", "comment", "simulated")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ TAB CR is prefixed with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def utc(value: str | None) -> str:
    """ISO 8601 in UTC with ``Z``, whole seconds."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def site_status(site: dict[str, Any]) -> str:
    """reported | below_range | qns | not_reportable | aborted | pending (never blank)."""
    chloride = site.get("chloride") or {}
    if site["state"] == "aborted":
        return "aborted"
    if site.get("adequate") is False:
        return "qns"
    if chloride and chloride.get("reportable") is None:
        return "not_reportable"
    if chloride.get("reportable", "").startswith("<"):
        return "below_range"
    return "reported" if chloride else "pending"


def render_csv(record: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for site in record["sites"]:
        writer.writerow([neutralize(_text(c)) for c in _row(record, site)])
    return out.getvalue()


def _row(record: dict[str, Any], s: dict[str, Any]) -> list[Any]:
    order, patient = record["order"], record["order"]["patient"]
    interp = record.get("interpretation") or {}
    report = record["report"]
    reviewed = record.get("reviewed") or {}
    status = site_status(s)
    chloride = s.get("chloride") or {}
    amount, unit = (s["sample"].split(" ", 1) if s.get("sample") else ("", ""))
    whole = chloride.get("reportable") if status == "reported" else ""
    charge = (s["stimulation"].get("charge") or "").split(" ")[0]
    return [CSV_SCHEMA_VERSION, record["run_id"], order["accession"], report["version"], report["status"],
            patient["mrn"], patient["family"], patient["given"], patient["dob"], patient["sex"],
            order["ordering_provider"], record["method"]["name"], s["site"], s["sample_id"], status,
            whole, chloride.get("reportable") or "", "mmol/L", amount, unit.replace("µ", "u"),
            s.get("adequate"), s.get("sweat_rate_g_m2_min"), utc(s["collection"]["started_at"]),
            (s["collection"].get("minutes") or "").split(" ")[0], charge,
            interp.get("category"), interp.get("wording"), interp.get("repeat_recommended"),
            record["performed"]["by"], reviewed.get("by"), utc(reviewed.get("at")), utc(report.get("released_at")),
            order.get("comment"), bool(record.get("simulated"))]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
