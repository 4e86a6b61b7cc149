"""Shared fixtures: a fresh SQLite store and the demo's order and scenario as files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

# Compiled modules are written even where the environment asks for none (PYTHONDONTWRITEBYTECODE): the test
# modules' rewritten asserts (and those of hypothesis, imported below) are then kept between the suite's
# processes, and the processes the tests start (stations, simulators, command lines, pytest itself) write and
# load the modules only they import compiled instead of compiling them again each time.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from hypothesis import settings as hypothesis_settings  # noqa: E402

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO  # noqa: E402
from sweattest.record import users  # noqa: E402

#: The product's scrypt cost. The tests hash their users' passwords at a low cost instead: a stored hash names
#: the cost it was made with, so every check (in the test process or a command it starts) reads it back and the
#: same code runs; tests/test_users.py checks the product's cost with the ``product_password_cost`` fixture.
PRODUCT_SCRYPT_N = users.SCRYPT_N
users.SCRYPT_N = 2**4


@pytest.fixture
def product_password_cost(monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_N", PRODUCT_SCRYPT_N)


# Property tests check what holds, not how fast: a worker sharing two cores with others (`-n 3`) may take a
# few hundred milliseconds over one example, which is no failure.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture(scope="session", autouse=True)
def _own_user_data_folder(tmp_path_factory):
    """A command given no store uses the user's data folder: in the tests, one of this test process's own (never
    the user's, never shared by tests running side by side)."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'runs.db'}"


#: The bench user who performs runs from the command line in tests (the demo order's operator).
PERFORMER, PERFORMER_PASSWORD = "tech1", "tech1 bench password"


def add_performer(db_url: str) -> None:
    """tech1, with ``PERFORMER_PASSWORD``, in the store at ``db_url`` (a URL or a SQLite path)."""
    from sweattest.record.store.store import open_store
    from sweattest.record.users import add_user, get_user

    store = open_store(str(db_url))
    try:
        if get_user(store, PERFORMER) is None:
            add_user(store, PERFORMER, "Tina Tech", "tech", PERFORMER_PASSWORD, actor="setup")
    finally:
        store.close()


@contextlib.contextmanager
def as_performer(db_url: str, password: str = PERFORMER_PASSWORD):
    """For `sweattest run`: tech1 exists in the store at ``db_url``, the password is on stdin while the block
    runs; yields the options ``--as tech1 --password-stdin``."""
    add_performer(db_url)
    with mock.patch("sys.stdin", io.StringIO(password + "\n")):
        yield ["--as", PERFORMER, "--password-stdin"]


@pytest.fixture
def order_doc():
    return copy.deepcopy(DEMO_ORDER)


@pytest.fixture
def scenario_doc():
    return copy.deepcopy(DEMO_SCENARIO)


@pytest.fixture
def write_json(tmp_path):
    def write(name: str, doc) -> str:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture(autouse=True)
def _no_inducer_latched_from_another_test():
    """The faulty-inducer latch lasts for the process; each test starts with none latched."""
    from drivers import inducer_latch

    inducer_latch.clear()
    yield
    inducer_latch.clear()


ROOT = Path(__file__).resolve().parents[1]


class Simulators:
    """Simulated instruments started as separate processes on pseudo-terminals (`sweattest simulate ...`)."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, device: str, *args: str) -> str:
        """Start ``sweattest simulate DEVICE ARGS``; returns the device path it prints first."""
        [path] = self.start_all((device, *args))
        return path

    def start_all(self, *commands: tuple[str, ...]) -> list[str]:
        """Start one simulator per ``(DEVICE, *ARGS)``, side by side; their device paths, in that order."""
        procs = [subprocess.Popen([sys.executable, "-m", "sweattest", "simulate", *command], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT) for command in commands]
        self.procs.extend(procs)
        paths = [proc.stdout.readline().strip() for proc in procs]
        for proc, path in zip(procs, paths, strict=True):
            assert path.startswith("/dev/"), proc.stderr.read()
        return paths

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def simulators():
    sims = Simulators()
    yield sims
    sims.stop()


#: The test modules that drive the browser. Run in parallel (the README's `-n 3 --dist loadscope`), they all go to
#: one worker, first, as one unit (one chromium, never two side by side), while the other workers take the other
#: modules, a module at a time (their module fixtures made once).
BROWSER_MODULES = frozenset({"tests/web/test_accessibility.py", "tests/web/test_browser_restart.py",
                             "tests/web/test_e2e_browser.py", "tests/web/test_e2e_instruments.py",
                             "tests/web/test_e2e_screens.py"})
BROWSER_SCOPE = "browser"


def pytest_collection_modifyitems(config, items):
    """A test module that drives the browser must be one of ``BROWSER_MODULES``."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if "browser" in getattr(item, "fixturenames", ()) and path not in BROWSER_MODULES:
            raise pytest.UsageError(f"{path} drives the browser: add it to BROWSER_MODULES in tests/conftest.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with the browser's modules as one scope, sent first."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserFirst(LoadScopeScheduling):
        """The workers' own collection order is kept (the controller sends indexes into it); only the order in
        which scopes are handed out changes: the browser's first, then the scopes with the most tests."""

        def __init__(self, config, log=None):
            super().__init__(config, log)
            config.option.loadscopereorder = True  # the queue by number of tests, largest first

        def _split_scope(self, nodeid: str) -> str:
            return BROWSER_SCOPE if nodeid.split("::", 1)[0] in BROWSER_MODULES else super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if BROWSER_SCOPE in self.workqueue:
                self.workqueue.move_to_end(BROWSER_SCOPE, last=False)
            super()._assign_work_unit(node)

    return BrowserFirst(config, log)


#: The QA desk user of the command line in tests: QA commands show patient data and ask who is asking.
QA_USER, QA_PASSWORD = "qa1", "qa desk password"


def qa_main(monkeypatch, argv: list[str], *, user: str = QA_USER, role: str = "qa") -> int:
    """``main(argv)`` as ``user`` (added with ``role`` to the store of ``argv``'s --db the first time; default
    the QA user qa1), with the password on stdin."""
    from sweattest.cli.main import main
    from sweattest.record.store import schema
    from sweattest.record.store.chain import append_audit
    from sweattest.record.store.store import open_store
    from sweattest.record.users import get_user, hash_password

    db = argv[argv.index("--db") + 1]
    store = open_store(str(db))
    try:
        if get_user(store, user) is None:  # straight into the store: the test's admin password is not known here
            from sweattest.record.store.rowhash import keyed_item

            now = store.clock.utcnow()
            with store.writing() as conn:
                conn.execute(schema.users.insert().values(
                    username=user, full_name=f"{user.upper()} Desk", role=role, active=True,
                    password_hash=hash_password(QA_PASSWORD), created_at=now, password_changed_at=now))
                append_audit(conn, who="setup", what="add_user", at=now,
                             new={"username": user, "full_name": f"{user.upper()} Desk", "role": role,
                                  "active": True},
                             rows=[keyed_item(conn, "users", user), keyed_item(conn, "user_access", user)])
    finally:
        store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO(QA_PASSWORD + "\n"))
    return main([*argv, "--as", user, "--password-stdin"])
