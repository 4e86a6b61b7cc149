"""Repeat tests: a run declared a repeat of an earlier run of the same patient, with the reason.

A run of an accession that already has a run is a repeat, and must say so when it starts: which run it
repeats and why (``REASONS``). A run of the same patient (same MRN and date of birth) on a new accession may
be declared one too. The link is written in the transaction that creates the run and enters the audit chain
with it; ``repeat_links`` is append-only, so a correction is a new row for the same run (the latest row is
the link in force).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.derived import patient_dob
from sweattest.record.store.rowhash import range_item

#: Why a test is repeated, as the record, the report and the LIMS files name it.
REASONS: dict[str, str] = {
    "qns": "quantity not sufficient (QNS)",
    "intermediate": "intermediate result (CFF 2017: repeat sweat test)",
    "above_range": "chloride above the reportable range (CLSI C34: repeat)",
    "discordant": "sites discordant",
    "technical_failure": "technical failure",
    "clinician_request": "clinician's request",
    "other": "other (see note)",
}


@dataclass(frozen=True)
class RepeatOf:
    """The declaration that a new run repeats ``run_id``: the reason (a ``REASONS`` key), and a note (required
    for ``other``)."""

    run_id: str
    reason: str
    note: str = ""

    def checked(self) -> RepeatOf:
        run_id, reason, note = self.run_id.strip(), self.reason.strip(), self.note.strip()
        if not run_id:
            raise ValidationError("repeat of: give the run id of the test this one repeats")
        if reason not in REASONS:
            raise ValidationError(f"repeat reason {reason!r}: use one of {', '.join(REASONS)}")
        if reason == "other" and not note:
            raise ValidationError("repeat reason other: say why in the note")
        return RepeatOf(run_id, reason, note)


@dataclass(frozen=True)
class EarlierRun:
    """A stored run a new one may repeat: what the tech is shown before deciding."""

    run_id: str
    accession: str
    created_at: datetime
    state: str
    qns: bool | None
    mrn: str
    dob: str | None
    #: a run on simulated instruments (training, demo): never the repeat of a patient's test, nor repeated by one
    simulated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "accession": self.accession, "created_at": self.created_at.isoformat(),
                "state": self.state, "qns": self.qns}


def _earlier(conn: sa.Connection, *where) -> list[EarlierRun]:
    r = schema.runs
    rows = conn.execute(sa.select(r.c.run_id, r.c.accession, r.c.created_at, r.c.state, r.c.qns, r.c.patient_mrn,
                                  r.c.order_json).where(*where).order_by(r.c.created_at, r.c.run_id)).all()
    return [EarlierRun(x.run_id, x.accession, x.created_at, x.state, x.qns, x.patient_mrn, patient_dob(x.order_json),
                       "simulation" in x.order_json) for x in rows]


def runs_of_accession(store, accession: str, simulated: bool = False) -> list[EarlierRun]:
    """Every stored run of ``accession`` (simulated ones with ``simulated``, else patient ones), oldest
    first. A run cannot be cancelled once it exists: an aborted run counts too (its repeat gives the reason,
    e.g. technical failure)."""
    with store.engine.connect() as conn:
        return [e for e in _earlier(conn, schema.runs.c.accession == accession) if e.simulated == simulated]


def runs_of_patient(store, mrn: str, dob: str, simulated: bool = False) -> list[EarlierRun]:
    """Every stored run of the patient (MRN and date of birth as the runs' orders give them), oldest first."""
    r = schema.runs
    with store.engine.connect() as conn:
        return [e for e in _earlier(conn, r.c.patient_mrn == mrn, r.c.patient_dob == dob)
                if e.dob == dob and e.simulated == simulated]


def check_repeat(store, accession: str, mrn: str, dob: str, repeat: RepeatOf | None, *,
                 simulated: bool = False) -> RepeatOf | None:
    """The repeat declaration a new run of ``accession`` for the patient (``mrn``, ``dob``) needs, checked
    before anything is written. An accession that has a run already needs one; the run it repeats must be a
    stored run of the same patient (and a simulated run repeats only a simulated one)."""
    same = runs_of_accession(store, accession, simulated)
    if repeat is None:
        if same:
            listed = ", ".join(f"{e.run_id} ({e.created_at:%Y-%m-%d}, {e.state.replace('_', ' ')})" for e in same)
            raise ValidationError(f"accession {accession} already has run {listed}: is this a repeat test? Say "
                                  f"which run it repeats and why (--repeat-of RUN_ID --reason "
                                  f"{'|'.join(REASONS)}); nothing was run")
        return None
    repeat = repeat.checked()
    with store.engine.connect() as conn:
        found = _earlier(conn, schema.runs.c.run_id == repeat.run_id)
    if not found:
        raise ValidationError(f"repeat of {repeat.run_id!r}: no such run in the store; `sweattest patient history "
                              f"{mrn} --dob {dob} --as USER` lists this patient's runs; nothing was run")
    earlier = found[0]
    if earlier.simulated != simulated:
        was, this = ("simulated", "a patient run") if earlier.simulated else ("a patient run", "a simulated run")
        raise ValidationError(f"repeat of {repeat.run_id}: run {repeat.run_id} was {was}; {this} repeats only "
                              f"{this}. Check the run id; nothing was run")
    if earlier.mrn != mrn or earlier.dob != dob:
        raise ValidationError(f"repeat of {repeat.run_id}: that run is of another patient (MRN, date of birth); "
                              "a repeat is of the same patient. Check the run id; nothing was run")
    return repeat


def record_repeat(conn: sa.Connection, run_id: str, repeat: RepeatOf, who: str, at: datetime) -> int:
    """Inside the transaction that creates (or corrects) the run's link: the row and its audit entry."""
    t = schema.repeat_links
    new_id = conn.execute(t.insert().values(run_id=run_id, repeat_of=repeat.run_id, reason=repeat.reason,
                                            note=repeat.note or None, who=who, at=at)).inserted_primary_key[0]
    append_audit(conn, run_id=run_id, who=who, what="repeat_of", at=at, why=repeat.note or REASONS[repeat.reason],
                 new={"repeat_of": repeat.run_id, "reason": repeat.reason},
                 rows=[range_item(conn, "repeat_links", new_id, new_id)])
    return int(new_id)


def repeat_link(store, run_id: str) -> dict[str, Any] | None:
    """The link in force for ``run_id`` (its latest row), with the repeated run's accession and date."""
    t, r = schema.repeat_links, schema.runs
    query = (sa.select(t.c.repeat_of, t.c.reason, t.c.note, t.c.who, t.c.at, r.c.accession, r.c.created_at)
             .join(r, r.c.run_id == t.c.repeat_of).where(t.c.run_id == run_id).order_by(t.c.id.desc()).limit(1))
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return {"run_id": row.repeat_of, "accession": row.accession, "date": row.created_at.date().isoformat(),
            "reason": row.reason, "reason_text": REASONS.get(row.reason, row.reason), "note": row.note,
            "by": row.who, "at": row.at.isoformat()}


def repeated_by(store, run_id: str) -> list[str]:
    """The runs whose link in force (their latest row) says they repeat ``run_id``."""
    t = schema.repeat_links
    with store.engine.connect() as conn:
        linked = list(conn.execute(sa.select(t.c.run_id).where(t.c.repeat_of == run_id).distinct()).scalars())
        if not linked:
            return []
        rows = conn.execute(sa.select(t.c.run_id, t.c.repeat_of).where(t.c.run_id.in_(linked)).order_by(t.c.id)).all()
    latest = {row.run_id: row.repeat_of for row in rows}
    return sorted(rid for rid, of in latest.items() if of == run_id)
