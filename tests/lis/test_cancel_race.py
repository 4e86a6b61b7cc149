"""Races on the worklist (PostgreSQL; SQLite serializes its writers): a cancel (ORC-1 CA) racing with the start
of the order's run (an order whose run has started is never marked cancelled), two orders for one accession
at once (one is taken), the same message on two connections at once (one answer, applied once)."""

import contextlib
import threading

import pytest
import sqlalchemy as sa

from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import receive
from sweattest.record.store import schema
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


@pytest.mark.parametrize("again", [orm(control="M2", filler="F2002"), orm()], ids=["new-control-id", "same-message"])
def test_two_orders_for_one_accession_at_once_leave_one_on_the_worklist(store, monkeypatch, again):
    """Two stations (or a LIS that sent again, under a new MSH-10 or the same message, on a second connection)
    place the same accession at once: one order is taken; the other is refused, or, the same message, gets the
    same answer; the run can then start."""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): the second order cannot be placed inside the first")
    writing = store.writing
    second: dict = {}

    def place_the_same_accession_meanwhile():
        worker = threading.Thread(target=lambda: second.setdefault(
            "raw", receive(store, store.clock, again, LabConfig())))
        worker.start()
        while worker.is_alive() and not _blocked_by(store, second["pid"]):  # finishes, or waits for the first one
            worker.join(0.01)
        second["worker"] = worker

    @contextlib.contextmanager
    def racing():
        monkeypatch.setattr(store, "writing", writing)  # the second placement writes as usual
        with writing() as conn:
            second["pid"] = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            yield _RunStartsAfterTheCancelRead(conn, place_the_same_accession_meanwhile)

    monkeypatch.setattr(store, "writing", racing)
    raw = receive(store, store.clock, orm(), LabConfig())
    monkeypatch.undo()
    second["worker"].join(10)
    assert read_ack(raw).code == "AA"
    if again == orm():
        assert second["raw"] == raw  # the same message: the same answer
    else:
        answer = read_ack(second["raw"])
        assert answer.code == "AE" and "already on the worklist (open)" in answer.text
    with store.engine.connect() as conn:
        lo = schema.lis_orders
        assert conn.execute(sa.select(sa.func.count()).select_from(lo).where(lo.c.placer == "ACC-1001")).scalar() == 1
    with store.writing() as conn:
        mark_started(conn, "ACC-1001", "R-1", store.clock.utcnow(), "tech1")


def _blocked_by(store, pid: int) -> bool:
    """Whether a connection waits for a lock held by the transaction of ``pid``."""
    with store.engine.connect() as conn:
        blocked = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
        return bool(conn.execute(blocked, {"pid": pid}).scalar())


def test_the_same_adt_update_on_two_connections_at_once_is_applied_once(store, monkeypatch):
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): the second update cannot run inside the first")
    from tests.lis.test_adt import A08
    assert read_ack(receive(store, store.clock, orm(), LabConfig())).code == "AA"
    update = A08.format(control="U1")
    writing = store.writing
    second: dict = {}

    def the_same_update_meanwhile():
        worker = threading.Thread(target=lambda: second.setdefault(
            "raw", receive(store, store.clock, update, LabConfig())))
        worker.start()
        while worker.is_alive() and not _blocked_by(store, second["pid"]):
            worker.join(0.01)
        second["worker"] = worker

    @contextlib.contextmanager
    def racing():
        monkeypatch.setattr(store, "writing", writing)
        with writing() as conn:
            second["pid"] = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            yield _RunStartsAfterTheCancelRead(conn, the_same_update_meanwhile)

    monkeypatch.setattr(store, "writing", racing)
    raw = receive(store, store.clock, update, LabConfig())
    monkeypatch.undo()
    second["worker"].join(10)
    assert read_ack(raw).code == "AA" and second["raw"] == raw
    assert len(find(store, "ACC-1001").order["updates"]) == 1
