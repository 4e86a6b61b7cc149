"""Why a run was performed. Only patient runs count in the lab's QA figures about patient testing; the
others are named to be counted (``--purpose``, the QA pages' purpose filter)."""

from __future__ import annotations

from sweattest.core.errors import ValidationError

PATIENT = "patient"
SIMULATED = "simulated"  # `run --simulate`, the demo
TRAINING = "training"  # the web bench of `serve --simulate`
PROFICIENCY = "proficiency"  # a blinded proficiency-testing sample (docs/pt.md)
PURPOSES = (PATIENT, SIMULATED, TRAINING, PROFICIENCY)
ALL = "all"


def parse_purposes(values: list[str] | tuple[str, ...] | None, option: str = "--purpose") -> tuple[str, ...]:
    """The purposes asked for (``all``: every one); none asked: patient runs only."""
    if not values:
        return (PATIENT,)
    chosen: list[str] = []
    for value in values:
        value = value.strip().lower()
        if value == ALL:
            return PURPOSES
        if value not in PURPOSES:
            raise ValidationError(f"{option} {value!r}: use one of {', '.join(PURPOSES)} or {ALL}")
        if value not in chosen:
            chosen.append(value)
    return tuple(chosen)


def check_purpose(value: str) -> str:
    if value not in PURPOSES:
        raise ValidationError(f"run purpose {value!r}: use one of {', '.join(PURPOSES)}")
    return value


def describe(purposes: tuple[str, ...]) -> str:
    """How a heading names the runs counted: "patient runs", "patient and simulated runs", "all runs"."""
    if set(purposes) == set(PURPOSES):
        return "all runs"
    names = [p for p in PURPOSES if p in purposes]
    return (" and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)) + " runs"
