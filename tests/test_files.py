"""Atomic writes: a reader never sees half a file, and the file is readable like any other."""

import os
import stat

import pytest

from sweattest.outputs.files import FILE_MODE, write_atomic


def test_written_file_is_complete_and_readable_by_others_per_umask(tmp_path):
    path = write_atomic(tmp_path / "r.csv", "a,b\r\n")
    assert path.read_bytes() == b"a,b\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "r.hl7"
    write_atomic(target, "old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new content")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.hl7"]
