"""The local control channel of a bench station's process: a Unix domain socket (mode 0600, in a folder of
mode 0700 in the user data folder) that only a process holding the station's key may use (the key file beside
it, mode 0600; ``multiprocessing.connection``'s challenge). Messages are JSON objects, one per frame:

- a request ``{"id": n, "op": name, "args": {...}}`` and its reply ``{"reply": n, "ok": value}`` or
  ``{"reply": n, "error": {"kinds": [class names], "message": text}}``;
- pushed by the station: ``{"push": "hello", ...}`` when a client connects, and ``{"push": "run", ...}`` with
  a run's screen updates and its live state as they happen.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import platformdirs

from sweattest.core.errors import ProcedureError, SweatTestError, ValidationError
from sweattest.record.holder import this_station

#: The errors a reply may carry, most specific first; any other error arrives as a SweatTestError.
ERRORS = (ValidationError, ProcedureError, SweatTestError)


@dataclass(frozen=True)
class StationAddress:
    """Where the station of one store, station name and mode listens, its key and its log."""

    socket: Path
    key_file: Path
    log: Path

    @classmethod
    def of(cls, store_url: str, simulate: bool, folder: Path | None = None) -> StationAddress:
        folder = folder or Path(platformdirs.user_data_dir("sweattest")) / "stations"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(f"{store_url}|{this_station()}|{simulate}".encode()).hexdigest()[:16]
        return cls(folder / f"{name}.sock", folder / f"{name}.key", folder / f"{name}.log")

    def new_key(self) -> bytes:
        """A fresh key, written where only this user can read it."""
        key = secrets.token_bytes(32)
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key

    def key(self) -> bytes:
        return self.key_file.read_bytes()


class Channel:
    """One end of a connection: JSON messages, sent whole from any thread."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), default=str).encode()
        with self._send_lock:
            self.conn.send_bytes(data)

    def receive(self) -> dict[str, Any]:
        """The next message; EOFError or OSError when the other end is gone."""
        return json.loads(self.conn.recv_bytes())

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass


def error_reply(exc: BaseException) -> dict[str, Any]:
    return {"kinds": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}


def raise_reply(error: dict[str, Any]) -> None:
    """The station's refusal raised here as the error it was (ValidationError, ProcedureError, ...)."""
    for cls in ERRORS:
        if cls.__name__ in error["kinds"]:
            raise cls(error["message"])
    raise SweatTestError(f"the bench station failed: {error['message']}")


__all__ = ["Channel", "StationAddress", "error_reply", "raise_reply"]
