"""Inducers declared faulty in this process: an inducer that could not be confirmed safe is never
commanded on again until the program is restarted after the device was checked.

Keyed by the inducer's identity: the port it was opened on and, once ``*IDN?`` has been read, its serial
number. A different device plugged into the same port (another serial number) is not latched; the same
device is latched however it was identified.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

#: What the tech must do when an inducer was declared faulty (shown with every refusal and alarm).
FAULTY_ACTION = ("Switch the inducer off at its power switch now and remove the electrodes from the patient; "
                 "take the inducer out of service and call engineering.")


@dataclass(frozen=True)
class FaultyInducer:
    port: str
    serial: str | None
    reason: str

    def matches(self, port: str, serial: str | None) -> bool:
        return self.port == port and (self.serial is None or serial is None or self.serial == serial)


_lock = threading.Lock()
_faulty: list[FaultyInducer] = []


def declare_faulty(port: str, serial: str | None, reason: str) -> FaultyInducer:
    """Latch the inducer at ``port`` (serial ``serial`` when known) as faulty; the first reason is kept."""
    with _lock:
        for entry in _faulty:
            if entry.matches(port, serial):
                return entry
        entry = FaultyInducer(port, serial, reason)
        _faulty.append(entry)
        return entry


def faulty(port: str, serial: str | None) -> FaultyInducer | None:
    """The latch entry of this inducer, or None when it was never declared faulty in this process."""
    with _lock:
        return next((e for e in _faulty if e.matches(port, serial)), None)


def clear() -> None:
    """Forget every latch. Only for tests: at the bench the latch ends with the process."""
    with _lock:
        _faulty.clear()
