"""The QA workspace's run lists: the rows with patient, result, interpretation and flags, the free search
(accession, MRN, patient name, operator by part of the user name or full name), and the review queue (runs
awaiting the logged-in user's "performed" or "reviewed" signature)."""

from __future__ import annotations

from typing import Any

from sweattest.core.errors import SweatTestError
from sweattest.core.purpose import PATIENT
from sweattest.core.rules.ranges import DEFAULT_RANGE_SET
from sweattest.qa.pt import awaiting_corrective_action
from sweattest.record import run_lists
from sweattest.record.correction import interpretation_words
from sweattest.record.outbox import needing_attention
from sweattest.record.run_filter import RunFilter
from sweattest.record.runs import stored_order
from sweattest.record.signoff import REVIEWER_ROLES
from sweattest.record.stored_record import stored_record
from sweattest.record.users import list_users

#: States in which the operator signs the run as performed (a result exists), and in which a reviewer signs.
PERFORMED_STATES = frozenset({"result_ready", "reviewed", "reported"})
REVIEW_STATES = frozenset({"result_ready"})
#: A list's short words for a site without a chloride, and for the interpretation (the report has the wording).
STATUS_WORDS = {"qns": "QNS", "below_range": "below range", "not_reportable": "not reportable",
                "aborted": "aborted", "pending": "pending"}

#: What each flag on a row means, for the page's legend.
FLAGS = {"H": "chloride in the CF-likely band", "A": "chloride in the intermediate band",
         "QNS": "quantity not sufficient", "QC": "QC rejected, or none recorded for the analysis",
         "repeat": "repeat recommended",
         "amended": "result corrected after release", "simulated": "simulated run (demo, `run --simulate`)",
         "training": "training run on simulated instruments", "proficiency": "proficiency-testing sample",
         "skin": "adverse skin reaction (blister or burn) after stimulation"}


def full_names(store) -> dict[str, str]:
    """User name -> full name, for every user (disabled ones too: old runs name them)."""
    return {user.username: user.full_name for user in list_users(store)}


def patient_name(order: dict[str, Any]) -> str:
    patient = order.get("patient") or {}
    return ", ".join(p for p in (patient.get("family"), patient.get("given")) if p)


def matches(row: dict[str, Any], text: str, names: dict[str, str]) -> bool:
    """The free search: ``text`` (any case) in the accession, MRN, patient name, or the operator's user name
    or full name. An empty text matches every run."""
    text = text.strip().lower()
    if not text:
        return True
    order = stored_order(row)
    patient = order.get("patient") or {}
    fields = (row["accession"], row["patient_mrn"], patient_name(order), f"{patient.get('given', '')} "
              f"{patient.get('family', '')}", row["operator"], names.get(row["operator"], ""))
    return any(text in str(f).lower() for f in fields)


def find_runs(store, where: RunFilter, text: str, names: dict[str, str], limit: int) -> tuple[list[dict], int]:
    """The newest ``limit`` runs that pass ``where`` (in SQL) and the free search ``text``, and how many
    match in all. Without a search text only ``limit`` rows are read; with one, SQL narrows the runs and
    ``matches`` decides for those only its order's words brought in."""
    return run_lists.find_runs(store, where, text, names, limit, matches)


def awaiting_signature(store, username: str, role: str, limit: int = 500) -> list[tuple[dict[str, Any], str]]:
    """(run row, meaning) for each run that needs ``username``'s signature, oldest first: "performed" on the
    runs they operated that have a result, "reviewed" (reviewers and admins) on other operators' results."""
    rows = run_lists.awaiting_signature(store, username, reviews=role in REVIEWER_ROLES,
                                        performed_states=PERFORMED_STATES, review_states=REVIEW_STATES, limit=limit)
    return [(row, "performed" if row["operator"] == username else "reviewed") for row in rows]


def run_summary(store, row: dict[str, Any], clock, ranges: str = DEFAULT_RANGE_SET) -> dict[str, Any]:
    """What a runs list shows of one run: patient, result per site (one text each), interpretation and flags, from the
    run's current result version (amendments applied), as the report states them."""
    order = stored_order(row)
    out = {"patient": patient_name(order), "mrn": row["patient_mrn"], "result": [], "interpretation": "",
           "wording": "",
           "flags": [] if row.get("purpose", PATIENT) == PATIENT else [row["purpose"]]}
    try:
        record = stored_record(store, row["run_id"], clock, ranges)
    except SweatTestError as exc:
        return out | {"interpretation": "cannot be shown", "wording": str(exc)}
    parts, flags = [], out["flags"]
    for site in record.sites:
        chloride = site.chloride
        text = chloride.text if chloride else STATUS_WORDS.get(str(site.status), str(site.status))
        parts.append(f"{_side(site.site)} {text}")
        if site.flag in ("H", "A") and site.flag not in flags:
            flags.append(str(site.flag))
        if site.status == "qns" and "QNS" not in flags:
            flags.append("QNS")
    interp = record.interpretation
    analysed = any(site.chloride for site in record.sites)
    status = record.qc.get("status")
    if status in ("rejected", "incomplete") or (analysed and status == "not_recorded"):
        flags.append("QC")
    if interp.repeat_recommended:
        flags.append("repeat")
    if record.report.corrections:
        flags.append("amended")
    if any(r.adverse for r in record.skin):
        flags.append("skin")
    return out | {"result": parts, "interpretation": interpretation_words(interp) if interp.category
                  or interp.monitoring or interp.withheld else "none", "wording": interp.wording,
                  "flags": flags}


def _side(site: str) -> str:
    """``left_forearm`` -> ``Left forearm``."""
    return site.replace("_", " ").capitalize()


def desk_alerts(store) -> list[dict[str, Any]]:
    """What the QA desk shows above its lists until someone acts: failed PT events without a corrective action
    recorded since their grading (``sweattest.qa.pt``), and the messages to the LIS that failed and need
    attention (``sweattest.record.outbox``)."""
    alerts: list[dict[str, Any]] = [
        {"kind": "pt", "event": e["event_code"], "provider": e["provider"], "scheme": e["scheme"],
         "graded_at": e["graded_at"], "failed": [g["sample_id"] for g in e["grades"] if g["grade"] != "acceptable"]}
        for e in awaiting_corrective_action(store)]
    alerts += [{"kind": "lis", "message": m.id, "accession": m.accession or "-", "run_id": m.run_id,
                "version": m.version, "error": m.last_error or ""} for m in needing_attention(store)]
    return alerts
