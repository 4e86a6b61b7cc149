"""Orders dropped as files into the order folder (``[lis] order_folder``): each ``*.hl7`` file is one message,
processed like one received over MLLP: the same size limit (``mllp.MAX_MESSAGE``), the same charset rule
(UTF-8, else AR), the same answers. Its answer is written to ``ack/NAME.ack`` and the file is moved to
``done/`` (accepted: AA, or AE when some of its orders were taken) or ``rejected/``; a name already there is
never overwritten (``NAME.2.hl7``, ``NAME.2.ack``...), so every order's evidence is kept.

Only regular files are read: a symbolic link (it could point at any file of the machine), a FIFO (reading it
would wait for a writer) or a device is opened without following or blocking, refused AR and moved to
``rejected/`` as it is. A LIS writes each file under another name and renames it to ``.hl7`` when complete.
Files are taken in the order they arrived (renamed into the folder), as MLLP takes messages in the order
received: never by a name or a time stamp from the sender's clock.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from sweattest.lis import hl7_read as h
from sweattest.lis.ack import DATA_TYPE_ERROR, SEGMENT_SEQUENCE, Problem, read_ack
from sweattest.lis.mllp import MAX_MESSAGE, NotText, decode
from sweattest.outputs.files import move_unique, write_new

log = logging.getLogger(__name__)
POLL = 2.0


class NotRegular(Exception):
    """The entry is not a regular file, or too large; the message says what it is."""


def read_regular(path: Path, limit: int = MAX_MESSAGE) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes (never following a link, never
    waiting on a FIFO); else NotRegular."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular("a symbolic link, not a file: links are not followed; drop the file itself") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode) or \
                stat.S_ISBLK(info.st_mode) else "not a regular file"
            raise NotRegular(f"{kind}, not a regular file: only files are read from the order folder")
        if info.st_size > limit:
            raise NotRegular(f"file of {info.st_size} bytes is larger than {limit} bytes (the MLLP limit)")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise NotRegular(f"file larger than {limit} bytes (the MLLP limit)")
        return data
    finally:
        os.close(fd)


def process_folder(folder: Path, receive: Callable[[str], str],
                   reject: Callable[[str, Problem], str]) -> list[tuple[str, str]]:
    """Process every waiting ``*.hl7`` entry, in the order they arrived; returns (file name, answer code) pairs.
    ``reject(text, problem)`` answers AR what cannot be read (as the MLLP listener does)."""
    done: list[tuple[str, str]] = []
    for sub in ("ack", "done", "rejected"):
        (folder / sub).mkdir(exist_ok=True)
        if not stat.S_ISDIR(os.lstat(folder / sub).st_mode):  # a link: files would be written wherever it points
            _warn_once(folder / sub, "not a folder of its own (a link?): no order is taken until it is one")
            return done
        _WARNED.discard(folder / sub)
    for path in _by_arrival(p for p in folder.iterdir() if p.suffix.lower() == ".hl7"):  # ORDER.HL7 too (Windows)
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                _warn_once(path, "a directory, not an order file: left where it is")
                continue
            answer = _answer(path, receive, reject)
            if answer is None:
                continue
            code = read_ack(answer).code
            move_unique(path, folder / ("done" if _taken(answer) else "rejected") / path.name)
            write_new(folder / "ack" / f"{path.stem}.ack", answer)
        except Exception as exc:  # noqa: BLE001 - this entry stays for the next pass; the ones after it go on
            _warn_once(path, f"left for the next pass: {exc}")
            continue
        _WARNED.discard(path)
        done.append((path.name, code))
    return done


def _by_arrival(paths) -> list[Path]:
    """The entries in the order they arrived: the time each was created or renamed into the folder (its inode
    change time, set by this machine, never by the sender's clock), then by name (two at the same instant). A
    name chosen by the LIS (often its own time stamp) does not order files of two systems or a cancel written
    after its order under an earlier name."""
    def arrived(path: Path) -> tuple[int, str]:
        try:
            return os.lstat(path).st_ctime_ns, path.name
        except OSError:
            return 0, path.name  # gone meanwhile: skipped when read
    return sorted(paths, key=arrived)


def _answer(path: Path, receive: Callable[[str], str], reject: Callable[[str, Problem], str]) -> str | None:
    """The answer to the file at ``path`` (None: it has gone meanwhile)."""
    try:
        return receive(decode(read_regular(path)))
    except FileNotFoundError:
        return None  # moved away meanwhile
    except NotRegular as exc:
        return reject("", Problem(SEGMENT_SEQUENCE, f"{_shown(path.name)}: {exc}"))
    except NotText as exc:
        return reject(exc.head, Problem(DATA_TYPE_ERROR, str(exc)))


def _shown(name: str) -> str:
    """A file name as text (a name that is not UTF-8 with its bytes replaced), for an answer or the log."""
    return os.fsencode(name).decode("utf-8", errors="replace")


#: entries already logged as left in the folder (logged once, not at every pass)
_WARNED: set[Path] = set()


def _warn_once(path: Path, what: str) -> None:
    if path not in _WARNED:
        _WARNED.add(path)
        log.warning("order folder: %s: %s", _shown(str(path)), what)


def _taken(answer: str) -> bool:
    """Whether anything of the message was taken: AA, or an order answered OK/CR in an AE."""
    if read_ack(answer).code == "AA":
        return True
    try:
        orders = h.segments(h.read(answer), "ORC")
    except h.Unreadable:
        return False
    return any(h.raw(orc, 1) in ("OK", "CR") for orc in orders)


def watch(folder: Path, receive: Callable[[str], str], reject: Callable[[str, Problem], str],
          stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            process_folder(folder, receive, reject)
        except Exception:  # noqa: BLE001 - keep watching; the file stays for the next pass
            log.exception("order folder %s", folder)
        stop.wait(POLL)
