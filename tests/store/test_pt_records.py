"""Proficiency-testing records on both backends: written with their audit entries, append-only, chained; a
changed or removed row is named by `audit verify`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sweattest.core.errors import ValidationError
from sweattest.qa.pt import awaiting_corrective_action, grade_event
from sweattest.record import proficiency as pt
from sweattest.record.audit import verify
from tests.store import backends
from tests.store.test_record_chain import _tamper

store_url, store, clock = backends.store_url, backends.store, backends.clock  # both backends


@pytest.fixture
def graded(store, clock):
    pt.add_event(store, provider="UK NEQAS", scheme="Sweat", event_code="NQ-1", received_on="2026-11-02",
                 due_on="2026-11-30", who="rev1")
    pt.add_sample(store, event_code="NQ-1", sample_id="NQ-1-A", who="rev1")
    pt.set_targets(store, sample_id="NQ-1-A", target="40", low="35", high="45", who="rev1")
    grade_event(store, "NQ-1", clock, who="rev1")
    return store


def test_a_failed_event_waits_for_its_corrective_action_and_everything_verifies(graded, clock):
    assert [e["event_code"] for e in awaiting_corrective_action(graded)] == ["NQ-1"]
    clock.sleep(60)
    pt.add_corrective_action(graded, event_code="NQ-1", found="sample not run", done="logged on receipt",
                             done_by="Rita Reviewer", done_on="2026-12-01", who="rev1")
    assert awaiting_corrective_action(graded) == []
    result = verify(graded)
    assert result.intact, result.message()
    with graded.engine.connect() as conn:
        whats = conn.execute(sa.text("SELECT what FROM audit ORDER BY id")).scalars().all()
    assert whats == ["pt_event", "pt_sample", "pt_targets", "pt_grades", "pt_corrective_action"]


@pytest.mark.parametrize(("statement", "table", "row"), [
    ("UPDATE pt_grades SET grade = 'acceptable'", "pt_grades", "1"),
    ("UPDATE pt_events SET due_on = '2026-12-31'", "pt_events", "1"),
    ("DELETE FROM pt_grades", "pt_grades", "1"),
    ("UPDATE pt_targets SET low = 30", "pt_targets", "1"),
])
def test_a_changed_pt_record_is_named(graded, statement, table, row):
    _tamper(graded, statement)
    result = verify(graded)
    assert (result.intact, result.table, result.row) == (False, table, row)


def test_pt_rows_cannot_be_changed_through_the_database(graded):
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), graded.engine.begin() as conn:
        conn.execute(sa.text("UPDATE pt_targets SET high = 99"))


def test_an_unknown_event_refuses_and_writes_nothing(store):
    with pytest.raises(ValidationError, match="PT event 'NQ-9' is not recorded"):
        pt.add_sample(store, event_code="NQ-9", sample_id="X1", who="rev1")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit")).scalar_one() == 0
