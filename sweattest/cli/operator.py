"""The tech at a terminal: each manual step is a prompt on standard output answered on standard input.

At a terminal the tech presses Enter to confirm a step and types a reading with its unit. When standard input
is not a terminal each prompt reads one line (an empty line confirms; an entry is a number with its unit), so a
run can be scripted. Standard input ending while a step waits stops the run safely (outputs off).
"""

from __future__ import annotations

import contextlib
import os
import sys
import termios
from collections.abc import Iterator
from typing import TextIO

import pint

from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.rules.checklist import CHECKLIST, check_confirmed
from sweattest.core.rules.skin import ADVERSE, GRADES, SkinCheck, skin_check
from sweattest.core.units import parse_quantity

#: Wrong entries accepted for one prompt before the step is given up.
MAX_TRIES = 5


class InputEnded(SweatTestError):
    """Standard input ended while a step waited for the tech; the run stops with every output off."""


class ConsoleOperator:
    """The tech at this terminal: each step of a run that waits for a person, asked in the console's words (the
    bench station's prompts: ``sweattest.cli.at_station``), and the pre-stimulation checklist."""

    def __init__(self, name: str, stdin: TextIO | None = None, out: TextIO | None = None):
        self.name = name
        self.stdin = stdin or sys.stdin
        self.out = out or sys.stdout

    def _line(self, prompt: str, hidden: bool = False) -> str:
        """One answer. ``hidden``: at a terminal, what is typed is not shown (as a password is not), so nobody at
        the screen, the second tech included, sees it; scripted input is read as it comes."""
        with _no_echo(self.stdin if hidden else None) as muted:  # off before the prompt: nothing typed is shown
            self.out.write(f"\n>>> {prompt}\n> ")
            self.out.flush()
            line = self.stdin.readline()  # the bench station keeps the run's lease while the tech reads
        if muted:
            self.out.write("(typed; not shown)\n" if line.strip() else "\n")
            self.out.flush()
        if not line:
            raise InputEnded(f"standard input ended while waiting for: {prompt}")
        return line.strip()

    def confirm(self, text: str, action: str) -> None:
        """A step done by hand, confirmed with Enter."""
        self._line(f"{text} [Enter: {action}]")

    def _quantity(self, prompt: str, dimension: str, where: str, hidden: bool = False) -> pint.Quantity:
        for _ in range(MAX_TRIES):
            text = self._line(prompt, hidden)
            try:
                value = parse_quantity(text, dimension, where)
            except ValidationError as exc:
                self.tell(f"not accepted: {exc}")
                continue
            if value.magnitude <= 0:
                self.tell(f"not accepted: {text}: enter a value above 0")
                continue
            return value
        raise ValidationError(f"{where}: no valid entry after {MAX_TRIES} tries; the step is given up")

    # -- the Operator protocol -----------------------------------------------------------------------
    def place_on_balance(self, site: str, purpose: str) -> None:
        when = "empty, before collection" if purpose == "pre" else "with the collected sweat"
        self.confirm(f"{_label(site)}: put the sealed collection container on the balance ({when}) and close "
                      "the draught shield.", "weigh")

    def apply_collector(self, site: str) -> None:
        self.confirm(f"{_label(site)}: remove the electrodes, clean and dry the skin, apply the collector.",
                      "collector applied, start the timer")

    def confirm_checklist(self) -> dict:
        """The pre-stimulation checklist (the bench screens' items), each confirmed with Enter before any current;
        anything typed instead stops here: ValidationError, nothing is run."""
        confirmed: list[str] = []
        for number, (key, text) in enumerate(CHECKLIST, 1):
            answer = self._line(f"Before any current ({number} of {len(CHECKLIST)}): {text}. [Enter: confirmed; or "
                                "type what is not right]")
            if answer:
                raise ValidationError(f"not confirmed before stimulation: {text} ({answer}); put it right, then start "
                                      "the run again; nothing was run")
            confirmed.append(key)
        return {"items": list(check_confirmed(confirmed)), "by": self.name}

    def check_skin(self, site: str) -> SkinCheck:
        """One line: the grade the tech saw, typed (Enter alone chooses nothing and is asked again), and after a
        colon the note (asked again for a blister or a burn without one)."""
        for _ in range(MAX_TRIES):
            text = self._line(f"{_label(site)}: look at the skin as the electrodes came off and type what you see: "
                              f"{' | '.join(GRADES)} (none: no reaction); for a blister or a burn add ': ' and your "
                              "note")
            grade, _, note = text.partition(":")
            try:
                if grade.strip().lower() in ADVERSE and not note.strip():
                    note = self._line(f"{_label(site)}: a {grade.strip().lower()} is an adverse event: write what "
                                      "you saw and did (size, care given, clinician told)")
                return skin_check(grade, note, _label(site))
            except ValidationError as exc:
                self.tell(f"not accepted: {exc}")
        raise ValidationError(f"{_label(site)}: no valid skin entry after {MAX_TRIES} tries; the step is given up")

    def read_volume(self, site: str) -> pint.Quantity:
        return self._quantity(f"{_label(site)}: remove the collector and read the sweat volume on the coil; "
                              "type it with its unit (e.g. 35.5 uL)", "volume", f"volume of {_label(site)}")

    def run_control(self, level: str, lot: str, target: pint.Quantity | None = None) -> None:
        self.confirm(f"Quality control: put the {level} control (lot {lot}) into the chloride analyzer and start "
                      "it.", "control loaded")

    def load_analyzer(self, site: str, sample_id: str) -> None:
        self.confirm(f"{_label(site)}: load sample {sample_id} into the chloride analyzer and start it.",
                      "sample loaded")

    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[pint.Quantity, str]:
        """Both entries of a double entry are typed unseen at a terminal: the second is blind to the first."""
        again = " again (second entry: read the display yourself)" if entry == 2 else ""
        value = self._quantity(f"Type the {label} shown on the instrument{again}, with its unit (not shown as you "
                               "type)", dimension, label, hidden=True)
        return value, self.name

    def enter_sodium(self, site: str, label: str) -> tuple[pint.Quantity | None, str]:
        """The optional sodium after the site's chloride: Enter when it was not measured."""
        for _ in range(MAX_TRIES):
            text = self._line(f"Type the {label} with its unit (e.g. 52 mmol/L), if measured: a check on the "
                              "chloride, never a result. [Enter: not measured]")
            if not text:
                return None, self.name
            try:
                value = parse_quantity(text, "concentration", label)
            except ValidationError as exc:
                self.tell(f"not accepted: {exc}")
                continue
            if value.magnitude < 0:
                self.tell(f"not accepted: {text}: a sodium is not negative")
                continue
            return value, self.name
        raise ValidationError(f"{label}: no valid entry after {MAX_TRIES} tries; the step is given up")

    def offer_manual_entry(self, site: str, text: str) -> bool:
        """Before a sample is written off: type the analyzer's displayed result instead (twice, blind)?"""
        answer = self._line(f"{_label(site)}: {text} If the analyzer shows a result, type it from its display, twice "
                            "(the second entry blind). [Enter: type it; or type no to write the sample off]")
        return answer.strip().lower() not in ("no", "n")

    def confirm_device_started(self, site: str, text: str) -> None:
        self.confirm(text, "started")

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        answer = self._line(f"{text} [Enter: yes, completed; or type the error it showed]")
        return answer or None

    def tell(self, text: str) -> None:
        self.out.write(f"  {text}\n")
        self.out.flush()


@contextlib.contextmanager
def _no_echo(stream: TextIO | None) -> Iterator[bool]:
    """Echo off on ``stream`` while the block runs, if it is a terminal; yields whether it was turned off."""
    try:
        fd = stream.fileno() if stream is not None else -1
        muted = fd >= 0 and os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        muted = False
    if not muted:
        yield False
        return
    before = termios.tcgetattr(fd)
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


def _label(site: str) -> str:
    return site.replace("_", " ")
