"""Senders' clocks are not this installation's: the order placer, the ADT feed and a second LIS each stamp MSH-7
with their own clock, which may be behind or ahead. Orders, cancels and patient updates take effect in the
order they are received, never reordered or dropped by MSH-7; MSH-7 is recorded as sent."""

from datetime import UTC, datetime

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.worklist import receive
from sweattest.record.store.store import open_store
from sweattest.record.worklist import find, open_orders
from tests.lis.messages import orm
from tests.lis.test_adt import A08

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=NOW))
    yield store
    store.close()


def _stamped(message: str, at: str, sender: str | None = None) -> str:
    """``message`` with MSH-7 ``at`` (and MSH-3 ``sender``)."""
    fields = message.split("|", 7)
    fields[6] = at
    if sender is not None:
        fields[2] = sender
    return "|".join(fields)


def _code(store, message: str) -> str:
    answer = read_ack(receive(store, store.clock, message, LabConfig()))
    store.clock.advance(60)
    return answer.code


def test_an_update_from_a_feed_whose_clock_is_behind_is_applied(store):
    assert _code(store, _stamped(orm(), "20261120080000")) == "AA"
    behind = _stamped(A08.format(control="U1"), "20261120070000")  # the ADT feed's clock: an hour behind HIS's
    assert _code(store, behind) == "AA"
    order = find(store, "ACC-1001")
    assert order.order["patient"]["family"] == "Doe-Smith"
    [update] = order.order["updates"]
    assert (update["sender"], update["sent"], update["at"]) == ("ADT^HOSPITAL", "20261120070000",
                                                                "2026-11-20T08:01:00+00:00")


def test_updates_from_two_systems_apply_in_the_order_received_whatever_their_msh7(store):
    assert _code(store, orm()) == "AA"
    ahead = _stamped(A08.format(control="R1"), "20261120120000", "REG")  # registration: clock hours ahead
    behind = _stamped(A08.format(control="U1").replace("|20250602|", "|20250603|"), "20261120060000")
    assert _code(store, ahead) == _code(store, behind) == "AA"
    order = find(store, "ACC-1001")
    assert order.order["patient"]["dob"] == "2025-06-03"  # the last received wins, not the latest MSH-7
    assert [(u["control_id"], u["sender"]) for u in order.order["updates"]] == [("R1", "REG^HOSPITAL"),
                                                                                ("U1", "ADT^HOSPITAL")]


def test_a_cancel_stamped_before_its_order_still_cancels_and_a_reorder_stamped_earlier_is_taken(store):
    assert _code(store, _stamped(orm(), "20261120080000")) == "AA"
    assert _code(store, _stamped(orm(control="C1", control_code="CA"), "20261120075900")) == "AA"
    assert find(store, "ACC-1001").state == "cancelled"
    again = _stamped(orm(control="M2", filler="F2002"), "20261120075000")
    assert _code(store, again) == "AA"
    order = find(store, "ACC-1001")
    assert (order.state, order.filler) == ("open", "F2002")


def test_orders_from_a_sender_whose_clock_is_ahead_keep_their_place_on_the_worklist(store):
    assert _code(store, _stamped(orm(placer="ACC-1"), "20261121080000", "LAB2")) == "AA"  # a day ahead
    assert _code(store, _stamped(orm(control="M2", placer="ACC-2"), "20261120080000")) == "AA"
    assert [o.accession for o in open_orders(store)] == ["ACC-1", "ACC-2"]  # as received
    cancel = _stamped(orm(control="C1", placer="ACC-1", control_code="CA"), "20261120080100", "LAB2")
    assert _code(store, cancel) == "AA" and find(store, "ACC-1").state == "cancelled"
