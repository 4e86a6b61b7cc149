"""Runs as the store holds them: a run's state is rebuilt from its accepted events (write-ahead log)."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from typing import Any

from sweattest.core.errors import ProcedureError, TamperError, ValidationError
from sweattest.core.jsonable import from_jsonable, to_jsonable
from sweattest.core.procedure import apply, new_run, replay
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState
from sweattest.core.protocol import Protocol, load_protocol, protocol_from_snapshot
from sweattest.core.rules.adequacy import MINIMUM_SAMPLE
from sweattest.record.lease import process_owner

#: Key of an event's data holding the simulated clock's time of the event (see ``commit_event``).
PROCEDURE_AT = "procedure_at"


def stored_order(row: dict[str, Any]) -> dict[str, Any]:
    order = row.get("order", row.get("order_json"))
    return json.loads(order) if isinstance(order, str) else order


def load_run(store, run_id: str) -> tuple[RunState, dict[str, Any]]:
    """The run's current state, replayed from its events, and its order."""
    run, order, _ = load_run_at(store, run_id)
    return run, order


def load_run_at(store, run_id: str) -> tuple[RunState, dict[str, Any], int]:
    """The run's current state, its order, and the sequence number of the last event replayed (0: none):
    a writer passes it to ``commit_event`` so its event applies to the run as stored."""
    row = store.get_run(run_id)
    if row is None:
        raise ValidationError(f"no run {run_id!r} in the store; `sweattest qa runs` lists the runs")
    order = stored_order(row)
    events = store.events(run_id)
    run = replay(initial_run(row, order), [stored_event(e) for e in events if e.accepted])
    return run, order, events[-1].seq if events else 0


def initial_run(row: dict[str, Any], order: dict[str, Any]) -> RunState:
    """The run as created, before any event: its stored method, sites and adequacy rule."""
    return new_run(row["run_id"], stored_protocol(row, order), order["sites"],
                   (order.get("rules") or {}).get("adequacy", MINIMUM_SAMPLE))  # as kept when the run started


def stored_protocol(row: dict[str, Any], order: dict[str, Any]) -> Protocol:
    """The method the run was created with, from its stored snapshot (refused if its hash does not match).
    Runs created before the store kept snapshots have none: they use the shipped method of the same name."""
    text, digest = row.get("protocol_text"), row.get("protocol_sha256")
    if text is None and digest is None:
        return load_protocol(order["method"])
    if text is None or digest is None:
        raise TamperError(f"run {row['run_id']}: half of its method snapshot is missing (text or hash); it was "
                          "changed after the run was created. Do not report this run; run `sweattest audit "
                          "verify` and tell the laboratory director")
    return protocol_from_snapshot(text, digest, f"run {row['run_id']}: method {order['method']!r} as stored")


def stored_event(e) -> Event:
    data = dict(e.data)
    actor = data.pop("actor", "system")
    station = data.pop("station", None)
    data.pop(PROCEDURE_AT, None)
    return Event(kind=e.kind, at=e.at, t=e.t, site=e.site, data=from_jsonable(data), actor=actor, station=station)


def procedure_time(e) -> datetime:
    """When a stored event happened on the procedure's clock (its ``at`` unless a simulated clock ran)."""
    stamp = e.data.get(PROCEDURE_AT)
    return datetime.fromisoformat(stamp) if stamp else e.at


def commit_event(store, run: RunState, event: Event, *, after: int | None = None, owner: str | None = None,
                 procedure_at: datetime | None = None):
    """The write-ahead step: the core decides (pure), the event is committed with the run's new state (one
    transaction, chained together); only then may its effects be carried out. Returns (new state, effects). A
    refused event is recorded as refused and its ``ProcedureError`` / ``ValidationError`` raised.

    ``after``: the sequence number of the last event ``run`` was built from; ``owner``: the writer's lease
    owner id. If the stored run moved on since, or another live process holds it, ``RunTakenOver`` is raised
    and nothing is written: the event would apply to the run as remembered, not as stored.

    ``procedure_at``: the simulated clock's time of the event, kept beside its ``at`` (the time it was
    written) when a simulated run's clock is not the record's."""
    payload = to_jsonable(event.data) | {"actor": event.actor, "station": event.station or local_station()}
    if procedure_at is not None:
        payload[PROCEDURE_AT] = procedure_at.isoformat()
    try:
        new_run, effects = apply(run, event)
    except (ProcedureError, ValidationError) as exc:
        store.append_event(run.run_id, kind=event.kind, site=event.site, at=event.at, t=event.t,
                           data=payload | {"refused": str(exc)}, accepted=False, after=after, owner=owner)
        raise
    store.append_event(run.run_id, kind=event.kind, site=event.site, at=event.at, t=event.t, data=payload,
                       accepted=True, after=after, owner=owner, run=new_run)
    return new_run, effects


def local_station() -> str:
    """The station of what this process records itself (the command line, a timer, a device): its host."""
    return f"host {socket.gethostname()}"


def record_event(store, clock, run_id: str, kind: str, *, site: str | None = None,
                 data: dict[str, Any] | None = None, actor: str = "system", station: str | None = None) -> RunState:
    """Apply one event to a stored run (review, report, abort...) outside a live runner."""
    run, _, last_seq = load_run_at(store, run_id)
    events = store.events(run_id)
    last_t = events[-1].t if events else 0.0
    created = store.get_run(run_id)["created_at"]
    t = max(last_t, (clock.utcnow() - created).total_seconds())
    event = Event(kind=kind, at=clock.utcnow(), t=round(t, 3), site=site, data=data or {}, actor=actor,
                  station=station)
    return commit_event(store, run, event, after=last_seq, owner=process_owner())[0]
