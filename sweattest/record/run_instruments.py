"""The instruments a run was performed on, as its ``check_ready`` event recorded them (model, identity,
serial number, calibration due). The port is bench wiring, not part of the result, and is left out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sweattest.record.store import schema

#: What the record keeps of each instrument.
KEPT = ("model", "identity", "serial_number", "calibration_due")


def ready_checks(store, where) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(run_id, at, data) of every accepted ``check_ready`` event of the runs ``where`` (a ``RunFilter``)
    chooses, in time order: what each run recorded of its instruments at its start."""
    ev, runs = schema.events, schema.runs
    query = where.apply(sa.select(runs.c.run_id, ev.c.at, ev.c.data).join(ev, ev.c.run_id == runs.c.run_id)
                        .where(ev.c.kind == "check_ready", ev.c.accepted == sa.true()).order_by(ev.c.at))
    with store.engine.connect() as conn:
        found = conn.execute(query).all()
    return [(run_id, at, json.loads(data) if isinstance(data, str) else (data or {})) for run_id, at, data in found]


def recorded_instruments(store, run_id: str) -> dict[str, dict[str, Any]] | None:
    """Role -> instrument from the run's last accepted ``check_ready`` event; None: not recorded."""
    found = None
    for e in store.events(run_id):
        if e.kind == "check_ready" and e.accepted and isinstance(e.data.get("instruments"), dict):
            found = e.data["instruments"]
    if found is None:
        return None
    return {role: {k: inst.get(k) for k in KEPT} for role, inst in found.items() if isinstance(inst, dict)}
