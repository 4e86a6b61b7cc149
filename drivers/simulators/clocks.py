"""Named clocks for simulators: ``sim://...?clock=NAME`` picks the clock registered under NAME.

A run registers its clock (often an instant ``VirtualClock``) before opening ``sim://`` ports, so the
simulators and the run share one time. Without a registration the simulators run on wall time.
"""

from __future__ import annotations

import threading

from sweattest.core.clock import Clock, RealClock

_lock = threading.Lock()
_clocks: dict[str, Clock] = {}
_real = RealClock()


def set_clock(clock: Clock | None, name: str = "default") -> None:
    """Register ``clock`` under ``name`` (``None`` removes the registration)."""
    with _lock:
        if clock is None:
            _clocks.pop(name, None)
        else:
            _clocks[name] = clock


def get_clock(name: str = "default") -> Clock:
    """The clock registered under ``name``; wall time for ``default`` when none is registered.

    Raises ``KeyError`` naming the registered clocks for any other unknown name.
    """
    with _lock:
        if name in _clocks:
            return _clocks[name]
    if name == "default":
        return _real
    raise KeyError(f"no simulator clock named {name!r}; registered: {sorted(_clocks) or 'none'}")
