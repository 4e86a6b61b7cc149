"""A reading typed by people is accepted only when two blind entries agree; both entries and their authors
are kept, and so are the pairs that disagreed."""

from __future__ import annotations

import pytest

from sweattest.bench.instruments.double_entry import double_entry
from sweattest.bench.instruments.manual import ManualAnalyzer, ManualBalance
from sweattest.core.errors import DeviceError, ValidationError
from sweattest.core.instruments import InstrumentConfig
from sweattest.core.units import Q_, parse_quantity


class Typist:
    """Types the given entries in order, as the given users."""

    def __init__(self, *entries):
        self.entries = list(entries)
        self.told: list[str] = []
        self.name = "tech1"

    def enter_reading(self, what, dimension, label, entry):
        value, by = self.entries.pop(0)
        return parse_quantity(value, dimension, label), by

    def tell(self, text):
        self.told.append(text)


def test_two_entries_that_agree_are_accepted_with_both_authors():
    reading = double_entry(Typist(("45.2 mmol/L", "tech1"), ("45.2 mmol/L", "tech2")), "chloride", "concentration",
                           "chloride of S1")
    assert reading.value == Q_(45.2, "mmol/L")
    assert reading.source["entries"] == [{"value": "45.2 mmol/L", "by": "tech1"},
                                         {"value": "45.2 mmol/L", "by": "tech2"}]


def test_two_entries_that_disagree_are_refused_and_asked_again():
    typist = Typist(("45.2 mmol/L", "tech1"), ("45.3 mmol/L", "tech1"), ("45.2 mmol/L", "tech1"),
                    ("45.2 mmol/L", "tech1"))
    reading = double_entry(typist, "chloride", "concentration", "chloride of S1")
    assert reading.value == Q_(45.2, "mmol/L")
    # neither value is shown: the next pair's second entry stays blind to what was typed before
    assert typist.told == ["chloride of S1: the two entries disagree; read the instrument again and enter the "
                           "value twice (the values typed are kept with the reading, not shown)."]
    assert reading.source["disagreed"] == [{"entries": [{"value": "45.2 mmol/L", "by": "tech1"},
                                                        {"value": "45.3 mmol/L", "by": "tech1"}]}]


def test_entries_that_never_agree_give_up_the_reading():
    typist = Typist(*[(f"{v} mg", "tech1") for v in (10, 11, 10, 12, 10, 13)])
    with pytest.raises(DeviceError, match="entries disagreed 3 times; nothing was accepted"):
        double_entry(typist, "mass", "mass", "left forearm weight")


def test_the_same_value_in_another_unit_agrees():
    reading = double_entry(Typist(("1.0125 g", "tech1"), ("1012.5 mg", "tech1")), "mass", "mass", "weight")
    assert reading.value.to("mg").magnitude == pytest.approx(1012.5)


def test_a_lab_that_asks_for_a_second_person_refuses_the_same_tech_twice():
    with pytest.raises(ValidationError, match="the second entry must be made by a second tech, not by tech1"):
        double_entry(Typist(("45 mmol/L", "tech1"), ("45 mmol/L", "tech1")), "chloride", "concentration", "chloride",
                     second_person=True)


def test_the_manual_models_return_their_role_values():
    balance = ManualBalance(InstrumentConfig("balance", "manual", serial_number="B-1"))
    weight = balance.weigh("left_forearm", "post", Typist(("1050.4 mg", "t1"), ("1050.4 mg", "t2")))
    assert weight.value == Q_(1050.4, "mg")
    analyzer = ManualAnalyzer(InstrumentConfig("analyzer", "manual"))
    result = analyzer.read_result("NORMAL", "the NORMAL control", Typist(("98 mmol/L", "t1"), ("98 mmol/L", "t1")),
                                  120.0, record="qc").value
    assert (result.record, result.level, result.chloride) == ("qc", "NORMAL", Q_(98, "mmol/L"))
    assert balance.identify().serial_number == "B-1"
