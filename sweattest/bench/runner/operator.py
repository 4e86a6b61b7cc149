"""What the tech does by hand at the bench. The UI and the console ask a person; simulation acts itself."""

from __future__ import annotations

from typing import Protocol

import pint


class Operator(Protocol):
    name: str

    def place_on_balance(self, site: str, purpose: str) -> None:
        """Put the site's sealed collection container on the balance (``purpose``: "pre" or "post")."""

    def apply_collector(self, site: str) -> None:
        """Remove the electrodes, clean the skin and apply the collector (collection starts now)."""

    def read_volume(self, site: str) -> pint.Quantity:
        """Read the collected volume off the Macroduct coil."""

    def run_control(self, level: str, lot: str) -> None:
        """Put the control material of ``level`` (lot ``lot``) into the chloridometer and start it."""

    def load_analyzer(self, site: str, sample_id: str) -> None:
        """Put the site's sample into the chloridometer and start the analysis."""
