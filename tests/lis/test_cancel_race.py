"""A cancel (ORC-1 CA) racing with the start of the order's run, on both backends: whichever commits first
wins, and the other is refused; an order whose run has started is never marked cancelled."""

import contextlib

import pytest
import sqlalchemy as sa

from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import receive
from sweattest.record.worklist import find, mark_started
from tests.lis.messages import orm
from tests.store import backends

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


class _RunStartsAfterTheCancelRead:
    """The cancel's connection: right after the cancel has read the order (still open), the run starts and
    commits in another transaction."""

    def __init__(self, conn, start_run):
        self.conn, self.start_run, self.fired = conn, start_run, False

    def execute(self, statement, *args, **kwargs):
        result = self.conn.execute(statement, *args, **kwargs)
        if not self.fired and isinstance(statement, sa.Select) and "lis_orders" in str(statement):
            self.fired = True
            self.start_run()
        return result

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_cancel_read_before_the_run_started_does_not_cancel_the_started_order(store, monkeypatch):
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): the run cannot start inside the cancel")
    assert read_ack(receive(store, store.clock, orm(), LabConfig())).code == "AA"
    writing = store.writing

    def start_run():
        with writing() as conn:
            mark_started(conn, "ACC-1001", "R-1", store.clock.utcnow(), "tech1")

    @contextlib.contextmanager
    def racing():
        with writing() as conn:
            yield _RunStartsAfterTheCancelRead(conn, start_run)

    monkeypatch.setattr(store, "writing", racing)
    raw = receive(store, store.clock, orm(control="C1", control_code="CA"), LabConfig())
    monkeypatch.undo()
    answer = read_ack(raw)
    assert answer.code == "AE" and "its test has started (run R-1)" in answer.text
    assert "\rORC|UC|" in raw
    order = find(store, "ACC-1001")
    assert (order.state, order.run_id) == ("started", "R-1")
