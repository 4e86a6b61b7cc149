"""The tech's part of a run at a bench station, asked on its screens: each step the runner needs done by hand is
published as a ``Prompt`` and the runner waits until a tech confirms it (``WebOperator``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pint

from sweattest.bench.simulation.world import SimulatedOperator
from sweattest.core.errors import ValidationError
from sweattest.core.protocol import Protocol
from sweattest.core.rules.adequacy import check_plausible
from sweattest.core.rules.skin import SkinCheck, skin_check
from sweattest.core.units import format_quantity, parse_quantity


class OperatorGone(Exception):
    """The bench session was closed while the runner waited for the tech (server stopping)."""


@dataclass(frozen=True)
class Prompt:
    """One thing the tech must do by hand, and the button that says it is done."""

    id: int
    kind: str  # place_on_balance | apply_collector | check_skin | read_volume | run_control | load_analyzer
    #          | enter_reading | device_started | device_completed | offer_manual_entry
    site: str  # "" for a step of the analytical run (QC), not of one site
    text: str
    action: str
    purpose: str | None = None
    sample_id: str | None = None
    hint: str | None = None
    level: str | None = None
    lot: str | None = None
    dimension: str | None = None  # enter_reading: mass | concentration
    entry: int | None = None  # enter_reading: 1, or 2 (blind to the first)
    label: str | None = None  # enter_reading: what is read, in the tech's words ("chloride of sample 1")
    said: str | None = None  # offer_manual_entry: the runner's own words (a terminal adds its own choice)


#: Prompts whose answer is a measured value: only the run's operator enters them (the second, blind entry of
#: a double-entered reading may be another tech's).
MEASURED = ("read_volume", "enter_reading", "enter_sodium")


class WebOperator:
    """The Operator protocol for the browser: each call publishes a prompt and blocks until confirmed.
    With ``simulated`` set, the confirmed action is also performed on the simulators.

    ``name`` is the run's operator. Another logged-in bench user may confirm a step of the run; what follows
    is recorded under that person and their station (``acting``). Measured values are the operator's own:
    anyone else is refused."""

    def __init__(self, name: str, simulated: SimulatedOperator | None = None, protocol: Protocol | None = None,
                 station: str | None = None):
        self.name = name
        #: (person, station) the runner records the next events under: whoever confirmed the last step
        self.acting: tuple[str, str | None] = (name, station)
        self.simulated = simulated
        #: the run's method: a volume it cannot yield is refused on the prompt, before the runner takes it
        self.protocol = protocol
        self.prompt: Prompt | None = None
        self._cond = threading.Condition()
        self._answer: Any = None
        self._answered = False
        self._closed = False
        self._ids = 0
        self.notice: str | None = None  # the last message that needed no answer (e.g. entries disagreed)
        #: called about once a second while a person is waited for (the runner's lease renewal)
        self.keep_alive: Callable[[], None] = lambda: None
        #: called when the prompt appears or is answered (the screens' read model)
        self.on_change: Callable[[], None] = lambda: None
        #: called with each message that needs no answer (a terminal that follows the run prints it)
        self.on_tell: Callable[[str], None] = lambda text: None

    def _ask(self, kind: str, site: str, text: str, action: str, **extra: Any) -> Any:
        with self._cond:
            self._ids += 1
            self.prompt = Prompt(self._ids, kind, site, text, action, **extra)
            self._answered = False
            self.on_change()
            while not self._answered:
                if self._closed:
                    raise OperatorGone("the bench session was closed")
                self._cond.wait(timeout=1.0)  # a person is being waited for; no procedure time involved
                self.keep_alive()
            self.prompt = None
            self.on_change()
            return self._answer

    def confirm(self, prompt_id: int, value: str | pint.Quantity | None = None, *, by: str | None = None,
                device_error: str | None = None, station: str | None = None,
                skin: tuple[str, str] | None = None, write_off: bool = False) -> None:
        """The tech's confirmation from the browser; a stale prompt (other tab, double click) is refused, and
        so is a measured value from anyone but the run's operator. ``by`` is the user who confirmed, at
        ``station``; ``device_error`` the error a stand-alone device showed; ``skin`` the grade and note of a
        skin check (refused here, with the prompt kept, if the grade is unknown or a burn has no note)."""
        with self._cond:
            prompt = self.prompt
            if prompt is None or prompt.id != prompt_id or self._answered:  # answered, not yet taken up
                raise ValidationError("this step was already confirmed (another tab or a double click); "
                                      "the screen now shows the current step")
            by = by or self.name
            if by != self.name and prompt.kind in MEASURED and prompt.entry != 2:
                raise ValidationError(f"only the run's operator ({self.name}) enters its measured values; "
                                      f"{by} cannot. Ask {self.name} to enter it, or to stop the run")
            answer: Any = None
            if prompt.kind == "read_volume":
                answer = parse_quantity("" if value is None else value, "volume",
                                        f"volume read off the coil ({prompt.site})")
                if answer.to("uL").magnitude <= 0:
                    shown = format_quantity(answer) if isinstance(value, pint.Quantity) else value
                    raise ValidationError(f"volume {shown}: read the coil again; enter the volume above 0")
                if self.protocol is not None:
                    check_plausible(self.protocol, answer)
            elif prompt.kind == "enter_reading":
                assert prompt.dimension is not None
                answer = (parse_quantity("" if value is None else value, prompt.dimension,
                                         prompt.label or prompt.dimension),
                          by or self.name)
            elif prompt.kind == "enter_sodium":  # optional: nothing typed means not measured
                answer = (None if value is None else parse_quantity(value, "concentration", prompt.label or "sodium"),
                          by)
            elif prompt.kind == "device_completed":
                answer = (device_error or "").strip() or None
            elif prompt.kind == "check_skin":
                grade, note = skin or ("", "")
                answer = skin_check(grade, note, _label(prompt.site))
            elif prompt.kind == "offer_manual_entry":
                answer = not write_off
            self.acting = (by, station)
            self._answer, self._answered = answer, True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- the Operator protocol ---------------------------------------------------------------------
    def place_on_balance(self, site: str, purpose: str) -> None:
        when = "before collection (empty)" if purpose == "pre" else "with the collected sweat"
        self._ask("place_on_balance", site, f"Put the sealed collection container for {_label(site)} on the "
                  f"balance {when}. Close the draught shield.", "It is on the balance: weigh", purpose=purpose)
        if self.simulated:
            self.simulated.place_on_balance(site, purpose)

    def apply_collector(self, site: str) -> None:
        self._ask("apply_collector", site, f"Remove the electrodes from {_label(site)}, wipe the skin with "
                  "deionised water, dry it and apply the collector over the stimulated area.",
                  "Collector applied: start the timer")
        if self.simulated:
            self.simulated.apply_collector(site)

    def check_skin(self, site: str) -> SkinCheck:
        return self._ask("check_skin", site, f"Look at the skin of {_label(site)} where the electrodes were (under "
                         "the collector's edge and around it): no reaction, redness (erythema), a blister or a burn? "
                         "A blister or a burn needs a note.", "Save the skin check")

    def read_volume(self, site: str) -> pint.Quantity:
        hint = None
        if self.simulated:
            hint = f"Training: the coil shows {format_quantity(self.simulated.read_volume(site))}"
        return self._ask("read_volume", site, f"Remove the collector from {_label(site)} and read the sweat "
                         "volume on the coil.", "Save the volume", hint=hint)

    def run_control(self, level: str, lot: str, target: pint.Quantity | None = None) -> None:
        self._ask("run_control", "", f"Today's quality control: put the {level} control (lot {lot}) into the "
                  "chloridometer and press its start key.", "Control loaded: analyse", level=level, lot=lot)
        if self.simulated:
            self.simulated.run_control(level, lot, target)

    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[pint.Quantity, str]:
        blind = " (second entry: read the display again yourself; the first entry is not shown)" if entry == 2 else ""
        return self._ask("enter_reading", "", f"Enter the {label} shown on the instrument{blind}.",
                         "Save the entry", dimension=dimension, entry=entry, label=label)

    def enter_sodium(self, site: str, label: str) -> tuple[pint.Quantity | None, str]:
        return self._ask("enter_sodium", site, f"If the {label} was measured, enter it: a check on the chloride, "
                         "never a result. Leave the field empty if it was not measured.", "Save",
                         dimension="concentration", label=label)

    def confirm_device_started(self, site: str, text: str) -> None:
        self._ask("device_started", site, text, "Started on the device")

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        return self._ask("device_completed", site, text, "Completed without an error light")

    def offer_manual_entry(self, site: str, text: str) -> bool:
        """Before a sample is written off (``sweattest.bench.runner.analysis.manual_result``): type the result the
        analyzer shows on its display, twice, the second entry blind, or write the sample off."""
        return self._ask("offer_manual_entry", site, f"{text} If the chloridometer shows a result on its display, "
                         "type it, twice: the second entry does not show the first. Otherwise the sample is written "
                         "off with the reason.", "Type the result from its display", said=text)

    def tell(self, text: str) -> None:
        self.notice = text
        self.on_tell(text)

    def load_analyzer(self, site: str, sample_id: str) -> None:
        self._ask("load_analyzer", site, f"Load sample {sample_id} ({_label(site)}) into the chloridometer and "
                  "press its start key.", "Sample loaded: analyse", sample_id=sample_id)
        if self.simulated:
            self.simulated.load_analyzer(site, sample_id)


def _label(site: str) -> str:
    return site.replace("_", " ")


__all__ = ["MEASURED", "OperatorGone", "Prompt", "WebOperator"]
