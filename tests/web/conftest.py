"""Fixtures: a web app on a temp SQLite store and a sped-up virtual clock, with one user per role."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store
from sweattest.web.accounts import Accounts, default_accounts
from sweattest.web.app import create_app

PASSWORD = "correct horse 42"
USERS = {"tech": ("tech1", "Tess Tech"), "reviewer": ("rev1", "Rita Reviewer"), "qa": ("qa1", "Quinn Assurance"),
         "admin": ("admin1", "Ada Admin")}


def accounts_for_tests(store) -> Accounts:
    """The real account services, with one user per role (a store a command-line run used has tech1 already)."""
    accounts = default_accounts()
    for role, (username, name) in USERS.items():
        if accounts.users.get_user(store, username) is None:
            accounts.users.add_user(store, username, name, role, PASSWORD, actor="setup")
    return accounts


def make_web_app(folder):
    """The app on a fresh SQLite store in ``folder``, training instruments, one user per role."""
    clock = VirtualClock(speed=2000)
    store = open_store(str(folder / "runs.db"), clock)
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=None)
    yield app
    app.state.web.bench.close()
    store.close()


@pytest.fixture
def web_app(tmp_path):
    yield from make_web_app(tmp_path)


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the client's session (any page renders it; the log-in page is public)."""
    import re
    html = client.get("/login").text
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(client: TestClient, role: str) -> None:
    client.cookies.clear()
    token = csrf_of(client)
    r = client.post("/login", data={"username": USERS[role][0], "password": PASSWORD, "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.fixture
def client(web_app):
    with TestClient(web_app, base_url="http://127.0.0.1") as c:
        yield c


CHROMIUM = "/usr/bin/chromium"
#: A screenshot (a full page, in software rendering) may wait long on a machine busy with a parallel test run:
#: its own timeout, not playwright's 30 s.
SHOT_TIMEOUT_MS = 120_000
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module, with a profile of its own: no cookie or
    storage of another module's server (all on 127.0.0.1) reaches this module's."""
    import shutil
    import tempfile

    playwright_api = pytest.importorskip("playwright.sync_api")
    profile = tempfile.mkdtemp(prefix="sweattest-chromium-")
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                       viewport={"width": 1100, "height": 900})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def shots():
    """A folder for the browser tests' screenshots (printed, to look at them)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="sweattest-screens-"))
    print(f"screenshots in {folder}")
    return folder


class Served:
    """A web app under uvicorn in a thread of this process, on 127.0.0.1."""

    def __init__(self, app, port: int = 0, **options):
        """Listens once this returns. ``port`` 0: one the system picks, bound here before uvicorn starts, so tests
        running side by side (pytest-xdist workers) never race for a port; a given ``port`` is bound again
        (a station restarted on the address its browser knows)."""
        import socket
        import threading

        import uvicorn

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    **options))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(timeout=0.05)
        assert self.server.started, "the web server did not start"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 15) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)
