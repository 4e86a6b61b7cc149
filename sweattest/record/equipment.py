"""The equipment log of each instrument (by serial number): maintenance and repairs, the electrode and collector
lots put in use, and the instrument taken out of service and put back (each with its reason).

An instrument out of service cannot be used: the instrument check at the start of a run refuses it, naming the
instrument and why (``status``). Taking an instrument out of service is open to anyone at the bench (a tech who
finds a fault stops its use at once); putting it back in service is for a reviewer, qa or admin. Append-only: the
latest out-of-service or in-service entry is the instrument's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.core.instruments import ROLES
from sweattest.record.calibrations import Calibration, latest
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.rowhash import range_item
from sweattest.record.users import QA_ROLES

#: What an entry records. Lots: the electrode lot (inducer) or the collector lot (Macroduct coils, gauze) in use
#: from the entry's date.
KINDS = ("maintenance", "repair", "electrode_lot", "collector_lot", "out_of_service", "in_service")
LOT_KINDS = ("electrode_lot", "collector_lot")
SERVICE_KINDS = ("out_of_service", "in_service")
#: Roles that may put an instrument back in service.
RETURN_ROLES = QA_ROLES


@dataclass(frozen=True)
class Entry:
    id: int
    instrument: str
    role: str
    kind: str
    on: date
    text: str
    lot: str | None
    at: datetime
    who: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "instrument": self.instrument, "role": self.role, "kind": self.kind,
                "date": self.on.isoformat(), "text": self.text, "lot": self.lot, "recorded_at": self.at.isoformat(),
                "by": self.who}


@dataclass(frozen=True)
class Status:
    """What the records say about one instrument at the start of a run."""

    instrument: str
    out_of_service: Entry | None  # the entry that took it out of service, while it is out
    calibration: Calibration | None  # its latest calibration or verification
    lots: dict[str, Entry]  # electrode_lot / collector_lot -> the entry of the lot in use


def add_entry(store, *, instrument: str, role: str, kind: str, on: date, text: str, who: str,
              who_role: str, lot: str | None = None) -> Entry:
    """One log entry. Going out of service when out (or in service when in) is refused; so is putting an
    instrument back in service by a tech."""
    at = store.clock.utcnow()
    instrument = (instrument or "").strip()
    if not instrument or len(instrument) > 80:
        raise ValidationError("instrument: give its serial number (1 to 80 characters)")
    if role not in ROLES:
        raise ValidationError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if kind not in KINDS:
        raise ValidationError(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ValidationError(f"{kind.replace('_', ' ')}: say what was done or why (1 to 2000 characters)")
    if on > at.date():
        raise ValidationError(f"date {on.isoformat()} is in the future; record what was done once done")
    lot = (lot or "").strip() or None
    if (kind in LOT_KINDS) != (lot is not None):
        need = "give the lot number" if kind in LOT_KINDS else "a lot number belongs to an electrode or collector lot"
        raise ValidationError(f"{kind.replace('_', ' ')}: {need}")
    if lot is not None and len(lot) > 40:
        raise ValidationError("lot: at most 40 characters")
    if kind in SERVICE_KINDS:
        out = out_of_service(store, instrument)
        if kind == "out_of_service" and out is not None:
            raise ValidationError(f"{instrument} is already out of service since {out.on.isoformat()} ({out.text})")
        if kind == "in_service":
            if out is None:
                raise ValidationError(f"{instrument} is in service; nothing to put back")
            if who_role not in RETURN_ROLES:
                raise ValidationError(f"{who} is a {who_role}: only a reviewer, qa or admin puts an instrument back "
                                      "in service")
    row = {"instrument": instrument, "role": role, "kind": kind, "on_date": on.isoformat(), "text": text, "lot": lot}
    with store.writing() as conn:
        new_id = conn.execute(schema.equipment_log.insert().values(**row, at=at, who=who)).inserted_primary_key[0]
        append_audit(conn, who=who, what=f"equipment_{kind}", at=at, why=text, new=row,
                     rows=[range_item(conn, "equipment_log", new_id, new_id)])
    return _entry(row | {"id": int(new_id), "at": at, "who": who})


def entries(store, instrument: str | None = None) -> list[Entry]:
    """Log entries, newest first."""
    t = schema.equipment_log
    query = sa.select(t).order_by(t.c.id.desc())
    if instrument is not None:
        query = query.where(t.c.instrument == instrument)
    with store.engine.connect() as conn:
        return [_entry(r) for r in conn.execute(query).mappings()]


def out_of_service(store, instrument: str) -> Entry | None:
    """The entry that took the instrument out of service, if it is out now."""
    for e in entries(store, instrument):
        if e.kind in SERVICE_KINDS:
            return e if e.kind == "out_of_service" else None
    return None


def status(store, instrument: str) -> Status:
    found = entries(store, instrument)
    lots: dict[str, Entry] = {}
    for e in found:
        if e.kind in LOT_KINDS:
            lots.setdefault(e.kind, e)
    out = next((e for e in found if e.kind in SERVICE_KINDS), None)
    return Status(instrument, out if out is not None and out.kind == "out_of_service" else None,
                  latest(store, instrument), lots)


def _entry(row) -> Entry:
    return Entry(row["id"], row["instrument"], row["role"], row["kind"], date.fromisoformat(row["on_date"]),
                 row["text"], row["lot"], row["at"], row["who"])
