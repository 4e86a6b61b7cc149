"""A finished demo run (virtual clock, fixed id) shared by the report tests of a module."""

import pytest

from tests.golden.build import demo_order, simulated


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    result, _ = simulated(tmp_path_factory.mktemp("demo"))
    return result.record


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    result, _ = simulated(tmp_path_factory.mktemp("hostile"), demo_order(hostile=True))
    return result.record
