"""Store fixtures for both backends, and runs built event by event (import the fixtures into a test module).

``store`` runs every test on SQLite and on PostgreSQL (127.0.0.1:5432, database ``test``; each test gets
a fresh schema, dropped afterwards). PostgreSQL tests skip when the server is unreachable, except when
CI=true or SWEATTEST_REQUIRE_POSTGRES=1: then an unreachable server fails the test.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sweattest.core.clock import VirtualClock
from sweattest.core.protocol import load_protocol
from sweattest.core.units import Q_
from sweattest.record.runs import record_event
from sweattest.record.store.store import Store

PG_URL = os.environ.get("SWEATTEST_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("SWEATTEST_REQUIRE_POSTGRES") == "1"


def postgres_schema_url() -> tuple[str, sa.Engine, str]:
    """A URL whose connections use a fresh schema; skips (or fails in CI) when PostgreSQL is unreachable."""
    admin = sa.create_engine(PG_URL)
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except (sa.exc.OperationalError, ImportError) as exc:
        admin.dispose()
        if postgres_required():
            pytest.fail(f"PostgreSQL at {PG_URL} is required here (CI) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable")
    return f"{PG_URL}?options=-csearch_path%3D{name}", admin, name


def drop_schema(admin: sa.Engine, name: str) -> None:
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path, tmp_path_factory):
    """An empty store's URL; when the test opens it as ``store``, a copy of a store migrated once per worker
    process (the migrations are the same for every test), so that the test starts at once."""
    if "store" in request.fixturenames:
        migrated = _migrated_sqlite(tmp_path_factory) if request.param == "sqlite" else _migrated_postgres()
        with _copy_of(migrated, tmp_path) as url:
            yield url
        return
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
        return
    url, admin, name = postgres_schema_url()
    yield url
    drop_schema(admin, name)


#: Stores migrated once per worker process, copied by ``store_url`` for each test that opens a store.
_MIGRATED: dict[str, Any] = {}


def _migrated_sqlite(tmp_path_factory) -> Path:
    if "sqlite" not in _MIGRATED:
        path = tmp_path_factory.mktemp("migrated") / "runs.db"
        Store(f"sqlite:///{path}", VirtualClock(start=START)).close()
        _MIGRATED["sqlite"] = path
    return _MIGRATED["sqlite"]


def _migrated_postgres() -> str:
    if "postgres" not in _MIGRATED:
        admin, database = _postgres_database()
        Store(_database_url(database), VirtualClock(start=START)).close()
        _MIGRATED["postgres"] = database
        atexit.register(_drop_database, admin, database)
    return _MIGRATED["postgres"]


#: Databases copied for tests, dropped by a thread of their own (a drop waits on the server's checkpoint; the
#: next test need not), and every one dropped before the worker exits.
_DROPS: queue.Queue = queue.Queue()


_DROPPER: threading.Thread | None = None


def _drop_later(admin: sa.Engine, name: str) -> None:
    global _DROPPER
    if _DROPPER is None:
        _DROPPER = threading.Thread(target=_dropper, name="drop-test-databases", daemon=True)
        _DROPPER.start()
        atexit.register(_DROPS.join)
    _DROPS.put((admin, name))


def _dropper() -> None:
    while True:
        admin, name = _DROPS.get()
        try:
            _drop_database(admin, name)
        except sa.exc.SQLAlchemyError:
            pass  # a test database left behind: harmless, and never one a later test reuses
        finally:
            _DROPS.task_done()


def built_store(build: Callable[[Store, VirtualClock], None], name: str):
    """Fixtures giving each test its own copy of the store that ``build(store, clock)`` fills, built once per
    test module and backend: ``name`` (the copy, opened on a virtual clock where the build left it; its URL is
    ``.url`` and its clock ``.clock``) and ``built_source`` (the store built, never opened by a test; one per
    module). A copy is a file copy on SQLite and ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, so a test may
    write to it."""

    @pytest.fixture(scope="module", params=["sqlite", "postgres"], name="built_source")
    def source(request, tmp_path_factory):
        if request.param == "sqlite":
            yield built_sqlite(build, tmp_path_factory)
            return
        clock = VirtualClock(start=START)
        admin, database = _postgres_database()
        try:
            _build(build, _database_url(database), clock)
            yield database, clock.utcnow()
        finally:
            _drop_database(admin, database)

    @pytest.fixture(name=name)
    def copy(built_source, tmp_path):
        source, at = built_source
        with _copy_of(source, tmp_path) as url:
            store = Store(url, VirtualClock(start=at))
            yield store
            store.close()

    return source, copy


#: SQLite stores built by ``built_sqlite``, by their build function: (the file, the build's clock at its end).
_BUILT_SQLITE: dict[Callable[[Store, VirtualClock], None], tuple[Path, datetime]] = {}


def built_sqlite(build: Callable[[Store, VirtualClock], None], tmp_path_factory) -> tuple[Path, datetime]:
    """The SQLite store that ``build(store, clock)`` fills (on a virtual clock from ``START``), built once per
    worker process, and the clock where the build left it. Never opened again: tests open copies of it."""
    if build not in _BUILT_SQLITE:
        path = tmp_path_factory.mktemp(build.__name__.strip("_")) / "runs.db"
        clock = VirtualClock(start=START)
        _build(build, f"sqlite:///{path}", clock)
        _BUILT_SQLITE[build] = path, clock.utcnow()
    return _BUILT_SQLITE[build]


def _build(build: Callable[[Store, VirtualClock], None], url: str, clock: VirtualClock) -> None:
    store = Store(url, clock)
    try:
        build(store, clock)
    finally:
        store.close()


@contextlib.contextmanager
def _copy_of(source: Path | str, tmp_path: Path) -> Iterator[str]:
    """The URL of a copy of ``source`` (a SQLite file, or a PostgreSQL database's name) for one test: a file
    copy in ``tmp_path``, or ``CREATE DATABASE ... TEMPLATE``, dropped after the test by ``_drop_later``."""
    if isinstance(source, Path):
        target = tmp_path / source.name
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    admin, database = _postgres_database(template=source)
    try:
        yield _database_url(database)
    finally:
        _drop_later(admin, database)


def _postgres_database(template: str | None = None) -> tuple[sa.Engine, str]:
    """A new database (a copy of ``template``); skips (or fails in CI) when PostgreSQL is unreachable."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    except (sa.exc.OperationalError, ImportError) as exc:
        admin.dispose()
        if postgres_required():
            pytest.fail(f"PostgreSQL at {PG_URL} is required here (CI) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable")
    return admin, name


def _database_url(database: str) -> str:
    return sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock():
    return VirtualClock(start=START)


@pytest.fixture
def store(store_url, clock):
    s = Store(store_url, clock)
    yield s
    s.close()


def make_run(store, clock, run_id: str = "R1", *, operator: str = "tech1", sites=("left_forearm", "right_forearm"),
             volumes=(40, 40), chlorides=(45, 48), dob: str = "2025-06-01", accession: str | None = None,
             qc: str = "in_control", patient: dict | None = None, purpose: str = "patient",
             order_extra: dict | None = None, inducer: str | None = None, judge: bool = True) -> str:
    """A volumetric (Macroduct) run taken to result_ready through the procedure core, event by event.
    A volume under 15 µL makes its site QNS. ``qc``: the analytical run's controls are "in_control" (at
    their targets), "rejected" (the normal control 5 SD high) or "missing" (none run). ``patient``: replaces
    the patient's MRN and names. ``purpose``: why the run is performed (patient, simulated, ...);
    ``inducer``: the serial number ``check_ready`` records for the inducer. ``judge``: the controls' verdict is
    recorded (False: a store as a migration before 22 left it, without verdicts)."""
    order = {"accession": accession or f"ST-{run_id}", "method": "macroduct", "sites": list(sites),
             "operator": operator, "patient": {"mrn": "MRN1", "dob": dob, "family": "Doe", "given": "J",
                                               "sex": "F"} | (patient or {}),
             "ordering_provider": "Dr P", "pilocarpine_lot": {"lot": "PG1", "expires": "2027-01-31"},
             **(order_extra or {})}
    store.create_run(run_id, accession=order["accession"], method="macroduct", operator=operator,
                     patient_mrn=order["patient"]["mrn"], created_at=clock.utcnow(), order=order,
                     protocol=load_protocol("macroduct"), purpose=purpose)

    def ev(kind, site=None, **data):
        clock.sleep(10)
        record_event(store, clock, run_id, kind, site=site, data=data, actor=operator)

    ev("verify_patient")
    ev("check_ready", **({"instruments": {"inducer": {"serial_number": inducer}}} if inducer else {}))
    for site in sites:
        ev("start_stimulation", site)
        clock.sleep(300)
        ev("finish_stimulation", site, charge=Q_(2.5, "mA*min"))
        ev("start_collection", site)
    clock.sleep(1800)
    qc_run = None if qc == "missing" else _controls(store, clock, operator, rejected=qc == "rejected",
                                                    purpose=purpose, judge=judge)
    for site, volume, chloride in zip(sites, volumes, chlorides, strict=True):
        ev("finish_collection", site)
        ev("measure_sample", site, volume=Q_(volume, "uL"))
        if volume >= 15:
            ev("analyze", site, chloride=Q_(chloride, "mmol/L"), qc_run=qc_run)
    return run_id


def _controls(store, clock, who: str, *, rejected: bool, purpose: str = "patient", judge: bool = True) -> str:
    """Both control levels of today's analytical run, as the bench records them (once per day)."""
    from sweattest.record.analytical_qc import current_run, judge_and_record, qc_run_id
    from sweattest.record.qc_lots import DEFAULT_ANALYZER, SEED_LOTS

    if judge:
        qc_run, measured = current_run(store, DEFAULT_ANALYZER, clock.utcnow().date(), purpose)
    else:  # no verdicts in the store: the day's run, named as stores before migration 22 named every run
        qc_run = qc_run_id(DEFAULT_ANALYZER, clock.utcnow().date())
        measured = any(r["qc_run"] == qc_run for r in store.qc_results(DEFAULT_ANALYZER, "normal"))
    if not measured:
        for level, lot, mean, sd in SEED_LOTS:
            value = mean + 5 * sd if rejected and level == "normal" else mean
            store.add_qc_result(analyzer=DEFAULT_ANALYZER, level=level, lot=lot, target_mean=mean, target_sd=sd,
                                value=value, qc_run=qc_run, at=clock.utcnow(), who=who)
        if judge:
            judge_and_record(store, qc_run, who=who)
    return qc_run


@pytest.fixture
def staff(store):
    """The store with a tech (tech1, the runs' operator) and a reviewer (rev1)."""
    return add_staff(store)


def add_staff(store):
    """A tech (tech1, the runs' operator) and a reviewer (rev1) in ``store``."""
    from sweattest.record.users import add_user

    add_user(store, "tech1", "Tina Tech", "tech", "tech password")
    add_user(store, "rev1", "Rita Reviewer", "reviewer", "review password")
    return store


def sign_performed(store, clock, run_id: str = "R1") -> None:
    """The operator tech1 (``staff``) signs the run "performed", as a run needs before its review."""
    from sweattest.record.signoff import sign

    sign(store, clock, run_id, "tech1", "tech password", "performed")


def signed(monkeypatch, url: str, username: str = "qa1") -> list[str]:
    """The options of a command line that asks for a user (``--as``, the password on stdin): ``username`` (a
    reviewer) is added to the store at ``url`` if missing, and its password is put on stdin for one command."""
    import io

    from sweattest.record.users import add_user, get_user

    store = Store(url, VirtualClock(start=START))
    try:
        if get_user(store, username) is None:
            add_user(store, username, "Quinn Assurance", "reviewer", "qa password 1", actor="setup")
    finally:
        store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("qa password 1\n"))
    return ["--as", username, "--password-stdin"]
