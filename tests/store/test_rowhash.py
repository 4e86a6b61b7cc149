"""A row's hash is SHA-256 of its text (docs/store.md); rows ending in a block of packed readings are hashed
without building that text, and must give the very same hash, or every stored chain would break."""

import hashlib

import pytest

from sweattest.record.store.rowhash import digest, fold, row_hash, row_text


def _by_text(row, acc=""):
    return hashlib.sha256((acc + row_text(row)).encode()).hexdigest()


@pytest.mark.parametrize("row", [
    (7, "R1", "left_forearm", "stimulation_sample", "2026-11-20 09:00:01.000000", 0.1, 300.0, 3000,
     bytes(range(256)) * 90),
    (8, "R1", None, "x", "2026-11-20 09:00:01.000000", 0.1, 0.2, 1, memoryview(b"\x00\xff")),
    (9, "R1", "é", "x", "t", 0.1, 0.2, 1, b""),
    ("R1", "ST-1", "macroduct", "tech1", "MRN1", "2026-11-20", '{"a": "é"}', "2026-11", ">3m", "abc", "text",
     "patient"),
])
def test_a_rows_hash_and_fold_are_those_of_its_text(row):
    assert row_hash(row) == digest(row) == _by_text(row)
    acc = "0" * 64
    assert digest(row, acc) == _by_text(row, acc)
    assert fold([row, row]) == _by_text(row, _by_text(row))
