"""Skin reactions and competency records on both backends: stored with their audit entries, refused whole when
wrong (nothing written), append-only in the database, and a change behind the program's back named by
`sweattest audit verify`."""

from datetime import date

import pytest
import sqlalchemy as sa

from sweattest.core.errors import StoreError, ValidationError
from sweattest.record.audit import verify
from sweattest.record.competency import add_record, latest_assessment, list_records
from sweattest.record.skin_reactions import record_skin_reaction, run_skin_reactions
from tests.store import backends
from tests.store.backends import make_run
from tests.store.test_record_chain import _tamper

store_url, store, clock, staff = backends.store_url, backends.store, backends.clock, backends.staff  # both backends


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _assess(store, clock, **kw):
    values = {"operator": "tech1", "kind": "assessment", "what": "Macroduct collection, observed",
              "done_on": "2026-11-02", "assessor": "Rita Reviewer", "outcome": "pass", "next_due": "2027-11-02",
              "recorded_by": "rev1", "at": clock.utcnow()} | kw
    return add_record(store, **values)


def _build_recorded(staff, clock):
    backends.add_staff(staff)
    make_run(staff, clock, inducer="WS-17")
    record_skin_reaction(staff, "R1", "left_forearm", ("none", ""), who="tech1", at=clock.utcnow())
    record_skin_reaction(staff, "R1", "right_forearm", ("burn", "5 mm burn at the anode; Dr P told"), who="tech1",
                         at=clock.utcnow())
    _assess(staff, clock)
    assert verify(staff).intact


built_source, recorded = backends.built_store(_build_recorded, "recorded")  # both backends; each test on its own copy


def test_skin_reactions_are_kept_per_site_with_their_audit_entries(recorded):
    reactions = run_skin_reactions(recorded, "R1")
    assert {s: (r.grade, r.adverse) for s, r in reactions.items()} == {
        "left_forearm": ("none", False), "right_forearm": ("burn", True)}
    with recorded.engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT what, why FROM audit WHERE what = 'skin_reaction' ORDER BY id")).all()
    assert [tuple(e) for e in entries] == [("skin_reaction", None), ("skin_reaction", "adverse event")]


def test_a_correction_is_a_new_row_and_the_latest_counts(recorded):
    record_skin_reaction(recorded, "R1", "left_forearm", ("erythema", "faint redness"), who="tech1",
                         at=recorded.clock.utcnow())
    assert run_skin_reactions(recorded, "R1")["left_forearm"].grade == "erythema"
    assert _count(recorded, "skin_reactions") == 3 and verify(recorded).intact


@pytest.mark.parametrize("check, run_id, message", [
    (("scald", ""), "R1", "skin reaction 'scald' is not a grade"),
    (("burn", ""), "R1", "a burn is an adverse event: write what you saw"),
    (("none", ""), "R9", "run R9: no such run"),
])
def test_a_wrong_skin_entry_is_refused_and_nothing_is_written(recorded, check, run_id, message):
    rows, entries = _count(recorded, "skin_reactions"), _count(recorded, "audit")
    with pytest.raises(ValidationError, match=message):
        record_skin_reaction(recorded, run_id, "left_forearm", check, who="tech1", at=recorded.clock.utcnow())
    assert (_count(recorded, "skin_reactions"), _count(recorded, "audit")) == (rows, entries)


@pytest.mark.parametrize("change, message", [
    ({"operator": "nobody"}, "operator 'nobody' is not a user of this store"),
    ({"kind": "exam"}, "kind 'exam': use one of training, assessment"),
    ({"outcome": "ok"}, "outcome 'ok': use pass or fail"),
    ({"what": "  "}, "what: say what was trained or assessed"),
    ({"assessor": ""}, "assessor: give who trained or assessed"),
    ({"done_on": "02/11/2026"}, "date '02/11/2026': use a date such as"),
    ({"done_on": "2027-01-01"}, "date 2027-01-01: is in the future"),
    ({"next_due": "2026-11-01"}, "next due 2026-11-01: must be after the date of this assessment"),
])
def test_a_wrong_competency_record_is_refused_and_nothing_is_written(recorded, change, message):
    rows, entries = _count(recorded, "competency_records"), _count(recorded, "audit")
    with pytest.raises(ValidationError, match=message):
        _assess(recorded, recorded.clock, **change)
    assert (_count(recorded, "competency_records"), _count(recorded, "audit")) == (rows, entries)


def test_the_latest_assessment_counts(recorded):
    _assess(recorded, recorded.clock, done_on="2026-11-10", outcome="fail", next_due=None)
    _assess(recorded, recorded.clock, kind="training", done_on="2026-11-12", what="refresher", outcome="pass")
    latest = latest_assessment(list_records(recorded, "tech1"))
    assert (latest.done_on, latest.outcome) == (date(2026, 11, 10), "fail")


@pytest.mark.parametrize("table", ["skin_reactions", "competency_records"])
def test_the_database_refuses_changing_the_records(recorded, table):
    with pytest.raises((sa.exc.DatabaseError, StoreError), match="append-only"):
        with recorded.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {table} SET id = id"))


def test_a_burn_turned_into_no_reaction_is_caught(recorded):
    with recorded.engine.connect() as conn:
        burn = conn.execute(sa.text("SELECT id FROM skin_reactions WHERE grade = 'burn'")).scalar_one()
    _tamper(recorded, "UPDATE skin_reactions SET grade = 'none', note = '' WHERE id = :id", id=burn)
    result = verify(recorded)
    assert not result.intact and (result.table, result.row) == ("skin_reactions", f"{burn} (run R1)")


def test_a_failed_assessment_turned_into_a_pass_is_caught(recorded):
    failed = _assess(recorded, recorded.clock, outcome="fail", next_due=None)
    _tamper(recorded, "UPDATE competency_records SET outcome = 'pass' WHERE id = :id", id=failed.id)
    result = verify(recorded)
    assert not result.intact and (result.table, result.row) == ("competency_records", str(failed.id))
    assert "changed" in result.problem


def test_a_removed_skin_reaction_is_caught(recorded):
    _tamper(recorded, "DELETE FROM skin_reactions WHERE grade = 'burn'")
    result = verify(recorded)
    assert not result.intact and result.table == "skin_reactions" and "removed" in result.problem
