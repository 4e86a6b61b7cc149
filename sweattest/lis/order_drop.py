"""Orders dropped as files into the order folder (``[lis] order_folder``): each ``*.hl7`` file is one order
message, processed like one received over MLLP. Its acknowledgement is written beside it in ``ack/``
(``NAME.ack``, atomically) and the file is moved to ``done/`` (accepted) or ``rejected/`` (AE, AR). A LIS
writes each file under another name and renames it to ``.hl7`` when complete."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sweattest.lis.ack import read_ack
from sweattest.outputs.files import write_atomic

log = logging.getLogger(__name__)
POLL = 2.0


def process_folder(folder: Path, receive: Callable[[str], str]) -> list[tuple[str, str]]:
    """Process every waiting ``*.hl7`` file, oldest name first; returns (file name, ACK code) pairs."""
    done: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.hl7")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            text = path.read_bytes().decode("latin-1")
        except OSError:
            continue  # moved away meanwhile
        answer = receive(text)
        code = read_ack(answer).code
        for sub in ("ack", "done", "rejected"):
            (folder / sub).mkdir(exist_ok=True)
        write_atomic(folder / "ack" / f"{path.stem}.ack", answer)
        os.replace(path, folder / ("done" if code == "AA" else "rejected") / path.name)
        done.append((path.name, code))
    return done


def watch(folder: Path, receive: Callable[[str], str], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            process_folder(folder, receive)
        except Exception:  # noqa: BLE001 - keep watching; the file stays for the next pass
            log.exception("order folder %s", folder)
        stop.wait(POLL)
