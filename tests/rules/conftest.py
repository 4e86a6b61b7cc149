import dataclasses

import pytest

from sweattest.core.protocol import load_protocol


@pytest.fixture(scope="session")
def macroduct():
    return load_protocol("macroduct")


@pytest.fixture(scope="session")
def gibson_cooke():
    return load_protocol("gibson_cooke")


@pytest.fixture(scope="session")
def eluate_only(gibson_cooke):
    return dataclasses.replace(gibson_cooke, eluate_formula="eluate_only")
