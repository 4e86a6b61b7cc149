"""``analyzer line``: a chloride analyzer that sends one result line per analysis in sweattest's documented
line format (drivers/chloridometer.py, docs/protocols/chloridometer.md). It is asked ``ID?`` once when opened: an
analyzer that only talks does not answer, and its serial number is the configured one; a sweattest simulator
answers as one (so ``--speed`` is allowed on a bench of simulators) and is told what the tech loads."""

from __future__ import annotations

from drivers.chloridometer import Chloridometer
from sweattest.bench.instruments.roles import Identity, Person, Reading
from sweattest.core.clock import Clock
from sweattest.core.instruments import InstrumentConfig


class LineAnalyzer:
    def __init__(self, config: InstrumentConfig, driver: Chloridometer):
        self.config = config
        self.driver = driver

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock) -> LineAnalyzer:
        assert config.port is not None
        return cls(config, Chloridometer.from_url(config.port, baudrate=config.baudrate))

    def identify(self) -> Identity:
        """The answer to ``ID?`` when the analyzer gives one (a sweattest simulator does); else it only talks and
        its serial number is the configured one."""
        if getattr(self.driver.port, "simulator", None) is not None:  # sim://, in this process: its object says
            return Identity(maker="SWEATTEST", model="line-format analyzer")
        answer = self.driver.identify()
        if answer is None:
            return Identity(model="line-format analyzer")
        identity = Identity(*answer)
        self.tells_loads = identity.simulator  # the tech's hands at a simulator on a line: told what is loaded
        return identity

    #: it sends its results by itself: the run waits for them (sweattest.bench.runner.analysis)
    talks = True
    #: tell the analyzer what was loaded (``LOAD``/``CONTROL`` of the simulator's keypad): a simulator on a line
    tells_loads = False

    def read_result(self, expected: str, label: str, person: Person, timeout_s: float,
                    record: str = "sample") -> Reading:
        return Reading(self.driver.read_result(timeout_s=timeout_s))

    def loaded(self, expected: str, record: str = "sample") -> None:
        """The tech has loaded ``expected`` (a sample id, or a control level for ``record="qc"``) and started the
        analysis. A real analyzer needs nothing from the host; a simulator on a line is told, as its keypad
        would be (docs/protocols/chloridometer.md), and measures it after its analysis time."""
        if self.tells_loads:
            self.driver.write(f"CONTROL {expected}" if record == "qc" else f"LOAD {expected}")

    def close(self) -> None:
        self.driver.close()
