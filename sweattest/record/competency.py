"""Training and competency assessments of the lab's operators (``competency_records``), chained with their
audit entries. A record is never changed: a new assessment is a new row, and the latest counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item
from sweattest.record.users import get_user

#: ``hire``: the operator's date of hire (its outcome is recorded as given; the first-year rule counts from it).
KINDS = ("training", "assessment", "hire")
OUTCOMES = ("pass", "fail")
WHAT_MAX = 200


@dataclass(frozen=True)
class CompetencyRecord:
    id: int
    operator: str
    kind: str
    what: str
    done_on: date
    assessor: str
    outcome: str
    next_due: date | None
    recorded_by: str
    at: datetime

    def as_dict(self) -> dict:
        out = asdict(self)
        out["done_on"] = self.done_on.isoformat()
        out["next_due"] = self.next_due.isoformat() if self.next_due else None
        out["at"] = self.at.isoformat()
        return out


def _date(text: str | date | None, what: str, *, required: bool = True) -> date | None:
    if isinstance(text, date):
        return text
    if text is None or not str(text).strip():
        if required:
            raise ValidationError(f"{what}: missing; give a date such as 2026-11-01")
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValidationError(f"{what} {text!r}: use a date such as 2026-11-01") from None


def add_record(store, *, operator: str, kind: str, what: str, done_on: str | date, assessor: str, outcome: str,
               next_due: str | date | None, recorded_by: str, at: datetime) -> CompetencyRecord:
    """Record one training or assessment, checked first; audited in the same transaction. Nothing is written
    if anything is refused."""
    if kind not in KINDS:
        raise ValidationError(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    if outcome not in OUTCOMES:
        raise ValidationError(f"outcome {outcome!r}: use pass or fail")
    what = " ".join(str(what or "").split())
    if not what:
        raise ValidationError("what: say what was trained or assessed (e.g. 'Macroduct collection, observed')")
    if len(what) > WHAT_MAX:
        raise ValidationError(f"what: {len(what)} characters; keep it under {WHAT_MAX}")
    assessor = str(assessor or "").strip()
    if not assessor:
        raise ValidationError("assessor: give who trained or assessed the operator")
    if get_user(store, operator) is None:
        raise ValidationError(f"operator {operator!r} is not a user of this store; add the user first "
                              "(sweattest user add)")
    day = _date(done_on, "date")
    due = _date(next_due, "next due", required=False)
    if day > at.date():
        raise ValidationError(f"date {day}: is in the future; record a training or assessment once it is done")
    if due is not None and due <= day:
        raise ValidationError(f"next due {due}: must be after the date of this {kind} ({day})")
    row = {"operator": operator, "kind": kind, "what": what, "done_on": day.isoformat(), "assessor": assessor,
           "outcome": outcome, "next_due": due.isoformat() if due else None, "recorded_by": recorded_by, "at": at}
    with store.writing() as conn:
        new_id = conn.execute(schema.competency_records.insert().values(**row)).inserted_primary_key[0]
        append_audit(conn, who=recorded_by, what=f"competency_{kind}", at=at,
                     new={k: v for k, v in row.items() if k != "at"},
                     rows=[range_item(conn, "competency_records", new_id, new_id)])
    return CompetencyRecord(int(new_id), operator, kind, what, day, assessor, outcome, due, recorded_by, at)


def list_records(store, operator: str | None = None) -> list[CompetencyRecord]:
    """Every record (of ``operator``), oldest first."""
    cr = schema.competency_records
    query = sa.select(cr).order_by(cr.c.done_on, cr.c.id)
    if operator:
        query = query.where(cr.c.operator == operator)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [CompetencyRecord(r["id"], r["operator"], r["kind"], r["what"], date.fromisoformat(r["done_on"]),
                             r["assessor"], r["outcome"],
                             date.fromisoformat(r["next_due"]) if r["next_due"] else None, r["recorded_by"], r["at"])
            for r in rows]


def hire_date(records: list[CompetencyRecord]) -> date | None:
    """The operator's date of hire, as last recorded."""
    hires = [r for r in records if r.kind == "hire"]
    return max(hires, key=lambda r: r.id).done_on if hires else None


def latest_assessment(records: list[CompetencyRecord]) -> CompetencyRecord | None:
    """The operator's latest competency assessment (by its date, then by when it was recorded)."""
    assessments = [r for r in records if r.kind == "assessment"]
    return max(assessments, key=lambda r: (r.done_on, r.id)) if assessments else None
