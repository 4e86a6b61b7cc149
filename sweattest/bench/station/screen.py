"""Which screen a run shows now, from the stored run and what its bench session is doing (``LiveState``).
The station computes it for its read model; the web server for a page it draws; both from the same data, so a
reload, a second tab and the live view always agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sweattest.bench.station.prompts import Prompt
from sweattest.core.procedure.model import RunState


@dataclass(frozen=True)
class LiveState:
    """What a live bench session adds to the stored run, as plain data: it travels from the station's process
    to the web server's as it is."""

    active: bool = False
    prompt: Prompt | None = None
    collecting: bool = False  # a collection timer runs
    alarms_raised: int = 0  # inducer alarms raised by the runner
    error: str | None = None
    notice: str | None = None
    resumed: str | None = None
    standalone: bool = False  # the inducer has no host link
    wait: dict[str, Any] | None = None  # the analyzer's result waited for (``analyzer_wait``)
    run_state: str = ""
    operator: str = ""
    timing_alarms: dict[str, str] = field(default_factory=dict)
    acks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LiveState:
        prompt = doc.get("prompt")
        return cls(**(doc | {"prompt": Prompt(**prompt) if prompt else None}))

    def lost(self, why: str) -> LiveState:
        """The state shown while the station's process is not there: nothing is going on here, and why."""
        return replace(self, active=False, prompt=None, collecting=False, error=why, wait=None)


def screen(run: RunState, live: LiveState | None) -> dict[str, Any]:
    """The current screen: ``name``, the prompt if the tech must act, and a ``key`` that changes whenever
    the screen must be redrawn."""
    active = live is not None and live.active
    prompt = live.prompt if active else None
    stimulating = [s.site for s in run.sites if s.state == "stimulating"]
    if prompt is not None:
        name = prompt.kind
    elif stimulating and active:
        name = "stimulation"
    elif active and live.collecting:
        name = "collecting"
    elif active:
        name = "working"
    elif run.state in ("result_ready", "reviewed"):
        name = "result"
    elif run.state == "reported":
        name = "reported"
    elif run.state == "aborted":
        name = "aborted"
    else:
        name = "interrupted"
    states = ",".join(f"{s.site}:{s.state}" for s in run.sites)
    raised = live.alarms_raised if live else 0
    wait = live.wait if active else None
    error = live.error if live else None
    key = f"{name}|{prompt.id if prompt else ''}|{states}|{error or ''}|{raised}|{wait['label'] if wait else ''}"
    return {"name": name, "prompt": prompt, "key": key, "active": active, "wait": wait,
            # a site aborted while the run goes on says why on every screen, not only at the end
            "aborted": [{"site": s.site, "reason": said_once(s.abort_reason or "")} for s in run.sites
                        if s.state == "aborted"],
            "sites": [{"site": s.site, "state": s.state} for s in run.sites],
            "stimulating": stimulating[0] if stimulating else None,
            "error": error,
            "notice": live.notice if active else None,
            "resumed": live.resumed if active else None,
            "standalone": active and live.standalone}


def analyzer_wait(wait: dict[str, Any] | None, clock_text: Callable[[datetime], str]) -> dict[str, Any] | None:
    """The analyzer's result being waited for (the runner's ``analyzer_wait``) as the screen says it: what, and
    the clock time the wait gives up; None when nothing is waited for."""
    if not wait:
        return None
    ends = wait["since"] + timedelta(seconds=wait["total_s"])
    then = ("without it, results cannot be final until QC is run" if wait["site"] == "QC" else
            "the sample is then tried once more, and a sample the chloridometer does not measure is written off "
            "with the reason")
    return {"label": wait["label"], "total_s": int(wait["total_s"]), "ends_at": clock_text(ends), "then": then}


def said_once(reason: str) -> str:
    """A stop's reason without its off check: the screen says once, on its own line, that the output is off."""
    return reason.split(" Off check:", 1)[0]


__all__ = ["LiveState", "analyzer_wait", "said_once", "screen"]
