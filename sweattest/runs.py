"""Runs as the store holds them: a run's state is rebuilt from its accepted events (write-ahead log)."""

from __future__ import annotations

import json
from typing import Any

from sweattest.errors import ValidationError
from sweattest.jsonable import from_jsonable
from sweattest.procedure import new_run, replay
from sweattest.procedure.events import Event
from sweattest.procedure.model import RunState
from sweattest.protocol import load_protocol


def stored_order(row: dict[str, Any]) -> dict[str, Any]:
    order = row.get("order", row.get("order_json"))
    return json.loads(order) if isinstance(order, str) else order


def load_run(store, run_id: str) -> tuple[RunState, dict[str, Any]]:
    """The run's current state, replayed from its events, and its order."""
    row = store.get_run(run_id)
    if row is None:
        raise ValidationError(f"no run {run_id!r} in the store; `sweattest qa runs` lists the runs")
    order = stored_order(row)
    run = new_run(run_id, load_protocol(order["method"]), order["sites"])
    return replay(run, [stored_event(e) for e in store.events(run_id) if e.accepted]), order


def stored_event(e) -> Event:
    data = dict(e.data)
    actor = data.pop("actor", "system")
    return Event(kind=e.kind, at=e.at, t=e.t, site=e.site, data=from_jsonable(data), actor=actor)
