"""The skin check after stimulation (CLSI C34: burns are the main hazard): a known grade, and a note for a
blister or a burn, which are adverse events."""

import pytest

from sweattest.core.errors import ValidationError
from sweattest.core.rules.skin import skin_check


@pytest.mark.parametrize("grade", ["none", "erythema", " Erythema "])
def test_no_reaction_and_redness_need_no_note(grade):
    check = skin_check(grade)
    assert check.grade == grade.strip().lower() and not check.adverse


@pytest.mark.parametrize("grade", ["blister", "burn"])
def test_a_blister_or_a_burn_is_an_adverse_event_with_its_note(grade):
    check = skin_check(grade, "  2 mm blister at the anode,\n dressed; Dr P told ")
    assert check.adverse and check.note == "2 mm blister at the anode, dressed; Dr P told"


@pytest.mark.parametrize("grade, note, message", [
    ("rash", "", "skin reaction 'rash' is not a grade; choose one of none, erythema, blister, burn"),
    ("", "", "left forearm: choose how its skin looks where the electrodes were (no reaction, redness, blister or "
             "burn); nothing is chosen for you"),
    (None, "", "nothing is chosen for you"),
    ("burn", "   ", "a burn is an adverse event: write what you saw and did in the note"),
    ("blister", None, "a blister is an adverse event"),
    ("erythema", "x" * 501, "keep it under 500"),
])
def test_bad_entries_are_refused_with_the_fix(grade, note, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        skin_check(grade, note, "left forearm")
