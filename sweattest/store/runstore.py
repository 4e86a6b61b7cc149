"""The run store: runs, their events (write-ahead log) and their readings.

Every write commits before the method returns, so the runner acts only on what is on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sweattest.clock import Clock, RealClock
from sweattest.errors import StoreError
from sweattest.procedure.table import FINAL_STATES
from sweattest.store import engine as engines
from sweattest.store import results
from sweattest.store.auditlog import append_audit
from sweattest.store.migrations import migrate
from sweattest.store.patient import age_group, order_dob
from sweattest.store.schema import events, qc_results, readings, runs
from sweattest.store.values import check_plain_json, check_time

#: State of a run that has been created and not yet started.
INITIAL_STATE = "created"

_READING_FIELDS = ("site", "kind", "at", "t", "data")


@dataclass(frozen=True)
class StoredEvent:
    """One committed event of a run, as read back from the store."""

    run_id: str
    seq: int
    kind: str
    site: str | None
    at: datetime
    t: float
    data: dict[str, Any]
    accepted: bool


class Store:
    """Runs, events and readings in one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, clock: Clock | None = None):
        self.engine = engine
        self.clock = clock or RealClock()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def describe(self) -> str:
        return engines.describe(self.engine.url)

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction, committed on leaving the block (SQLite: taken with BEGIN IMMEDIATE)."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    yield conn
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"the run store at {self.describe()} refused a write: "
                             f"{_reason(exc)}; nothing from this step was stored") from exc

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"cannot read the run store at {self.describe()}: {_reason(exc)}") from exc

    # --- runs ----------------------------------------------------------------------------------

    def create_run(self, run_id: str, *, accession: str, method: str, operator: str, patient_mrn: str,
                   created_at: datetime, order: dict[str, Any]) -> None:
        """Record a new run in state ``created``; a run id already used is refused."""
        when = check_time(created_at, "created_at")
        order = check_plain_json(order, "order")
        for field, value in (("run_id", run_id), ("accession", accession), ("method", method),
                             ("operator", operator), ("patient_mrn", patient_mrn)):
            if not isinstance(value, str) or not value.strip():
                raise StoreError(f"{field} must be non-empty text; run {run_id!r} was not created")
        with self.write() as conn:
            if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first():
                raise StoreError(f"run {run_id} already exists; use a new run id "
                                 "(the stored run is unchanged)")
            dob = order_dob(order)
            conn.execute(runs.insert().values(
                run_id=run_id, accession=accession, method=method, operator=operator,
                patient_mrn=patient_mrn, created_at=when, state=INITIAL_STATE, updated_at=when,
                order_json=order, created_month=when.astimezone(UTC).strftime("%Y-%m"), patient_dob=dob,
                age_group=age_group(dob, when)))
            append_audit(conn, who=operator, what="run created", at=when, run_id=run_id,
                         new={"accession": accession, "method": method, "patient_mrn": patient_mrn,
                              "state": INITIAL_STATE})

    def set_run_state(self, run_id: str, state: str, at: datetime, *, who: str | None = None,
                      why: str | None = None) -> None:
        """Set the run's current state (its events remain the record of how it got there).

        A final state (reported, aborted) also sets ``finished_at`` once. The change is audited, by
        ``who`` (default: the run's operator).
        """
        when = check_time(at, "at")
        with self.write() as conn:
            old = self._require_run(conn, run_id)
            values: dict[str, Any] = {"state": state, "updated_at": when}
            if state in FINAL_STATES and old["finished_at"] is None:
                values["finished_at"] = when
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))
            if old["state"] != state:
                append_audit(conn, who=who or old["operator"], what="state changed", at=when, run_id=run_id,
                             why=why, old={"state": old["state"]}, new={"state": state})

    # --- audit and QC ----------------------------------------------------------------------------

    def audit(self, *, who: str, what: str, at: datetime, run_id: str | None = None, why: str | None = None,
              old: Any = None, new: Any = None, conn: sa.Connection | None = None) -> int:
        """Append an audit entry; inside ``with store.write() as conn`` pass ``conn`` so the entry commits
        with the change it records. Returns the entry's id."""
        if conn is not None:
            return append_audit(conn, who=who, what=what, at=at, run_id=run_id, why=why, old=old, new=new)
        with self.write() as own:
            return append_audit(own, who=who, what=what, at=at, run_id=run_id, why=why, old=old, new=new)

    def record_result(self, run_id: str, result: dict[str, Any], *, who: str, at: datetime) -> int:
        """Store the run's final result (version 1; ``result["qns"]`` is required). Later changes go
        through an e-signed amendment (``sweattest.users.amend_result``). Returns the version."""
        with self.write() as conn:
            if results.latest_version(conn, run_id) is not None:
                raise StoreError(f"run {run_id} already has a final result; change it only by an amendment "
                                 "with a reason (the stored result is unchanged)")
            return results.add_version(conn, run_id, result, who=who, at=at, reason=None)

    def result_versions(self, run_id: str) -> list[dict[str, Any]]:
        """Every version of the run's result, oldest first (version, status, at, who, reason, result)."""
        with self.read() as conn:
            return results.versions(conn, run_id)

    def record_qc(self, *, analyzer: str, level: str, at: datetime, value: float, who: str,
                  unit: str = "mmol/L", lot: str | None = None, target_mean: float | None = None,
                  target_sd: float | None = None) -> int:
        """Store one control result (audited); returns its id."""
        when = check_time(at, "at")
        row = {"analyzer": analyzer, "level": level, "lot": lot, "at": when, "value": _number(value, "value"),
               "unit": unit, "target_mean": target_mean, "target_sd": target_sd, "who": who}
        with self.write() as conn:
            qc_id = conn.execute(qc_results.insert().values(**row)).inserted_primary_key[0]
            append_audit(conn, who=who, what="QC result", at=when,
                         new={k: v for k, v in row.items() if k not in ("at", "who")} | {"id": qc_id})
        return qc_id

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return None if row is None else run_from_row(row)

    def list_runs(self, *, state: str | None = None, operator: str | None = None,
                  method: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs in creation order, filtered; ``since`` inclusive, ``until`` exclusive."""
        query = sa.select(runs).order_by(runs.c.created_at, runs.c.run_id)
        if state is not None:
            query = query.where(runs.c.state == state)
        if operator is not None:
            query = query.where(runs.c.operator == operator)
        if method is not None:
            query = query.where(runs.c.method == method)
        if since is not None:
            query = query.where(runs.c.created_at >= check_time(since, "since"))
        if until is not None:
            query = query.where(runs.c.created_at < check_time(until, "until"))
        if limit is not None:
            query = query.limit(limit)
        with self.read() as conn:
            return [run_from_row(row) for row in conn.execute(query).mappings()]

    # --- events --------------------------------------------------------------------------------

    def append_event(self, run_id: str, *, kind: str, site: str | None, at: datetime, t: float,
                     data: dict[str, Any], accepted: bool = True) -> int:
        """Commit one event and return its sequence number (1, 2, ... per run)."""
        row = {"kind": kind, "site": site, "at": check_time(at, "at"), "t": _number(t),
               "data": check_plain_json(data, f"data of event {kind!r}"), "accepted": bool(accepted)}
        with self.write() as conn:
            self._require_run(conn, run_id)
            last = conn.execute(sa.select(sa.func.max(events.c.seq))
                                .where(events.c.run_id == run_id)).scalar()
            seq = (last or 0) + 1
            conn.execute(events.insert().values(run_id=run_id, seq=seq, **row))
        return seq

    def events(self, run_id: str) -> list[StoredEvent]:
        query = sa.select(events).where(events.c.run_id == run_id).order_by(events.c.seq)
        with self.read() as conn:
            return [StoredEvent(run_id=r["run_id"], seq=r["seq"], kind=r["kind"], site=r["site"],
                                at=r["at"], t=r["t"], data=r["data"],
                                accepted=bool(r["accepted"]))
                    for r in conn.execute(query).mappings()]

    # --- readings ------------------------------------------------------------------------------

    def append_readings(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Commit a batch of readings in one transaction: all of them or none."""
        prepared = [_reading_row(run_id, i, row) for i, row in enumerate(rows)]
        if not prepared:
            return
        with self.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(readings.insert(), prepared)

    def readings(self, run_id: str, site: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(readings).where(readings.c.run_id == run_id).order_by(readings.c.id)
        if site is not None:
            query = query.where(readings.c.site == site)
        if kind is not None:
            query = query.where(readings.c.kind == kind)
        with self.read() as conn:
            return [{"site": r["site"], "kind": r["kind"], "at": r["at"], "t": r["t"], "data": r["data"]}
                    for r in conn.execute(query).mappings()]

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- hooks and helpers ---------------------------------------------------------------------

    def _require_run(self, conn: sa.Connection, run_id: str) -> dict[str, Any]:
        row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise StoreError(f"no run {run_id!r} in the store at {self.describe()}; "
                             "check the run id (nothing was stored)")
        return dict(row)


def open_store(url: str | None = None, *, clock: Clock | None = None) -> Store:
    """Open (and create or upgrade) the run store at ``url``, ``SWEATTEST_DB`` or the default file."""
    engine = engines.create_engine(engines.resolve_url(url))
    store = Store(engine, clock)
    try:
        migrate(engine, store.clock)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise StoreError(f"cannot prepare the run store at {store.describe()}: {_reason(exc)}") from exc
    except BaseException:
        engine.dispose()
        raise
    return store


def run_from_row(row: Any) -> dict[str, Any]:
    """A run as a plain dict (times are aware UTC datetimes), with its order under ``order``."""
    out = dict(row)
    out["order"] = out.pop("order_json")
    return out


def _reading_row(run_id: str, index: int, row: dict[str, Any]) -> dict[str, Any]:
    missing = [f for f in _READING_FIELDS if f not in row]
    extra = sorted(set(row) - set(_READING_FIELDS))
    if missing or extra:
        raise StoreError(f"reading {index} of run {run_id} has missing fields {missing} or unknown "
                              f"fields {extra}; expected {list(_READING_FIELDS)}; no reading of the batch "
                              "was stored")
    return {"run_id": run_id, "site": row["site"], "kind": row["kind"],
            "at": check_time(row["at"], f"at of reading {index}"), "t": _number(row["t"]),
            "data": check_plain_json(row["data"], f"data of reading {index}")}


def _number(t: float, field: str = "t") -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise StoreError(f"{field} must be a number, got {t!r}; nothing was stored")
    return float(t)


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
