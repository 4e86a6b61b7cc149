"""``balance manual`` and ``analyzer manual``: instruments with no host output (e.g. ChloroChek 3400,
Sherwood 926S). The tech types what the display shows, twice (double_entry.py)."""

from __future__ import annotations

from drivers.chloridometer import AnalyzerResult
from sweattest.bench.instruments.double_entry import double_entry
from sweattest.bench.instruments.roles import Identity, Person, Reading
from sweattest.core.clock import Clock
from sweattest.core.instruments import InstrumentConfig


class _Manual:
    def __init__(self, config: InstrumentConfig, second_person: bool = False):
        self.config = config
        self.second_person = second_person

    @classmethod
    def open(cls, config: InstrumentConfig, clock: Clock, second_person: bool = False):
        return cls(config, second_person)

    def identify(self) -> Identity:
        return Identity(model=f"manual {self.config.role}", serial_number=self.config.serial_number)

    def close(self) -> None:
        pass


#: The end of a post-weigh entry's label: the weight with the sweat in it (the bench shows the QNS threshold)
WITH_SWEAT = "with the collected sweat"


class ManualBalance(_Manual):
    def weigh(self, site: str, purpose: str, person: Person) -> Reading:
        when = "empty (before collection)" if purpose == "pre" else WITH_SWEAT
        return double_entry(person, "mass", "mass", f"{site.replace('_', ' ')} weight {when}",
                            second_person=self.second_person)


class ManualAnalyzer(_Manual):
    def loaded(self, expected: str, record: str = "sample") -> None:
        pass  # the tech reads its display

    def read_result(self, expected: str, label: str, person: Person, timeout_s: float,
                    record: str = "sample") -> Reading:
        reading = double_entry(person, "chloride", "concentration", f"chloride of {label}",
                               second_person=self.second_person)
        result = AnalyzerResult(record=record, sample_id=expected, chloride=reading.value,
                                level=expected if record == "qc" else None)
        return Reading(result, reading.source)
