"""A command's store is opened for it by the context and closed on every path: a result, a refused password, a
bad input found after the store was opened, an interruption."""

from __future__ import annotations

import io

import pytest

from sweattest.cli import context
from sweattest.cli.main import main
from tests.conftest import PERFORMER_PASSWORD, add_performer


@pytest.fixture
def stores(monkeypatch):
    """Every store a command opens, and whether it was closed."""
    opened = []
    real = context.open_store

    def open_store(url):
        store = real(url)
        opened.append(store)
        close = store.close
        store.closed = False

        def closing():
            store.closed = True
            close()

        store.close = closing
        return store

    monkeypatch.setattr(context, "open_store", open_store)
    return opened


def _password(monkeypatch, password: str) -> list[str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return ["--as", "tech1", "--password-stdin"]


def test_the_store_is_closed_whatever_the_command_ends_in(db_url, stores, monkeypatch, capsys):
    add_performer(db_url)
    assert main(["audit", "verify", "--db", db_url]) == 0  # a result
    assert main(["audit", "show", "R1", "--db", db_url, *_password(monkeypatch, "wrong")]) == 1  # refused
    assert "authentication failed" in capsys.readouterr().err
    assert main(["resume", "NOPE", "--db", db_url, *_password(monkeypatch, PERFORMER_PASSWORD)]) == 2  # bad input
    assert "no run 'NOPE'" in capsys.readouterr().err

    def interrupted(*_args, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("sweattest.cli.audit.verify", interrupted)
    assert main(["audit", "verify", "--db", db_url]) == 130  # Ctrl-C
    assert len(stores) == 4 and all(s.closed for s in stores)


def test_a_command_that_needs_no_store_opens_none(stores, capsys):
    assert main(["protocol", "diagram"]) == 0 and "stateDiagram" in capsys.readouterr().out
    assert stores == []
