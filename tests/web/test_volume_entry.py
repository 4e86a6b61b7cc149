"""The volume typed at the bench: one number and a unit, refused at once when it is anything else.

Typing ``9**9**9`` once froze the whole server while pint evaluated it; ``35,5`` was stored as 355 uL.
Each bad entry is refused within milliseconds, the prompt stays open, and the runner keeps waiting for
a good value, which it then receives unchanged.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from sweattest.bench.station.prompts import OperatorGone, WebOperator
from sweattest.core.errors import ValidationError
from sweattest.core.units import Q_


@pytest.fixture
def waiting():
    """A runner thread waiting at the read-volume prompt; yields (operator, prompt id, answers, thread)."""
    op = WebOperator("tech1")
    answers: list = []
    runner = threading.Thread(target=lambda: answers.append(op.read_volume("left_forearm")), daemon=True)
    runner.start()
    for _ in range(500):
        if op.prompt is not None:
            break
        runner.join(timeout=0.01)
    assert op.prompt is not None and op.prompt.kind == "read_volume"
    yield op, op.prompt.id, answers, runner
    op.close()
    runner.join(timeout=5)


@pytest.mark.parametrize("typed, message", [
    ("9**9**9 uL", "cannot read '9**9**9' as a number"),
    ("9**9**9", "cannot read '9**9**9' as a number"),
    ("1e999999 uL", "1e999999: the exponent is outside -30 to 30"),
    ("NaN uL", "'NaN uL' is not a number"),
    ("nan", "'nan' is not a number"),
    ("inf uL", "'inf uL' is not a number"),
    ("-Infinity uL", "'-Infinity uL' is not a number"),
    ("35,5 uL", "35,5: use a decimal point (35.5), not a comma"),
    ("1,000 uL", "1,000: use a decimal point"),
    ("(35) uL", "cannot read '(35)' as a number"),
    ("35.5 mg", "35.5 mg is not a volume"),
    ("uL", "'uL' has no number"),
    ("", "empty value"),
    ("0 uL", "enter the volume above 0"),
    ("-0.001 mL", "enter the volume above 0"),
])
def test_a_bad_volume_is_refused_at_once_and_nothing_is_taken(waiting, typed, message):
    op, prompt_id, answers, runner = waiting
    started = time.perf_counter()
    with pytest.raises(ValidationError) as err:
        op.confirm(prompt_id, typed)
    assert time.perf_counter() - started < 0.25  # refused in milliseconds; the server is not frozen
    assert message in str(err.value)
    assert "left_forearm" in str(err.value) or "volume" in str(err.value)
    assert op.prompt is not None and op.prompt.id == prompt_id and answers == []  # still waiting; nothing stored
    op.confirm(prompt_id, "35.5 uL")  # the tech corrects the entry on the same prompt
    runner.join(timeout=5)  # returns as soon as the runner has taken the answer
    assert answers == [Q_(35.5, "uL")]


@pytest.mark.parametrize("dimension, typed, message", [
    ("mass", "nan mg", "'nan mg' is not a number"),
    ("mass", "9**9**9 mg", "cannot read '9**9**9' as a number"),
    ("mass", "1e999999 g", "the exponent is outside -30 to 30"),
    ("mass", "1012,4 mg", "1012,4: use a decimal point (1012.4), not a comma"),
    ("concentration", "inf mmol/L", "'inf mmol/L' is not a number"),
    ("concentration", "(45) mmol/L", "cannot read '(45)' as a number"),
])
def test_a_typed_instrument_reading_follows_the_same_grammar(dimension, typed, message):
    op = WebOperator("tech1")
    answers: list = []
    def wait_for_the_tech():
        with contextlib.suppress(OperatorGone):  # the bench closes at the end of the test
            answers.append(op.enter_reading("weight", dimension, "weight", 1))
    runner = threading.Thread(target=wait_for_the_tech, daemon=True)
    runner.start()
    for _ in range(500):
        if op.prompt is not None:
            break
        runner.join(timeout=0.01)
    prompt_id = op.prompt.id
    started = time.perf_counter()
    with pytest.raises(ValidationError, match="^weight: ") as err:  # what is read, not the whole prompt again
        op.confirm(prompt_id, typed)
    assert time.perf_counter() - started < 0.25 and message in str(err.value)
    assert op.prompt is not None and answers == []
    op.close()
    runner.join(timeout=5)


# (typed, refused with, source)
IMPLAUSIBLE = [
    ("5000 uL", "5000.0 µL is above the 85 µL maximum (Macroduct 3710 manual", "Macroduct 3710: coil about 85 uL"),
    ("22 mL", "22000.0 µL is above the 85 µL maximum", "Macroduct 3710: the worksheet's 22,000 uL typed in mL"),
    ("85.5 uL", "85.5 µL is above the 85 µL maximum", "Macroduct 3710: just over what the coil holds"),
]


@pytest.mark.parametrize(("typed", "message", "source"), IMPLAUSIBLE)
def test_a_volume_the_coil_cannot_hold_is_refused_on_the_prompt(typed, message, source):
    from sweattest.core.protocol import load_protocol

    op = WebOperator("tech1", protocol=load_protocol("macroduct"))
    answers: list = []
    runner = threading.Thread(target=lambda: answers.append(op.read_volume("left_forearm")), daemon=True)
    runner.start()
    for _ in range(500):
        if op.prompt is not None:
            break
        runner.join(timeout=0.01)
    prompt_id = op.prompt.id
    with pytest.raises(ValidationError) as err:
        op.confirm(prompt_id, typed)
    assert message in str(err.value), source
    assert op.prompt is not None and op.prompt.id == prompt_id and answers == [], source  # still waiting
    op.confirm(prompt_id, "85 uL")  # the coil's full capacity is accepted
    runner.join(timeout=5)
    assert answers == [Q_(85, "uL")]
