"""LIMS CSV: one row per site result, with an explicit status (never a blank chloride for QNS)."""

from __future__ import annotations

import csv
import io
from typing import Any

CSV_SCHEMA_VERSION = "1"
COLUMNS = ("schema_version", "run_id", "accession", "mrn", "site", "status", "sample", "adequate",
           "chloride_mmol_l", "chloride_text", "interpretation", "collected_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ TAB CR is prefixed with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def render_csv(record: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    interp = (record.get("interpretation") or {}).get("category") or ""
    for s in record["sites"]:
        chloride = s.get("chloride") or {}
        if s["state"] == "aborted":
            status = "aborted"
        elif s.get("adequate") is False:
            status = "qns"
        elif chloride.get("reportable") is None and chloride:
            status = "not_reportable"
        else:
            status = "final" if s["state"] == "reported" else "preliminary"
        adequate = "" if s.get("adequate") is None else str(s["adequate"]).lower()
        row = [CSV_SCHEMA_VERSION, record["run_id"], record["order"]["accession"],
               record["order"]["patient"]["mrn"], s["site"], status, s.get("sample") or "", adequate,
               "" if not chloride else str(chloride["value_mmol_l"]), chloride.get("reportable") or "",
               interp, s["collection"]["started_at"] or ""]
        writer.writerow([neutralize(str(c)) for c in row])
    return out.getvalue()
