"""A bench without an LIS feed finds its orders in a folder of order files, by the accession scanned."""

from __future__ import annotations

import json

import pytest

from sweattest.bench.demo import DEMO_ORDER
from sweattest.bench.order_folder import OrderFolder
from sweattest.core.errors import ValidationError


def test_an_order_dropped_in_the_folder_is_found_by_its_accession(tmp_path):
    folder = OrderFolder(tmp_path)
    assert DEMO_ORDER["accession"] not in folder
    (tmp_path / "order-1.json").write_text(json.dumps(DEMO_ORDER), encoding="utf-8")
    (tmp_path / "half-copied.json").write_text('{"accession": "ST-9', encoding="utf-8")  # skipped, not fatal
    assert DEMO_ORDER["accession"] in folder
    assert folder[DEMO_ORDER["accession"]]["patient"]["mrn"] == DEMO_ORDER["patient"]["mrn"]


def test_a_folder_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="is not a folder"):
        OrderFolder(tmp_path / "missing")
