"""Atomic file writes: temp file in the same folder, fsync, rename. A reader never sees half a file. Output
folders are checked before anything is produced, and names from an order become safe file names."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from sweattest.core.errors import ValidationError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of a file written here: as an ordinary new file (mkstemp's own 0600 would keep a LIMS
#: import service running as another user from reading it).
FILE_MODE = 0o666 & ~_umask()


def write_atomic(path: Path, data: str | bytes) -> Path:
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def write_new(path: Path, data: str | bytes) -> Path:
    """Like ``write_atomic``, but never over an existing file: when ``path`` exists the file is written as
    ``NAME.2.EXT``, ``NAME.3.EXT``...; returns the path written."""
    path = Path(path)
    written = write_atomic(path.with_name(f".{path.name}.new"), data)
    try:
        return link_unique(written, path)
    finally:
        written.unlink(missing_ok=True)


def move_unique(source: Path, path: Path) -> Path:
    """Move ``source`` (a file, link or FIFO: never followed) to ``path``, or to the first free ``NAME.N.EXT``
    beside it; never over an existing file. Returns where it went."""
    target = link_unique(source, path)
    os.unlink(source)
    return target


def link_unique(source: Path, path: Path) -> Path:
    """A hard link to ``source`` at ``path`` or the first free ``NAME.N.EXT`` (link creation fails on an
    existing name, so two writers never take the same one)."""
    stem, suffix = (path.name.split(".", 1) + [""])[:2]
    for n in range(1, 100_000):
        target = path if n == 1 else path.with_name(f"{stem}.{n}.{suffix}" if suffix else f"{stem}.{n}")
        try:
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            continue
        return target
    raise ValidationError(f"{path.parent}: no free name for {path.name}; empty the folder")


def file_safe(text: str) -> str:
    """Text usable as one file name on every system: anything but letters, digits, ``.``, ``_`` and ``-``
    becomes ``-`` (accessions may hold ``/``), so a name from an order never leaves its folder."""
    safe = _UNSAFE.sub("-", text)
    return "-" + safe if safe.startswith(".") else safe


def check_folder(folder: Path, what: str, *, create: bool = True) -> Path:
    """``folder`` as an output folder: it exists (or, with ``create``, can be created) and a file can be written
    in it; else ValidationError naming ``what`` (the option). Checked before a run or a render starts; nothing
    is created here."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"{what}: {folder} is not a folder; choose a folder")
    existing = folder
    while not existing.exists():
        if not create:
            raise ValidationError(f"{what}: {folder} is not a folder (it does not exist); create it or choose another")
        existing = existing.parent
    if not existing.is_dir():
        raise ValidationError(f"{what}: {folder} cannot be created: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".sweattest-check."):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValidationError(f"{what}: cannot write in {existing} ({reason}); choose a folder you can write "
                              "to") from None
    return folder
