"""Effects the core asks the shell to carry out. Plain data; the runner interprets them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    """Base of all effects."""


@dataclass(frozen=True)
class CheckReadiness(Effect):
    """Check the pilocarpine lot and the instruments, then send ``check_ready`` (or ``abort``)."""


@dataclass(frozen=True)
class PreWeigh(Effect):
    site: str


@dataclass(frozen=True)
class Stimulate(Effect):
    """Run the safe stimulation loop on the site's inducer channel."""

    site: str
    channel: int


@dataclass(frozen=True)
class OutputOff(Effect):
    """Make sure the site's inducer output is off (after any abort)."""

    site: str
    channel: int


@dataclass(frozen=True)
class ApplyCollector(Effect):
    site: str


@dataclass(frozen=True)
class StartTimer(Effect):
    """Wake the shell at procedure time ``due_t`` with event ``event`` for ``site``."""

    site: str
    name: str
    due_t: float
    event: str


@dataclass(frozen=True)
class CancelTimer(Effect):
    site: str
    name: str


@dataclass(frozen=True)
class MeasureSample(Effect):
    """Volume entry (volumetric) or post-weigh on the balance (gravimetric)."""

    site: str
    gravimetric: bool


@dataclass(frozen=True)
class Analyze(Effect):
    """Have the sample analysed by the chloridometer and send ``analyze`` with the result."""

    site: str
    sample_id: str


@dataclass(frozen=True)
class ResultsReady(Effect):
    """Every site has a result or was aborted: outputs can be written, review can start."""


@dataclass(frozen=True)
class RunFinished(Effect):
    """Every site is reported or aborted."""


@dataclass(frozen=True)
class AbortInterrupted(Effect):
    """Recovery: the site was stimulating when the process stopped. Output off, site aborted with the
    charge recorded so far; stimulation is never resumed."""

    site: str
    channel: int


@dataclass(frozen=True)
class VerifyPatient(Effect):
    """Recovery: the run was created but the patient's identity was not yet confirmed."""
