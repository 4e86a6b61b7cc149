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
import socket
import struct
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from pathlib import Path
from typing import Any

import platformdirs

from sweattest.bench.service import UnverifiedInstrument
from sweattest.core.errors import ProcedureError, RunLeased, SweatTestError, ValidationError
from sweattest.record.holder import this_station

#: Seconds each end has to pass the key's challenge (and the station to say hello): a silent peer is dropped.
CHALLENGE_S = 2.0

#: The errors a reply may carry, most specific first; any other error arrives as a SweatTestError.
ERRORS = (ValidationError, RunLeased, ProcedureError, SweatTestError)


@dataclass(frozen=True)
class StationAddress:
    """Where the station of one store, station name and mode listens, its key and its log."""

    socket: Path
    key_file: Path
    log: Path

    @classmethod
    def of(cls, store_url: str, simulate: bool, folder: Path | None = None,
           config: str | None = None) -> StationAddress:
        """``config``: the lab configuration file the station runs with; the station is started with the file as
        it is, so a configuration edited since (or another file) is another station."""
        folder = folder or Path(platformdirs.user_data_dir("sweattest")) / "stations"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(f"{store_url}|{this_station()}|{simulate}|{_digest(config)}".encode()).hexdigest()[:16]
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


def _digest(config: str | None) -> str:
    try:
        return hashlib.sha256(Path(config).read_bytes()).hexdigest() if config else ""
    except OSError:
        return ""  # the station's start says what is wrong with it


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


def _limit(conn: Connection, seconds: float) -> None:
    """Every receive and send on ``conn`` fails with OSError after ``seconds`` (0: waits as long as it takes)."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        limit = struct.pack("ll", int(seconds), int(seconds % 1 * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)


def admit(conn: Connection, key: bytes, server: bool) -> Channel:
    """The key's challenge both ways within CHALLENGE_S; OSError, EOFError or multiprocessing's
    AuthenticationError when the peer fails it or stays silent."""
    _limit(conn, CHALLENGE_S)
    if server:
        deliver_challenge(conn, key)
        answer_challenge(conn, key)
    else:
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
    _limit(conn, 0)
    return Channel(conn)


def connect(path: Path, key: bytes) -> tuple[Channel, dict[str, Any]]:
    """A client's channel to the station at ``path`` and the station's hello, or OSError, EOFError or
    AuthenticationError within a few CHALLENGE_S when nothing that holds the key answers there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CHALLENGE_S)
        sock.connect(str(path))
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    conn = Connection(sock.detach())
    try:
        channel = admit(conn, key, server=False)
        _limit(conn, CHALLENGE_S)
        hello = channel.receive()
        _limit(conn, 0)
    except BaseException:
        conn.close()
        raise
    return channel, hello


def error_reply(exc: BaseException) -> dict[str, Any]:
    return {"kinds": [c.__name__ for c in type(exc).__mro__], "message": str(exc),
            "needs_reason": bool(getattr(exc, "needs_reason", False))}


def raise_reply(error: dict[str, Any]) -> None:
    """The station's refusal raised here as the error it was (ValidationError, ProcedureError, ...)."""
    if "UnverifiedInstrument" in error["kinds"]:
        raise UnverifiedInstrument(error["message"], needs_reason=error.get("needs_reason", False))
    for cls in ERRORS:
        if cls.__name__ in error["kinds"]:
            raise cls(error["message"])
    raise SweatTestError(f"the bench station failed: {error['message']}")


__all__ = ["CHALLENGE_S", "Channel", "StationAddress", "admit", "connect", "error_reply", "raise_reply"]
