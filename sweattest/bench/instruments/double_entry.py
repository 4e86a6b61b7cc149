"""A reading typed by people: entered twice, the second blind to the first, and accepted only when both
agree. Both entries and their authors are kept with the reading; pairs that disagreed are kept too."""

from __future__ import annotations

from sweattest.bench.instruments.roles import Person, Reading
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.units import format_quantity

#: Pairs the tech may enter before the reading is given up (the step then fails like a silent device).
MAX_PAIRS = 3


def agree(a, b) -> bool:
    """Two typed quantities agree when they are the same value in the same unit system, to the digit."""
    return abs(a.to(b.units).magnitude - b.magnitude) <= 1e-9 * max(1.0, abs(b.magnitude))


def double_entry(person: Person, what: str, dimension: str, label: str, *, second_person: bool = False,
                 max_pairs: int = MAX_PAIRS) -> Reading:
    disagreed: list[dict] = []
    for _ in range(max_pairs):
        first, by1 = person.enter_reading(what, dimension, label, 1)
        second, by2 = person.enter_reading(what, dimension, label, 2)
        if second_person and by2 == by1:
            raise ValidationError(f"{label}: the second entry must be made by a second tech, not by {by1}")
        entries = [{"value": format_quantity(first), "by": by1}, {"value": format_quantity(second), "by": by2}]
        if agree(first, second):
            return Reading(first, {"entry": "manual, entered twice", "entries": entries,
                                   **({"disagreed": disagreed} if disagreed else {})})
        disagreed.append({"entries": entries})
        # neither value is shown: the next pair's second entry stays blind to what was typed
        person.tell(f"{label}: the two entries disagree; read the instrument again and enter the value twice (the "
                    "values typed are kept with the reading, not shown).")
    raise DeviceError(f"{label}: the entries disagreed {max_pairs} times; nothing was accepted.",
                      device="manual entry", action="Check the instrument's display and repeat the measurement.")
