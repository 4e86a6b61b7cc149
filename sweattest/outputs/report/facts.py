"""Facts the report states beside the results: age at collection, indication, instruments, reporting limits.

They are formatted here from the record; none is a clinical rule of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sweattest.core.rules.age import age_at
from sweattest.core.units import magnitude_in
from sweattest.record.record_json import birth_date
from sweattest.record.run_record_model import Change, Method, RunRecord

NOT_RECORDED = "not recorded"
#: CLSI C34: whole mmol/L, rounded half up once at the end; the analyzer's measuring range (lab-configurable).
LIMITS_SOURCE = "CLSI C34"


def age_text(record: RunRecord, at: datetime | None, zone: ZoneInfo) -> str:
    """The patient's calendar age on the local date of ``at`` (first collection), as the age cut-offs count it
    (sweattest.core.rules.age): ``5 months 30 days``, ``1 year 2 months 3 days``."""
    if not at:
        return "—"
    return age_at(birth_date(record), at, zone).text()


def quantity_text(text: str | None) -> str | None:
    """An order's quantity as people read it: ``37 week`` -> ``37 weeks`` (the unit's plural); None stays None."""
    if not text:
        return None
    number, _, unit = str(text).partition(" ")
    if unit in {"week", "day", "month", "year"} and number not in {"1", "1.0"}:
        unit += "s"
    return f"{number} {unit}".strip()


def indication(order: dict[str, Any]) -> str | None:
    """Why the test was ordered: the order's ``indication``, else its ``comment``; None: not given."""
    return order.get("indication") or order.get("comment") or None


def instrument_text(record: RunRecord, role: str) -> str:
    """The instrument of ``role`` as the run's readiness check recorded it, or "not recorded"."""
    inst = (record.instruments or {}).get(role)
    if not inst:
        return NOT_RECORDED
    parts = [inst.get("identity") or inst.get("model") or role]
    if inst.get("serial_number") and inst["serial_number"] not in parts[0]:
        parts.append(f"serial {inst['serial_number']}")
    return ", ".join(parts)


def reporting_limits(method: Method) -> str:
    """The line that states how chloride is reported, from the run's method."""
    low, high = method.lower_limit, method.upper_limit
    if low is None or high is None:
        return f"Chloride reported in whole mmol/L, rounded half up ({LIMITS_SOURCE})."
    if method.collection_kind == "gravimetric":  # the range applies to the eluate measured
        below = f"an eluate below {low} is not reportable"
    else:
        below = f"below {low} reported as <{magnitude_in(low.quantity, 'mmol/L'):g}"
    return (f"Chloride reported in whole mmol/L, rounded half up; {below}; above {high} not reported "
            f"(implausible; repeat the test) ({LIMITS_SOURCE}).")


#: the unit a corrected value is written in, by the field's last part
_CHANGE_UNITS = {"chloride": " mmol/L", "volume": " uL", "post_weight": " mg"}


def change_text(ch: Change) -> str:
    """One corrected value by name, old and new: ``Right forearm sweat chloride: 35 -> 41 mmol/L``."""
    unit = _CHANGE_UNITS.get(ch.field.rpartition(".")[2], "")
    old = ch.old if ch.old is not None else "-"
    if unit and str(old).endswith(unit.strip()):
        old = str(old)[: -len(unit)].strip()
    text = f"{ch.name or ch.field}: {old} -> {ch.new}{unit}"
    return text + (" (not applied)" if ch.not_applied else "")


def correction_lines(record: RunRecord) -> list[str]:
    """The corrections as the LIS notes and the report's lines say them: per version the values changed (by
    name, old and new), who corrected it (full name) and when, the reason; for this version the
    interpretation change in words."""
    report = record.report
    out = []
    for c in report.corrections:
        who = f"{c.by_name} ({c.by})" if c.by_name else c.by
        changes = "; ".join(change_text(ch) for ch in c.changes)
        out.append(f"Corrected (version {c.version}, released {c.at.isoformat()}) by {who}: {changes}. "
                   f"Reason: {c.reason}")
    change = report.interpretation_change
    if change:
        out.append(change.text)
    return out


def modulator_lines(record: RunRecord) -> list[str]:
    """On a CFTR modulator: the modulator, that the value is a monitoring value, and the change from the
    patient's previous result and from before treatment (mmol/L per site)."""
    m = record.modulator
    if not m:
        return []
    out = [f"CFTR modulator: {m['modulator']} since {m['started']}"
           + ("; monitoring value, no diagnostic category" if record.interpretation.monitoring else "")]
    for key, rows, what in (("previous", "previous_rows", "previous result"),
                              ("baseline", "rows", "last result before treatment")):
        if m.get(key) and m.get(rows):
            ref = m[key]
            values = "; ".join(f"{r['site'].replace('_', ' ')} {r['before']} -> {r['now']} mmol/L ({r['change']:+d})"
                               for r in m[rows])
            out.append(f"Change from the {what} (accession {ref['accession']}, {ref['date']}): {values}")
    out.append(m["note"])
    return out
