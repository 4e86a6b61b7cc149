"""``Store``: every write commits before it returns (write-ahead: the runner acts only after)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa

from sweattest.core.clock import Clock, RealClock
from sweattest.core.errors import RunTakenOver, StoreError, ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.purpose import PATIENT, check_purpose
from sweattest.record.lease import held_by
from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit
from sweattest.record.store.derived import JUDGED_STATES, age_group, patient_dob, qns_verdict
from sweattest.record.store.migrations import MIGRATIONS, applied, migrate
from sweattest.record.store.packing import unpack
from sweattest.record.store.pending_readings import PENDING_LEVEL, block
from sweattest.record.store.pending_readings import write as write_pending
from sweattest.record.store.rowhash import keyed_item, range_item
from sweattest.record.store.types import UTCDateTime

ENV_VAR = "SWEATTEST_DB"
_UTC = UTCDateTime()


@dataclass(frozen=True)
class StoredEvent:
    run_id: str
    seq: int
    kind: str
    site: str | None
    at: datetime
    t: float
    data: dict[str, Any]
    accepted: bool


#: The lab's default store, and the demo's own beside it (the demo never writes into the lab's store).
DEFAULT_DB = "sweattest.db"
DEMO_DB = "sweattest-demo.db"


def resolve_url(url: str | None = None) -> str:
    """``url``, else $SWEATTEST_DB, else SQLite in the user data folder. A plain path means SQLite."""
    url = url or os.environ.get(ENV_VAR)
    if not url:
        return default_sqlite_url(DEFAULT_DB)
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def default_sqlite_url(name: str) -> str:
    """SQLite file ``name`` in the user data folder (created if needed)."""
    folder = Path(platformdirs.user_data_dir("sweattest"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / name}"


def open_store(url: str | None = None, clock: Clock | None = None) -> Store:
    return Store(resolve_url(url), clock or RealClock())


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_begin


def _sqlite_begin(conn: sa.Connection) -> None:
    """Writes take the write lock at BEGIN (IMMEDIATE): no write can fail half-way on a stale snapshot."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writing") else "BEGIN")


class Store:
    def __init__(self, url: str, clock: Clock):
        self.url = url
        self.clock = clock
        #: the driver connection of relaxed (not power-safe) writes on SQLite, kept while the store is open
        self._relaxed = None
        self._relaxed_lock = threading.Lock()
        try:
            self.engine = sa.create_engine(url, future=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use the run store {_safe(url)}: {exc}. Give a URL such as "
                             "sqlite:///runs.db or postgresql+psycopg://user@host/db") from None
        if self.engine.dialect.name == "sqlite":
            path = self.engine.url.database
            if path and path != ":memory:" and not Path(path).parent.is_dir():
                raise StoreError(f"cannot open the run store {_safe(url)}: folder {Path(path).parent} "
                                 "does not exist")
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        try:
            migrate(self.engine, self.clock.utcnow())
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open the run store {_safe(url)}: {exc.orig}") from None

    @property
    def shown_url(self) -> str:
        """The store's URL as people are shown it (no password)."""
        return self.engine.url.render_as_string()

    @property
    def dialect(self) -> str:
        """The database: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def migrations(self) -> tuple[set[int], set[int]]:
        """(the migrations applied to this database, the migrations this version of the software has)."""
        with self.engine.connect() as conn:
            return applied(conn), {version for version, _, _ in MIGRATIONS}

    def close(self) -> None:
        with self._relaxed_lock:
            self.drop_relaxed()
        self.engine.dispose()

    def drop_relaxed(self) -> None:
        """Give up the connection kept for relaxed writes (``_RelaxedSQLiteWriting``): invalidated, never back
        in the pool with ``synchronous=NORMAL``."""
        raw, self._relaxed = self._relaxed, None
        if raw is not None:
            with contextlib.suppress(sqlite3.Error, sa.exc.SQLAlchemyError):
                if raw.driver_connection.in_transaction:
                    raw.driver_connection.execute("ROLLBACK")
            raw.invalidate()

    # -- writes (each commits before returning) --------------------------------------------------------
    def create_run(self, run_id: str, *, accession: str, method: str, operator: str, patient_mrn: str,
                   created_at: datetime, order: dict[str, Any], protocol: Protocol,
                   purpose: str = PATIENT, lease: tuple[str, datetime] | None = None, station: str | None = None,
                   within: Callable[[sa.Connection], None] | None = None, by: str | None = None) -> None:
        """A new run with its method snapshot: ``protocol``'s text and hash are stored with it (the audit
        entry records the hash), and the run is replayed against them from then on. ``lease``: (owner, until):
        the run is created already leased to the process that performs it. ``within``: a write that belongs
        with the run's creation (the LIS order it performs leaving the worklist), in the same transaction.
        ``purpose``: why the run is performed (``sweattest.core.purpose``), chained with it. ``by``: the signed-in
        user who started it, when that is not its operator (the demo's simulated tech, started in a lab's store):
        the audit entry names them."""
        if not protocol.text:
            raise ValidationError(f"run {run_id}: method {method!r} carries no text to store with the run; "
                                  "load it with load_protocol or parse_protocol_text")
        check_purpose(purpose)
        owner, until = lease or (None, None)
        with self._begin() as conn:
            conn.execute(schema.runs.insert().values(
                run_id=run_id, accession=accession, method=method, operator=operator, patient_mrn=patient_mrn,
                created_at=created_at, state="created", updated_at=created_at, order_json=order,
                month=f"{created_at.astimezone(UTC):%Y-%m}", age_group=age_group(order, created_at),
                patient_dob=patient_dob(order),
                protocol_text=protocol.text, protocol_sha256=protocol.sha256, lease_owner=owner, lease_until=until,
                purpose=purpose, station=station))
            append_audit(conn, run_id=run_id, who=by or operator, what="create_run", at=created_at,
                         new={"accession": accession, "method": method, "operator": operator,
                              "patient_mrn": patient_mrn, "protocol_sha256": protocol.sha256,
                              "purpose": purpose} | ({"started_by": by} if by else {}),
                         rows=[keyed_item(conn, "runs", run_id), keyed_item(conn, "run_state", run_id)])
            if within is not None:
                within(conn)

    def append_event(self, run_id: str, *, kind: str, site: str | None, at: datetime, t: float,
                     data: dict[str, Any], accepted: bool = True, after: int | None = None,
                     owner: str | None = None, run: Any = None) -> int:
        """Append the run's next event. ``after``: the sequence number of the last event the writer knows
        (0: none); ``owner``: the writer's lease owner id. If the stored run has moved on, or another live
        process holds its lease, ``RunTakenOver`` is raised and nothing is written. ``run``: the run's state
        after the event (the procedure core's ``RunState``): its state and QA columns are written and chained
        with the event."""
        ev = schema.events
        with self._begin() as conn:
            lease = conn.execute(sa.select(schema.runs.c.lease_owner, schema.runs.c.lease_until)
                                 .where(schema.runs.c.run_id == run_id).with_for_update()).first()
            seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(ev.c.seq), 0) + 1)
                               .where(ev.c.run_id == run_id)).scalar_one()
            if owner is not None and lease is not None and lease.lease_owner not in (None, owner) \
                    and lease.lease_until is not None and lease.lease_until > self.lease_now(conn):
                raise RunTakenOver(f"{held_by(run_id, lease.lease_owner, lease.lease_until)}; this station "
                                   "stops working on it (outputs off) and records nothing more",
                                   event=kind)
            if after is not None and seq != after + 1:
                raise RunTakenOver(f"run {run_id} was changed by another process (it has {seq - 1} events, this "
                                   f"station knew {after}); this station stops working on it (outputs off) and "
                                   "records nothing more", event=kind)
            event_id = conn.execute(ev.insert().values(run_id=run_id, seq=seq, kind=kind, site=site, at=at, t=t,
                                                       data=data, accepted=accepted)).inserted_primary_key[0]
            rows = [range_item(conn, "events", event_id, event_id)]
            if run is not None:
                conn.execute(schema.runs.update().where(schema.runs.c.run_id == run_id)
                             .values(**_state_columns(run, at)))
                rows.append(keyed_item(conn, "run_state", run_id))
            append_audit(conn, run_id=run_id, who=str(data.get("actor", "system")),
                         what=kind if accepted else f"{kind} (refused)", at=at,
                         why=data.get("refused") or data.get("reason"), new=_audited(site, data), rows=rows)
        return seq

    # -- leases (sweattest/record/lease.py): one conditional UPDATE each, so of two processes one wins --
    def lease_now(self, conn: sa.Connection | None = None) -> datetime:
        """The time leases are reckoned on. On PostgreSQL, which several stations may share, the server's
        clock: a lease written by one station runs out when every other station says so, whatever their own
        clocks say. Otherwise (SQLite, a file of this computer; or a simulated clock) the store's clock."""
        if self.engine.dialect.name != "postgresql" or self.clock.virtual:
            return self.clock.utcnow()
        query = "SELECT clock_timestamp()"
        if conn is not None:
            return conn.exec_driver_sql(query).scalar_one().astimezone(UTC)
        with self.engine.connect() as own:
            return own.exec_driver_sql(query).scalar_one().astimezone(UTC)

    def take_lease(self, run_id: str, owner: str, until: datetime, now: datetime, *,
                   renewing: bool = False, replacing: str | None = None, station: str | None = None) -> bool:
        """Lease the run to ``owner`` until ``until`` if nobody holds it, its lease expired by ``now``, or
        ``owner`` holds it already; ``renewing``: only in that last case; ``replacing``: also if that holder
        (found gone) still holds it; ``station``: the station performing it from now on. True if ``owner``
        holds it now."""
        runs = schema.runs
        mine = runs.c.lease_owner == owner
        free = sa.or_(mine, runs.c.lease_owner.is_(None), runs.c.lease_until.is_(None), runs.c.lease_until <= now,
                      *([runs.c.lease_owner == replacing] if replacing is not None else []))
        with self._begin() as conn:
            values = {"lease_owner": owner, "lease_until": until} | ({"station": station} if station else {})
            result = conn.execute(runs.update().where(runs.c.run_id == run_id, mine if renewing else free)
                                  .values(**values))
        return result.rowcount == 1

    def release_lease(self, run_id: str, owner: str) -> None:
        """Give the run's lease up, if ``owner`` still holds it."""
        runs = schema.runs
        with self._begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id, runs.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))

    def append_readings(self, run_id: str, rows: list[dict[str, Any]], *, power_safe: bool = True) -> None:
        """Device samples, committed together: one packed row per site and kind in ``readings_pending``, folded
        into the chain in the same transaction (the next audit entry seals them into ``reading_blocks``).
        ``power_safe=False``: the commit survives a crash of the process but not a power cut (SQLite's
        ``synchronous=NORMAL`` in WAL mode, PostgreSQL's ``synchronous_commit=off``), for the readings of a
        simulated run, which commits every simulated second and has no patient."""
        if not rows:
            return
        texts: dict[datetime, str] = {}  # a write's readings mostly share one commit time: converted once

        def text(at: datetime) -> str:
            if at not in texts:
                texts[at] = _UTC.process_bind_param(at, None)
            return texts[at]

        blocks = []
        for (site, kind), group in groupby(rows, key=lambda r: (r.get("site"), r["kind"])):
            group = list(group)
            blocks.append(block(run_id, site, kind, [(text(r["at"]), r["t"], r["data"]) for r in group],
                                PENDING_LEVEL, at=group[-1]["at"]))
        if not power_safe and self.engine.dialect.name == "sqlite":
            with _RelaxedSQLiteWriting(self) as db:
                write_pending(db, "sqlite", blocks)
            return
        with _Writing(self, power_safe=power_safe) as conn:
            dbapi = conn.dialect.loaded_dbapi
            try:
                write_pending(conn.connection.driver_connection, conn.dialect.name, blocks)
            except dbapi.Error as exc:  # as SQLAlchemy's: the transaction turns it into StoreError
                raise sa.exc.DBAPIError.instance("readings_pending", None, exc, dbapi.Error,
                                                 dialect=conn.dialect) from exc

    def add_qc_result(self, *, analyzer: str, level: str, lot: str, target_mean: float, target_sd: float,
                      value: float, qc_run: str, at: datetime, who: str) -> int:
        """Record one control result (mmol/L) with its lot's target; audited."""
        if target_sd <= 0:
            raise ValidationError(f"QC lot {lot}: target SD must be above 0 mmol/L")
        row = {"analyzer": analyzer, "level": level, "lot": lot, "target_mean": float(target_mean),
               "target_sd": float(target_sd), "value": float(value), "qc_run": qc_run, "at": at, "who": who}
        with self._begin() as conn:
            new_id = conn.execute(schema.qc_results.insert().values(**row)).inserted_primary_key[0]
            append_audit(conn, who=who, what="qc_result", at=at, new={k: v for k, v in row.items() if k != "at"},
                         rows=[range_item(conn, "qc_results", new_id, new_id)])
        return int(new_id)

    def qc_results(self, analyzer: str, level: str) -> list[dict[str, Any]]:
        qc = schema.qc_results
        query = sa.select(qc).where(qc.c.analyzer == analyzer, qc.c.level == level).order_by(qc.c.at, qc.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- reads ---------------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.runs).where(schema.runs.c.run_id == run_id)).mappings().first()
        return None if row is None else _run(row)

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, without its method text (``get_run`` has it)."""
        columns = [c for c in schema.runs.c if c.name != "protocol_text"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).order_by(schema.runs.c.created_at)).mappings().all()
        return [_run(r) for r in rows]

    def events(self, run_id: str) -> list[StoredEvent]:
        ev = schema.events
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ev).where(ev.c.run_id == run_id).order_by(ev.c.seq)).mappings().all()
        return [StoredEvent(run_id=r["run_id"], seq=r["seq"], kind=r["kind"], site=r["site"], at=r["at"], t=r["t"],
                            data=r["data"], accepted=bool(r["accepted"])) for r in rows]

    def readings(self, run_id: str, site: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The run's readings in the order taken, one dict each (site, kind, at: when committed, t, data):
        the one way readings are read (traces in reports and QA pages, recovery)."""
        blocks = []
        with self.engine.connect() as conn:
            for table in (schema.reading_blocks, schema.readings_pending):  # sealed, then the latest writes
                query = sa.select(table.c.site, table.c.kind, table.c.data).where(table.c.run_id == run_id)
                if site is not None:
                    query = query.where(table.c.site == site)
                if kind is not None:
                    query = query.where(table.c.kind == kind)
                blocks += conn.execute(query.order_by(table.c.id)).all()
        when = UTCDateTime().process_result_value
        return [{"site": b.site, "kind": b.kind, "at": when(at, None), "t": t, "data": data}
                for b in blocks for at, t, data in unpack(b.data)]

    def reading(self) -> sa.Connection:
        """A connection (``with store.reading() as conn``) for reads that go together, made by the record's
        functions that take a connection."""
        return self.engine.connect()

    def writing(self) -> _Writing:
        """A write transaction (context manager yielding the connection); commits on leaving, database errors
        become ``StoreError``. Audit entries written with ``append_audit`` inside it commit with the change."""
        return _Writing(self)

    _begin = writing


class _Writing:
    """A transaction whose database errors become StoreError (the caller must not act on a lost write)."""

    def __init__(self, store: Store, power_safe: bool = True):
        self._engine = store.engine
        self._url = store.url
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self._relaxed_sqlite = not power_safe and store.engine.dialect.name == "sqlite"
        self._relaxed_postgres = not power_safe and store.engine.dialect.name == "postgresql"

    def __enter__(self) -> sa.Connection:
        try:
            self._conn = self._engine.connect().execution_options(writing=True)
            if self._relaxed_sqlite:  # set outside a transaction (SQLite refuses it inside one)
                self._conn.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")
            self._tx = self._conn.begin()
            if self._relaxed_postgres:
                self._conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            return self._conn
        except sa.exc.SQLAlchemyError as exc:
            if self._conn is not None:
                self._conn.close()
            raise StoreError(f"cannot write to the run store {_safe(self._url)}: {exc}") from None

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._conn is not None and self._tx is not None
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"cannot write to the run store {_safe(self._url)}: {err}") from None
        finally:
            if self._relaxed_sqlite:  # the pooled connection goes back power-safe
                self._conn.connection.driver_connection.execute("PRAGMA synchronous=FULL")
            self._conn.close()
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise StoreError(f"cannot write to the run store {_safe(self._url)}: {exc.orig or exc}") from exc
        return False


class _RelaxedSQLiteWriting:
    """``_Writing(store, power_safe=False)`` on SQLite, on a driver connection the store keeps for it: the same
    transaction (BEGIN IMMEDIATE) with ``synchronous=NORMAL``, without SQLAlchemy's work around each statement
    nor a pool checkout, for the readings of a simulated run, written every simulated second. The connection
    stays out of the pool while the store is open (pooled connections stay power-safe); one write at a time
    uses it. Yields the driver's connection; its errors become ``StoreError``, and a connection that failed is
    dropped (the next write opens another)."""

    def __init__(self, store: Store):
        self._store = store

    def _error(self, exc: BaseException) -> StoreError:
        return StoreError(f"cannot write to the run store {_safe(self._store.url)}: {exc}")

    def __enter__(self):
        store = self._store
        store._relaxed_lock.acquire()
        try:
            if store._relaxed is None:
                raw = store.engine.raw_connection()
                store._relaxed = raw
                raw.driver_connection.execute("PRAGMA synchronous=NORMAL")  # outside a transaction
            db = store._relaxed.driver_connection
            db.execute("BEGIN IMMEDIATE")
            return db
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
            store.drop_relaxed()
            store._relaxed_lock.release()
            raise self._error(exc) from None

    def __exit__(self, exc_type, exc, tb) -> bool:
        store = self._store
        try:
            db = store._relaxed.driver_connection
            try:
                db.execute("COMMIT" if exc_type is None else "ROLLBACK")
            except sqlite3.Error as err:
                store.drop_relaxed()
                raise self._error(err) from None
        finally:
            store._relaxed_lock.release()
        if isinstance(exc, sqlite3.Error):
            raise self._error(exc) from exc
        return False


def _state_columns(run, at: datetime) -> dict[str, Any]:
    """The run's state after an accepted event; once every site has its verdict, also the QA columns (QNS
    judged from the run as the events left it), and the reporting time."""
    values: dict[str, Any] = {"state": run.state, "updated_at": at}
    if run.state in JUDGED_STATES:
        measured, qns = qns_verdict(run)
        values |= {"sites_measured": measured, "qns": qns}
    if run.state == "reported":
        values["reported_at"] = at
    return values


def _audited(site: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """What an event's audit entry records as the new value: its data (without the actor) and its site."""
    new = {k: v for k, v in data.items() if k != "actor"}
    return new | {"site": site} if site else new


def _run(row) -> dict[str, Any]:
    out = dict(row)
    out["order"] = out.pop("order_json")
    return out


def _safe(url: str) -> str:
    """The URL without a password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unreadable URL>"
