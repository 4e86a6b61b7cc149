"""LIMS CSV: one row per site result, schema version 4 (documented in docs/lims-csv.md).

Each site carries its own adequacy and its own category; the test's interpretation is in columns of its own
(``test_*``), never taken for a site's: a QNS site's row says QNS and no category.

UTF-8, CR LF line ends, a header row; times ISO 8601 in UTC (``Z``); an explicit ``site_status`` column
(a QNS site is never a blank chloride: LIMS importers read blanks as 0); cells starting with = + - @ TAB
or CR are prefixed with a quote against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sweattest.record.run_record_model import RunRecord, SiteEntry

CSV_SCHEMA_VERSION = "4"
COLUMNS = ("schema_version", "run_id", "accession", "report_version", "result_status", "mrn", "patient_family",
           "patient_given", "dob", "sex", "ordering_provider", "method", "site", "sample_id", "site_status",
           "chloride_mmol_l", "chloride_text", "chloride_unit", "sample_amount", "sample_unit", "adequate",
           "site_adequacy", "sweat_rate_g_m2_min", "collection_started_at", "collection_minutes",
           "stimulation_charge_ma_min", "site_category", "flag", "test_interpretation_category",
           "test_interpretation", "test_repeat_recommended", "range_set", "cftr_modulator", "monitoring_value",
           "change_from_previous_mmol_l", "performed_by", "reviewed_by", "reviewed_at", "released_at", "comment",
           "simulated")
#: site_adequacy: never blank
_ADEQUACY = {True: "adequate", False: "QNS", None: "not assessed"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ TAB CR is prefixed with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def utc(at: datetime | None) -> str:
    """ISO 8601 in UTC with ``Z``, whole seconds."""
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_csv(record: RunRecord) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for site in record.sites:
        writer.writerow([_text(c) if _is_number(c) else neutralize(_text(c)) for c in _row(record, site)])
    return out.getvalue()


def _row(record: RunRecord, s: SiteEntry) -> list[Any]:
    order, patient = record.order, record.patient
    interp = record.interpretation
    report = record.report
    reviewed = record.reviewed
    status = str(s.status)
    whole = s.chloride.value_mmol_l if status == "reported" and s.chloride else None
    amounts = s.amounts
    return [CSV_SCHEMA_VERSION, record.run_id, order["accession"], report.version, report.status,
            patient["mrn"], patient["family"], patient["given"], patient["dob"], patient["sex"],
            order["ordering_provider"], record.method.name, s.site, s.sample_id, status,
            whole, (s.chloride.text if s.chloride else None) or _STATUS_TEXT[status], "mmol/L",
            _number(amounts.sample), amounts.sample_unit if amounts.sample is not None else "",
            s.adequate, "aborted" if status == "aborted" else _ADEQUACY[s.adequate],
            s.sweat_rate_g_m2_min, utc(s.collection.started_at),
            _number(amounts.collection_min), _number(amounts.charge_ma_min),
            _site_category(record, s), s.flag,
            interp.code or interp.category, interp.wording, interp.repeat_recommended,
            interp.ranges.name, order.get("cftr_modulator"), bool(interp.monitoring),
            _change(record.modulator or {}, s.site),
            record.performed.by, reviewed.by if reviewed else None, utc(reviewed.at if reviewed else None),
            utc(report.released_at), _comment(record, order), record.not_production]


def _site_category(record: RunRecord, s: SiteEntry) -> str:
    """The site's own band in the range set's code, or why it has none (never the test's interpretation)."""
    if s.category:
        band = next((b for b in record.interpretation.ranges.bands if b.category == s.category), None)
        return str((band.code if band else None) or s.category)
    if record.interpretation.monitoring and s.reportable:
        return "monitoring"
    if record.interpretation.withheld and s.reportable:
        return "withheld"
    return "none"


def _change(modulator: Mapping[str, Any], site: str) -> int | None:
    """On a CFTR modulator: this site's change from the patient's previous result, in mmol/L."""
    for row in modulator.get("previous_rows") or []:
        if row["site"] == site:
            return row["change"]
    return None


def _comment(record: RunRecord, order: Mapping[str, Any]) -> str | None:
    """The order's comment; a proficiency-testing sample's row says so first (its ``simulated`` column is true:
    not a production result)."""
    pt = record.proficiency
    if not pt:
        return order.get("comment")
    return "; ".join(t for t in (f"PROFICIENCY TEST {pt['provider']} event {pt['event']}", order.get("comment")) if t)


#: chloride_text of a site without chloride: never blank.
_STATUS_TEXT = {"qns": "QNS", "aborted": "aborted", "pending": "pending", "not_reportable": "not reportable",
                "reported": "", "below_range": ""}


def _is_number(value: Any) -> bool:
    """A number the file declares as one (a change of -15 mmol/L is written -15, not as text)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float | None) -> str:
    """A plain number as the file declares it; no float noise (74.99, not 74.99000000000001)."""
    return "" if value is None else f"{value:.10g}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
