"""What the tech does by hand at the bench. The UI and the console ask a person; simulation acts itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pint

from sweattest.core.rules.skin import SkinCheck


class Operator(Protocol):
    name: str
    #: called about once a second while a person is waited for (the run service sets the lease renewal)
    keep_alive: Callable[[], None]

    def place_on_balance(self, site: str, purpose: str) -> None:
        """Put the site's sealed collection container on the balance (``purpose``: "pre" or "post")."""

    def apply_collector(self, site: str) -> None:
        """Remove the electrodes, clean the skin and apply the collector (collection starts now)."""

    def check_skin(self, site: str) -> SkinCheck:
        """The skin of the site as the electrodes came off: none, erythema, blister or burn, with a note
        (required for a blister or a burn; ``sweattest.core.rules.skin``)."""

    def read_volume(self, site: str) -> pint.Quantity:
        """Read the collected volume off the Macroduct coil."""

    def run_control(self, level: str, lot: str, target: pint.Quantity | None = None) -> None:
        """Put the control material of ``level`` (lot ``lot``; its target mean ``target``) into the chloridometer
        and start it."""

    def load_analyzer(self, site: str, sample_id: str) -> None:
        """Put the site's sample into the chloridometer and start the analysis."""

    # What an instrument without a host link asks of the tech (sweattest.bench.instruments.roles.Person).
    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[pint.Quantity, str]:
        """Type the reading shown on the instrument (``entry`` 1, then 2 blind to the first); returns the value
        (parsed by the one number grammar, re-asked until valid) and the user name of who typed it."""

    def confirm_device_started(self, site: str, text: str) -> None:
        """The tech started a stand-alone device with its own button."""

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        """None if the stand-alone device completed without an error light, else the error it showed."""

    def offer_manual_entry(self, site: str, text: str) -> bool:
        """Optional: the analyzer gave no result after every attempt; True if the tech will type the result
        shown on its display (twice, blind) rather than write the sample off. Without it, the sample is
        written off with the reason."""

    def enter_sodium(self, site: str, label: str) -> tuple[pint.Quantity | None, str]:
        """Optional: after a reportable chloride, the sweat sodium of the same sample as its instrument shows it
        (parsed by the one number grammar), or None when it was not measured; and who typed it."""

    def tell(self, text: str) -> None:
        """A line for the tech that needs no answer (e.g. two entries disagreed)."""
