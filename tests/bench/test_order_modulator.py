"""The order's CFTR modulator and its start date: both or neither, a real date, not before birth."""

import copy

import pytest

from sweattest.bench.demo import DEMO_ORDER
from sweattest.bench.order import parse_order
from sweattest.core.errors import ValidationError


def _order(**fields):
    return copy.deepcopy(DEMO_ORDER) | fields


def test_the_modulator_is_kept_with_the_order():
    order = parse_order(_order(cftr_modulator="ivacaftor", modulator_start="2026-01-15"))
    assert (order.cftr_modulator, order.modulator_start.isoformat()) == ("ivacaftor", "2026-01-15")
    assert order.as_dict()["modulator_start"] == "2026-01-15"
    assert "cftr_modulator" not in parse_order(_order()).as_dict()


@pytest.mark.parametrize(("fields", "said"), [
    ({"cftr_modulator": "ivacaftor"}, "go together"),
    ({"modulator_start": "2026-01-15"}, "go together"),
    ({"cftr_modulator": "ivacaftor", "modulator_start": "15/01/2026"}, "is not a date"),
    ({"cftr_modulator": "ivacaftor", "modulator_start": "2026-02-30"}, "is not a date"),
    ({"cftr_modulator": "ivacaftor", "modulator_start": "2020-01-01"}, "before the patient's birth"),
    ({"cftr_modulator": 7, "modulator_start": "2026-01-15"}, "cftr_modulator"),
])
def test_a_bad_modulator_is_refused_by_name(fields, said):
    with pytest.raises(ValidationError, match=said):
        parse_order(_order(**fields))
