"""Events fed to the core: what happened, to which site, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """``kind`` names a table event; ``site`` None means every site the event applies to.

    ``at`` is the UTC record time, ``t`` the procedure's monotonic seconds; both come from the Clock in
    the shell, never from the core. ``data`` holds the event's values (pint quantities, strings).
    """

    kind: str
    at: datetime
    t: float
    site: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    actor: str = "system"
    #: where the actor works (a web client, a host); None: the host that records the event
    station: str | None = None
