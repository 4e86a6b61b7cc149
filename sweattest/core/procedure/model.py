"""The run's state: one record per collection site; the run's own state is derived from its sites'."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pint

from sweattest.core.procedure.table import FINAL_STATES, SITE_STATES
from sweattest.core.protocol import Protocol

#: Stimulation sites a run may use. The current path must never cross the chest or the head
#: (CLSI C34, site selection): forearm flexor surface, or upper arm / thigh in small infants.
SITES: tuple[str, ...] = (
    "left_forearm", "right_forearm", "left_upper_arm", "right_upper_arm", "left_thigh", "right_thigh",
)
#: Each site's name as reports and messages print it.
SITE_NAMES = {"left_forearm": "Left forearm", "right_forearm": "Right forearm", "left_upper_arm": "Left upper arm",
              "right_upper_arm": "Right upper arm", "left_thigh": "Left thigh", "right_thigh": "Right thigh"}


@dataclass(frozen=True)
class Step:
    """One transition a site went through."""

    source: str
    event: str
    target: str
    at: datetime
    t: float


@dataclass(frozen=True)
class SiteRecord:
    site: str
    channel: int
    state: str = "created"
    abort_reason: str | None = None
    pre_weight: pint.Quantity | None = None
    post_weight: pint.Quantity | None = None
    volume: pint.Quantity | None = None
    stimulation_started_t: float | None = None
    stimulation_ended_t: float | None = None
    charge: pint.Quantity | None = None
    #: stimulated by a stand-alone inducer: no current trace and no measured charge exist
    standalone_inducer: bool = False
    collection_started_t: float | None = None
    collection_started_at: datetime | None = None
    collection_time: pint.Quantity | None = None
    adequacy: Any = None  # sweattest.core.rules.adequacy.Adequacy
    sample_id: str | None = None
    analyzer_chloride: pint.Quantity | None = None  # as measured (the eluate's, for gravimetric)
    chloride: Any = None  # sweattest.core.rules.chloride.ChlorideReport
    #: the optional sweat sodium typed after the chloride (a plausibility check on it, never a result)
    sodium: pint.Quantity | None = None
    steps: tuple[Step, ...] = ()

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def moved(self, target: str, event: str, at: datetime, t: float, **changes: Any) -> SiteRecord:
        step = Step(self.state, event, target, at, t)
        return replace(self, state=target, steps=self.steps + (step,), **changes)


@dataclass(frozen=True)
class Resumption:
    """The run was brought back after its process stopped (crash, power loss): when, by whom, in which state."""

    at: datetime
    by: str
    state_found: str


@dataclass(frozen=True)
class RunState:
    run_id: str
    protocol: Protocol
    sites: tuple[SiteRecord, ...]
    reviewer: str | None = None
    resumptions: tuple[Resumption, ...] = ()
    #: the lab's adequacy criterion when the run started (sweattest.core.rules.adequacy.CRITERIA)
    adequacy: str = "minimum_sample"

    @property
    def state(self) -> str:
        """Derived from the sites: the least advanced active site's state; when every site is final,
        ``reported`` if any site was reported, else ``aborted``."""
        active = [s for s in self.sites if not s.final]
        if active:
            return min((s.state for s in active), key=SITE_STATES.index)
        return "reported" if any(s.state == "reported" for s in self.sites) else "aborted"

    @property
    def finished(self) -> bool:
        return all(s.final for s in self.sites)

    def site(self, name: str) -> SiteRecord:
        for record in self.sites:
            if record.site == name:
                return record
        raise KeyError(name)

    def with_site(self, record: SiteRecord) -> RunState:
        return replace(self, sites=tuple(record if s.site == record.site else s for s in self.sites))
