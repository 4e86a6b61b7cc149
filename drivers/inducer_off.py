"""What an inducer confirmed when it was switched off: the two barriers of each channel, as read back.

Barrier one is the setpoint (``SOUR<n>:CURR 0``, read back with ``SOUR<n>:CURR?``); barrier two is the
output relay (``OUTP<n> OFF``, read back with ``OUTP<n>?``). Either alone stops the current; the inducer is
trusted only when both are confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelOff:
    """One channel's off check: each read-back reply in the order of the attempts (``no valid reply`` when
    the device did not answer a number)."""

    channel: int
    setpoint_zero: bool
    output_off: bool
    setpoint_reads: tuple[str, ...]
    output_reads: tuple[str, ...]

    @property
    def confirmed(self) -> bool:
        return self.setpoint_zero and self.output_off

    def describe(self) -> str:
        """E.g. ``setpoint 0 confirmed; output NOT confirmed off (OUTP1? read 1 twice)``."""
        ch = self.channel
        setpoint = ("setpoint 0 confirmed" if self.setpoint_zero else
                    f"setpoint NOT confirmed 0 (SOUR{ch}:CURR? {_reads(self.setpoint_reads)})")
        output = ("output confirmed off" if self.output_off else
                  f"output NOT confirmed off (OUTP{ch}? {_reads(self.output_reads)})")
        return f"{setpoint}; {output}"


@dataclass(frozen=True)
class OffReport:
    """The result of ``Inducer.safe_off``: every channel's barriers, the first one asked about first."""

    channels: tuple[ChannelOff, ...]
    #: the inducer was declared faulty by this off check (latched: never commanded on again)
    faulty: bool = False

    @property
    def confirmed(self) -> bool:
        return all(c.confirmed for c in self.channels)

    @property
    def output_off(self) -> bool:
        """Every output relay read back open."""
        return all(c.output_off for c in self.channels)

    @property
    def setpoint_zero(self) -> bool:
        return all(c.setpoint_zero for c in self.channels)

    def describe(self) -> str:
        """What was and was not confirmed: the first channel always, other channels only when not confirmed."""
        if not self.channels:
            return "no channel to check (a stand-alone inducer ends its current by itself)"
        shown = [self.channels[0], *(c for c in self.channels[1:] if not c.confirmed)]
        if len(shown) == 1:
            return shown[0].describe()
        return "; ".join(f"channel {c.channel}: {c.describe()}" for c in shown)


def _reads(replies: tuple[str, ...]) -> str:
    if not replies:
        return "not read"
    if len(replies) == 2 and replies[0] == replies[1]:
        return f"read {replies[0]} twice"
    return "read " + ", then ".join(replies)


_BARRIERS = (r"setpoint (?:0 confirmed|NOT confirmed 0 \([^)]*\)); "
             r"output (?:confirmed off|NOT confirmed off \([^)]*\))")
#: What ``OffReport.describe()`` writes, found in any text (a screen shows one off check once).
DESCRIPTION = re.compile(rf"(?:channel \d+: )?{_BARRIERS}(?:; channel \d+: {_BARRIERS})*")
