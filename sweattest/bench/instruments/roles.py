"""One small interface per role. The runner knows these and nothing about models: a new model is one module
that implements its role and one line in the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.chloridometer import AnalyzerResult
from sweattest.core.clock import Clock
from sweattest.core.stimulation import StimulationPlan

#: The maker every sweattest simulator reports in its identification.
SIMULATOR_MAKER = "SWEATTEST"


@dataclass(frozen=True)
class Identity:
    """What an instrument says it is. ``None`` where the model does not report it."""

    maker: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware: str | None = None

    @property
    def simulator(self) -> bool:
        return (self.maker or "").upper() == SIMULATOR_MAKER

    def text(self) -> str:
        parts = [p for p in (self.maker, self.model) if p]
        if self.serial_number:
            parts.append(f"serial {self.serial_number}")
        if self.firmware:
            parts.append(f"firmware {self.firmware}")
        return " ".join(parts) or "does not identify itself"


@dataclass(frozen=True)
class Reading:
    """A value taken by an instrument or typed by people, with where it came from (stored with the event)."""

    value: Any
    source: dict[str, Any] = field(default_factory=dict)


class Person(Protocol):
    """What a role may ask of the people at the bench (the run's Operator implements it)."""

    name: str

    def enter_reading(self, what: str, dimension: str, label: str, entry: int) -> tuple[str, str]:
        """The tech types a reading shown on an instrument; returns (text typed, user name of who typed it).
        ``entry`` is 1 or 2: the second entry is made blind to the first."""

    def confirm_device_started(self, site: str, text: str) -> None:
        """The tech started a stand-alone device by its own button and confirms it."""

    def confirm_device_completed(self, site: str, text: str) -> str | None:
        """After the timed stand-alone stimulation: None if the device completed without an error light,
        else the error it showed (as typed by the tech)."""


SampleSink = Callable[[list[dict]], None]
Progress = Callable[[float, float, float, float, float], None]


class InducerRole(Protocol):
    config: Any
    #: True when sweattest drives the current (SCPI); False for a stand-alone device the tech starts
    host_controlled: bool

    def identify(self) -> Identity: ...

    def force_off(self) -> None:
        """Every output off and confirmed; DeviceError if any is not."""

    def safe_off(self, channel: int | None = None) -> Any:
        """The off sequence with its two barriers (``channel`` first); returns an ``OffReport``, never raises."""

    def faulty(self) -> Any:
        """The latch entry when this inducer was declared faulty in this process, else None."""

    def stimulate(self, site: str, channel: int, plan: StimulationPlan, clock: Clock, record: SampleSink,
                  progress: Progress | None, person: Person) -> Any:
        """One site's stimulation; returns a ``StimulationOutcome``."""

    def close(self) -> None: ...


class BalanceRole(Protocol):
    config: Any

    def identify(self) -> Identity: ...

    def weigh(self, site: str, purpose: str, person: Person) -> Reading:
        """A stable weight (``Reading.value`` a mass)."""

    def close(self) -> None: ...


class AnalyzerRole(Protocol):
    config: Any
    #: optional, True for an analyzer that sends its results by itself (waited for, with a countdown)
    talks: bool

    def identify(self) -> Identity: ...

    def read_result(self, expected: str, label: str, person: Person, timeout_s: float) -> Reading:
        """The next result (``Reading.value`` an ``AnalyzerResult``); ``expected`` is the sample id or the QC
        level the tech was asked to load."""

    def loaded(self, expected: str, record: str = "sample") -> None:
        """The tech loaded ``expected`` and started the analysis (a simulator on a line is told so)."""

    def close(self) -> None: ...


__all__ = ["AnalyzerResult", "AnalyzerRole", "BalanceRole", "Identity", "InducerRole", "Person", "Reading"]
