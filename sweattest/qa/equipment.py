"""The instruments as their records show them (state, calibration due, lots in use), and the calibrations
section of the accreditation evidence pack."""

from __future__ import annotations

from typing import Any

from sweattest.core.config import LabConfig
from sweattest.qa.filters import RunFilter
from sweattest.qa.pack_section import PackSection
from sweattest.record.calibrations import calibrations
from sweattest.record.equipment import LOT_KINDS, status


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
