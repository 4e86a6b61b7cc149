"""Proficiency testing as records: the provider's events and their samples, the targets and acceptable ranges
the provider reports, the grades QA gives and the corrective action of a failed event (migration 16).

Every write is one transaction with its audit entry, the rows chained (``range_item``); the tables are
append-only: a correction is a new row (the latest targets of a sample, the latest grading of an event count).
The grading rule is in ``sweattest.qa.pt``; the bench finds a PT sample by its id (``sample``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.units import parse_number
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item

#: Providers the lab subscribes to (free text is accepted too: the name the lab uses).
PROVIDERS = ("CAP", "UK NEQAS")
#: An event code or sample id: as printed by the provider (letters, digits, space . _ / -).
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}")
ACCEPTABLE, UNACCEPTABLE = "acceptable", "unacceptable"


@dataclass(frozen=True)
class PTSample:
    """A registered PT sample and its event, as the bench needs it to run the sample blinded."""

    sample_id: str
    event_id: int
    provider: str
    scheme: str
    event_code: str

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "scheme": self.scheme, "event": self.event_code, "sample": self.sample_id}


def _text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"{what}: missing; give it")
    if len(text) > limit:
        raise ValidationError(f"{what}: at most {limit} characters")
    return text


def _code(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not CODE.fullmatch(text):
        raise ValidationError(f"{what} {text!r}: use the provider's code (1-40 letters, digits, space . _ / -)")
    return text


def _day(value: str | None, what: str) -> str:
    try:
        return date.fromisoformat((value or "").strip()).isoformat()
    except ValueError:
        raise ValidationError(f"{what} {value!r}: use a date such as 2026-11-01") from None


def mmol(value: str | float, what: str) -> float:
    """A concentration in mmol/L given by a person: the strict number grammar, not negative."""
    number = float(parse_number(value, what)) if isinstance(value, str) else float(value)
    if number < 0:
        raise ValidationError(f"{what}: {number:g} mmol/L is below 0")
    return number


def _insert(conn: sa.Connection, table: sa.Table, row: dict[str, Any], *, who: str, what: str, at) -> int:
    new_id = int(conn.execute(table.insert().values(**row)).inserted_primary_key[0])
    append_audit(conn, who=who, what=what, at=at, new={k: v for k, v in row.items() if k != "at"},
                 rows=[range_item(conn, table.name, new_id, new_id)])
    return new_id


def add_event(store, *, provider: str, scheme: str, event_code: str, received_on: str, due_on: str,
              who: str) -> int:
    """A PT event as received; its code is unique in the lab's list."""
    row = {"provider": _text(provider, "--provider", 40), "scheme": _text(scheme, "--scheme", 80),
           "event_code": _code(event_code, "event"), "received_on": _day(received_on, "--received"),
           "due_on": _day(due_on, "--due"), "at": store.clock.utcnow(), "who": who}
    if row["due_on"] < row["received_on"]:
        raise ValidationError(f"--due {row['due_on']} is before --received {row['received_on']}")
    ev = schema.pt_events
    with store.writing() as conn:
        if conn.execute(sa.select(ev.c.id).where(ev.c.event_code == row["event_code"])).first() is not None:
            raise ValidationError(f"PT event {row['event_code']} is already recorded; nothing was added")
        return _insert(conn, ev, row, who=who, what="pt_event", at=row["at"])


def event_id(conn: sa.Connection, event_code: str) -> int:
    ev = schema.pt_events
    found = conn.execute(sa.select(ev.c.id).where(ev.c.event_code == (event_code or "").strip())).scalar()
    if found is None:
        raise ValidationError(f"PT event {event_code!r} is not recorded; add it first (`sweattest pt event add`) "
                              "or check `sweattest pt list`")
    return int(found)


def add_sample(store, *, event_code: str, sample_id: str, who: str) -> int:
    """A sample of a recorded event, by the provider's sample id (unique across events)."""
    sample_id = _code(sample_id, "sample")
    sm = schema.pt_samples
    with store.writing() as conn:
        event = event_id(conn, event_code)
        if conn.execute(sa.select(sm.c.id).where(sm.c.sample_id == sample_id)).first() is not None:
            raise ValidationError(f"PT sample {sample_id} is already recorded; nothing was added")
        at = store.clock.utcnow()
        return _insert(conn, sm, {"event_id": event, "sample_id": sample_id, "at": at, "who": who},
                       who=who, what="pt_sample", at=at)


def set_targets(store, *, sample_id: str, target: str | float, low: str | float, high: str | float, who: str,
                reason: str | None = None) -> int:
    """The provider's target and acceptable range (mmol/L) of a sample; a correction needs its reason."""
    row = {"sample_id": (sample_id or "").strip(), "target": mmol(target, "--target"), "low": mmol(low, "--low"),
           "high": mmol(high, "--high"), "reason": (reason or "").strip() or None, "at": store.clock.utcnow(),
           "who": who}
    if not row["low"] <= row["target"] <= row["high"]:
        raise ValidationError(f"acceptable range {row['low']:g}-{row['high']:g} mmol/L must hold the target "
                              f"{row['target']:g} mmol/L (--low <= --target <= --high)")
    with store.writing() as conn:
        if sample(conn, row["sample_id"]) is None:
            raise ValidationError(f"PT sample {row['sample_id']!r} is not recorded; add it first "
                                  "(`sweattest pt sample add`)")
        if latest_targets(conn, row["sample_id"]) is not None and row["reason"] is None:
            raise ValidationError(f"PT sample {row['sample_id']} has targets already: give --reason for the "
                                  "correction")
        return _insert(conn, schema.pt_targets, row, who=who, what="pt_targets", at=row["at"])


def sample(conn: sa.Connection, sample_id: str) -> PTSample | None:
    """The registered PT sample ``sample_id`` with its event, or None."""
    sm, ev = schema.pt_samples, schema.pt_events
    row = conn.execute(sa.select(sm.c.sample_id, ev.c.id, ev.c.provider, ev.c.scheme, ev.c.event_code)
                       .join(ev, ev.c.id == sm.c.event_id).where(sm.c.sample_id == sample_id)).first()
    return None if row is None else PTSample(*row)


def find_sample(store, sample_id: str) -> PTSample | None:
    with store.engine.connect() as conn:
        return sample(conn, (sample_id or "").strip())


def latest_targets(conn: sa.Connection, sample_id: str) -> dict[str, Any] | None:
    t = schema.pt_targets
    row = conn.execute(sa.select(t).where(t.c.sample_id == sample_id).order_by(t.c.id.desc()).limit(1)).mappings()
    found = row.first()
    return None if found is None else dict(found)


def event_targets(store, event_code: str) -> tuple[int, dict[str, dict[str, Any] | None]]:
    """(event id, sample id -> its latest targets, None when none were entered) of a recorded event; its samples
    in the order they were added."""
    sm = schema.pt_samples
    with store.engine.connect() as conn:
        event = event_id(conn, event_code)
        samples = conn.execute(sa.select(sm.c.sample_id).where(sm.c.event_id == event).order_by(sm.c.id)).scalars()
        return event, {s: latest_targets(conn, s) for s in samples}


def sample_targets(store, samples: list[str]) -> dict[str, dict[str, Any] | None]:
    """Sample id -> its latest targets (None: none entered)."""
    with store.engine.connect() as conn:
        return {s: latest_targets(conn, s) for s in samples}


def add_grades(store, event: int, grades: list[dict[str, Any]], *, who: str) -> int:
    """One grading of an event: a row per sample, chained by one entry; returns the first row's id."""
    g = schema.pt_grades
    at = store.clock.utcnow()
    rows = [{"event_id": event, **grade, "at": at, "who": who} for grade in grades]
    with store.writing() as conn:
        ids = [int(conn.execute(g.insert().values(**row)).inserted_primary_key[0]) for row in rows]
        append_audit(conn, who=who, what="pt_grades", at=at,
                     new={"event_id": event, "grades": {r["sample_id"]: r["grade"] for r in rows}},
                     rows=[range_item(conn, "pt_grades", ids[0], ids[-1])])
    return ids[0]


def add_corrective_action(store, *, event_code: str, found: str, done: str, done_by: str, done_on: str,
                          who: str) -> int:
    """What was found, what was done, by whom and when, for an event."""
    row = {"found": _text(found, "--found", 4000), "done": _text(done, "--done", 4000),
           "done_by": _text(done_by, "--by", 200), "done_on": _day(done_on, "--on"), "at": store.clock.utcnow(),
           "who": who}
    with store.writing() as conn:
        row["event_id"] = event_id(conn, event_code)
        return _insert(conn, schema.pt_corrective_actions, row, who=who, what="pt_corrective_action", at=row["at"])


def rows(store, table: str, **where) -> list[dict[str, Any]]:
    """The rows of a PT table, oldest first, matching ``where`` (column = value)."""
    t = schema.metadata.tables[table]
    query = sa.select(t).where(*(t.c[k] == v for k, v in where.items())).order_by(t.c.id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def is_proficiency_run(conn: sa.Connection, run_id: str) -> bool:
    """Whether ``run_id`` ran a PT sample: its result goes to the provider, never to the LIS."""
    r = schema.runs
    return conn.execute(sa.select(r.c.purpose).where(r.c.run_id == run_id)).scalar() == "proficiency"


def proficiency_run(store, run_id: str) -> bool:
    """``is_proficiency_run`` outside a transaction."""
    with store.engine.connect() as conn:
        return is_proficiency_run(conn, run_id)


def pt_runs(store, sample_id: str) -> list[str]:
    """The runs of a PT sample that were not aborted, oldest first."""
    r = schema.runs
    query = (sa.select(r.c.run_id).where(r.c.accession == sample_id, r.c.purpose == "proficiency",
                                         r.c.state != "aborted").order_by(r.c.created_at))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())
