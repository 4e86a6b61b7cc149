"""A patient's sweat tests: every run of the same patient, with its results.

The same patient is the same MRN **and** the same date of birth, as the run's current result version gives
them (an amendment of ``patient.mrn`` or ``patient.dob`` moves the run). A run with the same MRN and another
date of birth is not merged: it is listed apart as a possible identity conflict for QA to resolve.

Runs are found through the ``ix_runs_patient`` index (MRN, date of birth); the identity of each is then read
from its chained order (and its amendments), never from the index column alone. Simulated runs (the demo,
training) are never part of a patient's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.rules.ranges import DEFAULT_RANGE_SET
from sweattest.record.repeats import repeat_link
from sweattest.record.run_record import run_record
from sweattest.record.signoff import current_result
from sweattest.record.store import schema

#: A query restriction applied to the runs considered (``RunFilter.apply`` in the QA views).
Restrict = Callable[[sa.Select], sa.Select]


@dataclass(frozen=True)
class PatientHistory:
    mrn: str
    dob: str
    #: the patient's runs, oldest first (``test_summary`` of each)
    tests: list[dict[str, Any]] = field(default_factory=list)
    #: runs with the same MRN and another date of birth: {"dob", "run_ids"} per other date of birth
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"mrn": self.mrn, "dob": self.dob, "tests": self.tests, "conflicts": self.conflicts}


def parse_dob(text: str, option: str = "--dob") -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ValidationError(f"{option} {text!r}: give the date of birth as YYYY-MM-DD, e.g. 2025-06-01") from None


def _identities(store, mrn: str, restrict: Restrict | None) -> dict[str, tuple[str, str | None, dict]]:
    """run_id -> (MRN, date of birth, run row) of every run that is, or was amended to be, of ``mrn``."""
    r, rv = schema.runs, schema.result_versions
    columns = (r.c.run_id, r.c.accession, r.c.created_at, r.c.state, r.c.qns, r.c.order_json)
    with store.engine.connect() as conn:
        amended = {row.run_id: row.changes for row in conn.execute(
            sa.select(rv.c.run_id, rv.c.changes).order_by(rv.c.run_id, rv.c.version))
            if any(k in (row.changes or {}) for k in ("patient.mrn", "patient.dob"))}
        found = r.c.patient_mrn == mrn  # ix_runs_patient
        query = sa.select(*columns).where(sa.or_(found, r.c.run_id.in_(list(amended))) if amended else found)
        if "purpose" in r.c:  # stores whose runs carry their purpose: patient runs only, whoever asks
            query = query.where(r.c.purpose == "patient")
        rows = conn.execute((restrict or (lambda q: q))(query).order_by(r.c.created_at, r.c.run_id)).all()
        changes = _patient_changes(conn, [row.run_id for row in rows if row.run_id in amended])
    out = {}
    for row in rows:
        order = row.order_json
        if "simulation" in order:
            continue
        patient = dict(order.get("patient") or {}) | changes.get(row.run_id, {})
        out[row.run_id] = (str(patient.get("mrn")), patient.get("dob"), dict(row._mapping))
    return out


def _patient_changes(conn: sa.Connection, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The latest amended MRN and date of birth of each run (``{"mrn": ..., "dob": ...}``)."""
    rv = schema.result_versions
    out: dict[str, dict[str, Any]] = {}
    if not run_ids:
        return out
    for row in conn.execute(sa.select(rv.c.run_id, rv.c.changes).where(rv.c.run_id.in_(run_ids))
                            .order_by(rv.c.run_id, rv.c.version)):
        for key in ("mrn", "dob"):
            if f"patient.{key}" in row.changes:
                out.setdefault(row.run_id, {})[key] = str(row.changes[f"patient.{key}"]).strip()
    return out


def patient_history(store, mrn: str, dob: str, *, restrict: Restrict | None = None, ranges: str = DEFAULT_RANGE_SET,
                    before: datetime | None = None, exclude: str | None = None) -> PatientHistory:
    """The patient's runs (``before``: created before then; ``exclude``: leave this run out) and the runs of
    the same MRN with another date of birth."""
    mrn, dob = mrn.strip(), parse_dob(dob)
    if not mrn:
        raise ValidationError("MRN: give the patient's medical record number")
    tests, others = [], {}
    for run_id, (run_mrn, run_dob, row) in _identities(store, mrn, restrict).items():
        if run_mrn != mrn or run_id == exclude or (before is not None and row["created_at"] >= before):
            continue
        if run_dob == dob:
            tests.append(test_summary(store, row, ranges))
        else:
            others.setdefault(str(run_dob), []).append(run_id)
    conflicts = [{"dob": other, "run_ids": ids} for other, ids in sorted(others.items())]
    return PatientHistory(mrn, dob, tests, conflicts)


def test_summary(store, row: dict[str, Any], ranges: str = DEFAULT_RANGE_SET) -> dict[str, Any]:
    """One run as the history lists it: date, accession, per-site chloride, interpretation, QNS, state, and
    the run it repeats."""
    run_id = row["run_id"]
    base = {"run_id": run_id, "accession": row["accession"], "created_at": row["created_at"].isoformat(),
            "state": row["state"], "qns": row["qns"], "repeat_of": repeat_link(store, run_id)}
    try:
        run, order, corrections = current_result(store, run_id)
        record = run_record(run, order, generated_at=row["created_at"], corrections=corrections, ranges=ranges)
    except Exception as exc:  # noqa: BLE001 - one run that does not replay must not hide the patient's others
        return base | {"date": row["created_at"].date().isoformat(), "sites": [], "category": None,
                       "interpretation": f"not available: {exc}", "report_status": None}
    first, interp = record.first_collection, record.interpretation
    return base | {
        "date": (first.isoformat() if first else row["created_at"].isoformat())[:10],
        "sites": [{"site": s.site, "status": str(s.status), "adequate": s.adequate,
                   "chloride": s.chloride.text if s.chloride else None,
                   "value_mmol_l": s.chloride.value_mmol_l
                   if s.chloride is not None and s.chloride.status == "reported" else None}
                  for s in record.sites],
        "category": None if interp.category is None else str(interp.category),
        "interpretation": interp.withheld and f"withheld: {interp.withheld}" or interp.wording,
        "report_status": record.report.status,
    }


def identity_conflicts(store, restrict: Restrict | None = None) -> list[dict[str, Any]]:
    """MRNs whose runs carry more than one date of birth, with the runs of each: the MRNs the index shows with
    two dates of birth, and those of runs whose MRN or date of birth was amended, each checked against the
    runs' current identity (order and amendments)."""
    r, rv = schema.runs, schema.result_versions
    with store.engine.connect() as conn:
        mrns = set(conn.execute(sa.select(r.c.patient_mrn).group_by(r.c.patient_mrn)
                                .having(sa.func.count(sa.distinct(r.c.patient_dob)) > 1)).scalars())
        amended = [row.run_id for row in conn.execute(sa.select(rv.c.run_id, rv.c.changes))
                   if any(k in (row.changes or {}) for k in ("patient.mrn", "patient.dob"))]
        if amended:
            mrns |= set(conn.execute(sa.select(r.c.patient_mrn).where(r.c.run_id.in_(amended))).scalars())
            mrns |= {v["mrn"] for v in _patient_changes(conn, amended).values() if "mrn" in v}
    out = []
    for mrn in sorted(mrns):
        dobs: dict[str, list[str]] = {}
        for run_id, (run_mrn, run_dob, _) in _identities(store, mrn, restrict).items():
            if run_mrn == mrn:
                dobs.setdefault(str(run_dob), []).append(run_id)
        if len(dobs) > 1:
            out.append({"mrn": mrn, "dobs": dict(sorted(dobs.items()))})
    return out
