"""The instruments as their records show them (state, calibration due, lots in use), and the calibrations and
equipment sections of the accreditation evidence pack."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sweattest.core.config import LabConfig
from sweattest.qa.pack_section import PackSection
from sweattest.record.calibrations import calibrations
from sweattest.record.equipment import LOT_KINDS, SERVICE_KINDS, entries, status
from sweattest.record.run_filter import RunFilter
from sweattest.record.run_instruments import ready_checks


def instrument_rows(store, config: LabConfig) -> list[dict[str, Any]]:
    """Each configured instrument with what its records say: in or out of service, the calibration due date
    (the latest recorded calibration, else the configuration's), the electrode and collector lots in use."""
    rows = []
    for inst in config.instruments:
        row = {"role": inst.role, "model": inst.model, "serial_number": inst.serial_number, "state": "in service",
               "calibration_due": inst.calibration_due.isoformat() if inst.calibration_due else None,
               "calibration_from": "configuration", "electrode_lot": None, "collector_lot": None}
        if inst.serial_number:
            s = status(store, inst.serial_number)
            if s.out_of_service is not None:
                row["state"] = f"OUT OF SERVICE since {s.out_of_service.on.isoformat()}: {s.out_of_service.text}"
            if s.calibration is not None:
                c = s.calibration
                row["calibration_due"] = c.next_due.isoformat() if c.passed else "FAILED"
                row["calibration_from"] = f"{c.kind} {c.performed_on.isoformat()} {c.outcome}"
            for kind in LOT_KINDS:
                if kind in s.lots:
                    row[kind] = f"{s.lots[kind].lot} since {s.lots[kind].on.isoformat()}"
        rows.append(row)
    return rows


COLUMNS = ("date", "instrument", "role", "kind", "outcome", "next_due", "reference", "notes", "by")


def pack_section(store, where: RunFilter) -> PackSection:
    """Calibrations and verifications performed in the pack's period, oldest first."""
    found = list(reversed(calibrations(store, since=where.date_from, until=where.date_to)))
    rows = tuple((c.performed_on.isoformat(), c.instrument, c.role, c.kind, c.outcome,
                  c.next_due.isoformat() if c.passed else "", c.reference or "", c.notes or "", c.who) for c in found)
    failed = [c for c in found if not c.passed]
    notes = ["Next due date: the date performed plus the lab's interval for the instrument's role ([calibration] "
             "in the lab configuration; CLSI C34: per the instrument's manual)."]
    if not found:
        notes.append("No calibration or verification was recorded in this period.")
    if failed:
        notes.append(f"{len(failed)} failed: " + "; ".join(f"{c.instrument} {c.performed_on.isoformat()} ({c.notes})"
                                                            for c in failed) + ". A failed calibration stops the "
                     "instrument from starting a run until a passing one is recorded.")
    return PackSection("calibrations", "Calibrations and calibration verifications", COLUMNS, rows, tuple(notes))


EQUIPMENT_COLUMNS = ("instrument", "role", "finding", "date", "detail")
#: A calibration is named "due" in the pack when it falls due within this many days after the period.
DUE_SOON_DAYS = 30


def equipment_section(store, where: RunFilter) -> PackSection:
    """The equipment as the records show it over the period: each instrument's calibration due or overdue at the
    period's end (or failed), each time it went out of service and came back, and each patient run performed
    while one of its instruments' calibration was overdue."""
    end = where.date_to
    cals = sorted(calibrations(store), key=lambda c: (c.performed_on, c.id))
    log = [e for e in reversed(entries(store)) if e.kind in SERVICE_KINDS]
    roles = {c.instrument: c.role for c in cals} | {e.instrument: e.role for e in log}
    rows = []
    for serial in sorted(roles):
        mine = [c for c in cals if c.instrument == serial and (end is None or c.performed_on <= end)]
        if mine:
            last = mine[-1]
            if not last.passed:
                rows.append((serial, roles[serial], "calibration FAILED", last.performed_on.isoformat(),
                             f"{last.kind} failed: {last.notes or 'no note'}; no run until a passing one"))
            elif end is not None and last.next_due < end:
                rows.append((serial, roles[serial], "calibration OVERDUE", last.next_due.isoformat(),
                             f"due {last.next_due.isoformat()}, {(end - last.next_due).days} day(s) before the "
                             "period's end"))
            elif end is not None and (last.next_due - end).days <= DUE_SOON_DAYS:
                rows.append((serial, roles[serial], "calibration due", last.next_due.isoformat(),
                             f"last {last.kind} {last.performed_on.isoformat()}"))
        for e in log:
            if e.instrument == serial and _within(e.on, where):
                rows.append((serial, roles[serial], "out of service" if e.kind == "out_of_service"
                             else "back in service", e.on.isoformat(), e.text))
    rows += _runs_while_overdue(store, where, cals)
    notes = [f"Calibration status at the period's end from the calibration records (next due: date performed "
             f"plus the lab's interval); 'due' within {DUE_SOON_DAYS} days after the period. Out of service and "
             "back from the equipment log. A run is listed when an instrument it recorded at its start was past "
             "its calibration's next due date (or its latest calibration had failed) that day."]
    return PackSection("equipment", "Equipment: calibrations due and overdue, service, runs while overdue",
                       EQUIPMENT_COLUMNS, tuple(rows), tuple(notes))


def _within(day, where: RunFilter) -> bool:
    return (where.date_from is None or day >= where.date_from) and (where.date_to is None or day <= where.date_to)


def _runs_while_overdue(store, where: RunFilter, cals) -> list[tuple]:
    out = []
    for run_id, at, doc in ready_checks(store, where):
        day = at.astimezone(UTC).date()
        for role, inst in (doc.get("instruments") or {}).items():
            serial = inst.get("serial_number") if isinstance(inst, dict) else None
            before = [c for c in cals if c.instrument == serial and c.performed_on <= day]
            if not before:
                continue
            last = before[-1]
            if not last.passed or last.next_due < day:
                why = "failed" if not last.passed else f"due {last.next_due.isoformat()}"
                out.append((serial, role, "run while overdue", day.isoformat(), f"run {run_id}: calibration {why}"))
    return out
