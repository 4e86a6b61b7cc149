"""The QA workspace's run lists: the rows with patient, result, interpretation and flags, the free search
(accession, MRN, patient name, operator by part of the user name or full name), and the review queue (runs
awaiting the logged-in user's "performed" or "reviewed" signature)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import SweatTestError
from sweattest.outputs.report.stored import stored_record
from sweattest.record.runs import stored_order
from sweattest.record.signoff import REVIEWER_ROLES
from sweattest.record.store import schema

#: States in which the operator signs the run as performed (a result exists), and in which a reviewer signs.
PERFORMED_STATES = frozenset({"result_ready", "reviewed", "reported"})
REVIEW_STATES = frozenset({"result_ready"})
#: A list's short words for a site without a chloride, and for the interpretation (the report has the wording).
STATUS_WORDS = {"qns": "QNS", "below_range": "below range", "not_reportable": "not reportable",
                "aborted": "aborted", "pending": "pending"}
CATEGORY_WORDS = {"cf_unlikely": "CF unlikely", "intermediate": "intermediate", "cf_likely": "CF likely"}
#: What each flag on a row means, for the page's legend.
FLAGS = {"H": "chloride in the CF-likely band", "A": "chloride in the intermediate band",
         "QNS": "quantity not sufficient", "QC": "QC rejected, or none recorded for the analysis",
         "repeat": "repeat recommended",
         "amended": "result corrected after release", "training": "simulated (training) run"}


def full_names(store) -> dict[str, str]:
    """User name -> full name, for every user (disabled ones too: old runs name them)."""
    users = schema.users
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(users.c.username, users.c.full_name)).all())


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


def awaiting_signature(store, username: str, role: str) -> list[tuple[dict[str, Any], str]]:
    """(run row, meaning) for each run that needs ``username``'s signature, oldest first: "performed" on the
    runs they operated that have a result, "reviewed" (reviewers and admins) on other operators' results."""
    signed = _signed(store)
    out = []
    for row in store.list_runs():
        have = signed.get(row["run_id"], set())
        if row["operator"] == username:
            if row["state"] in PERFORMED_STATES and (username, "performed") not in have:
                out.append((row, "performed"))
        elif role in REVIEWER_ROLES and row["state"] in REVIEW_STATES and not any(m == "reviewed" for _, m in have):
            out.append((row, "reviewed"))
    return out


def _signed(store) -> dict[str, set[tuple[str, str]]]:
    sg = schema.signatures
    out: dict[str, set[tuple[str, str]]] = {}
    with store.engine.connect() as conn:
        for run_id, username, meaning in conn.execute(sa.select(sg.c.run_id, sg.c.username, sg.c.meaning)):
            out.setdefault(run_id, set()).add((username, meaning))
    return out


def run_summary(store, row: dict[str, Any], clock, ranges: str = "cff_2017") -> dict[str, Any]:
    """What a runs list shows of one run: patient, result per site (one text each), interpretation and flags, from the
    run's current result version (amendments applied), as the report states them."""
    order = stored_order(row)
    out = {"patient": patient_name(order), "mrn": row["patient_mrn"], "result": [], "interpretation": "",
           "wording": "",
           "flags": ["training"] if "simulation" in order else []}
    try:
        record = stored_record(store, row["run_id"], clock, ranges)
    except SweatTestError as exc:
        return out | {"interpretation": "cannot be shown", "wording": str(exc)}
    parts, flags = [], out["flags"]
    for site in record["sites"]:
        chloride = site["chloride"]
        text = chloride["text"] if chloride else STATUS_WORDS.get(str(site["status"]), str(site["status"]))
        parts.append(f"{_side(site['site'])} {text}")
        if site["flag"] in ("H", "A") and site["flag"] not in flags:
            flags.append(site["flag"])
        if site["status"] == "qns" and "QNS" not in flags:
            flags.append("QNS")
    interp = record["interpretation"]
    analysed = any(site["chloride"] for site in record["sites"])
    if record["qc"].get("status") == "rejected" or (analysed and record["qc"].get("status") == "not_recorded"):
        flags.append("QC")
    if interp["repeat_recommended"]:
        flags.append("repeat")
    if record["report"].get("corrections"):
        flags.append("amended")
    return out | {"result": parts, "interpretation": CATEGORY_WORDS.get(interp["category"], "none"),
                  "wording": interp["wording"], "flags": flags}


def _side(site: str) -> str:
    """``left_forearm`` -> ``Left forearm``."""
    return site.replace("_", " ").capitalize()
