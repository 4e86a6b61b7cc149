"""A patient's sweat tests for QA and clinicians (``sweattest patient history``, ``/patients/<mrn>``), and the
MRNs whose runs carry more than one date of birth (possible identity conflicts). Runs are those of
``RunFilter`` (patient runs)."""

from __future__ import annotations

import json

from sweattest.record.patient_history import PatientHistory, identity_conflicts, patient_history
from sweattest.record.run_filter import RunFilter

FORMATS = ("table", "json")


def history(store, mrn: str, dob: str, where: RunFilter | None = None) -> PatientHistory:
    return patient_history(store, mrn, dob, restrict=(where or RunFilter()).apply)


def conflicts(store, where: RunFilter | None = None) -> list[dict]:
    return identity_conflicts(store, restrict=(where or RunFilter()).apply)


def site_text(test: dict) -> str:
    """Each site's result, e.g. ``left forearm: 45 mmol/L; right forearm: QNS``."""
    parts = []
    for s in test["sites"]:
        site = s["site"].replace("_", " ")
        if s["status"] == "aborted":
            parts.append(f"{site}: aborted")
        elif s["adequate"] is False:
            parts.append(f"{site}: QNS")
        else:
            unit = " mmol/L" if s["status"] in ("reported", "below_range") else ""
            parts.append(f"{site}: {s['chloride'] or '—'}{unit}")
    return "; ".join(parts) or "—"


def format_history(h: PatientHistory, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(h.as_dict(), ensure_ascii=False, indent=2) + "\n"
    lines = [f"Patient MRN {h.mrn}, born {h.dob}: {len(h.tests)} sweat test{'s' if len(h.tests) != 1 else ''}"]
    for t in h.tests:
        repeat = f"  repeat of {t['repeat_of']['run_id']} ({t['repeat_of']['reason']})" if t["repeat_of"] else ""
        qns = " QNS" if t["qns"] else ""
        lines.append(f"  {t['date']}  {t['accession']:<16} {t['run_id']:<20} {t['state']:<13}{qns}  "
                     f"{site_text(t)}  {t['interpretation'] or '—'}{repeat}")
    for c in h.conflicts:
        lines.append(f"POSSIBLE IDENTITY CONFLICT: MRN {h.mrn} also has runs with date of birth {c['dob']}: "
                     f"{', '.join(c['run_ids'])} (not merged; check the patient's identity)")
    return "\n".join(lines) + "\n"
