"""The instruments a run was performed on, as its ``check_ready`` event recorded them (model, identity,
serial number, calibration due). The port is bench wiring, not part of the result, and is left out."""

from __future__ import annotations

from typing import Any

#: What the record keeps of each instrument.
KEPT = ("model", "identity", "serial_number", "calibration_due")


def recorded_instruments(store, run_id: str) -> dict[str, dict[str, Any]] | None:
    """Role -> instrument from the run's last accepted ``check_ready`` event; None: not recorded."""
    found = None
    for e in store.events(run_id):
        if e.kind == "check_ready" and e.accepted and isinstance(e.data.get("instruments"), dict):
            found = e.data["instruments"]
    if found is None:
        return None
    return {role: {k: inst.get(k) for k in KEPT} for role, inst in found.items() if isinstance(inst, dict)}
