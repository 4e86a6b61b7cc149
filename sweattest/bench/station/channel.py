"""The local control channel of a bench station's process: a Unix domain socket (mode 0600, in a folder of
mode 0700 in the user data folder) that only a process holding the station's key may use (the key file beside
it, mode 0600; ``multiprocessing.connection``'s challenge). Messages are JSON objects, one per frame:

- a request ``{"id": n, "op": name, "args": {...}}`` and its reply ``{"reply": n, "ok": value}`` or
  ``{"reply": n, "error": {"kinds": [class names], "message": text}}``;
- pushed by the station: ``{"push": "hello", ...}`` when a client connects, ``{"push": "run", ...}`` with
  a run's screen updates and its live state as they happen (``session``: the number of the station's session
  that performs the run; a run resumed after its session ended has a new one, sent from its snapshot), and
  ``{"push": "beat"}`` when it has sent nothing else for BEAT_S: a client that hears nothing for SILENT_S knows
  the station is not answering (stalled or hung).

Each frame is at most MAX_FRAME bytes, both ways: a larger one is refused unread, logged, and its connection
dropped. One station process per address: it holds the lock file beside the socket (``flock``) for its life,
stalled or not, and a second one refuses to start (``StationAddress.holder``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
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

log = logging.getLogger(__name__)

#: Seconds each end has to pass the key's challenge (and the station to say hello): a silent peer is dropped.
CHALLENGE_S = 2.0

#: The largest frame either end sends or reads, in bytes. A run's snapshot (its chart's trace, one point a second)
#: is tens of kilobytes; 4 MB leaves room for the longest run many times over, while a peer that sends more (a
#: fault, or a process holding the key gone wrong) cannot make the other end allocate what it says.
MAX_FRAME = 4 * 1024 * 1024
#: Wall seconds between the station's heartbeats to each client when it has nothing else to send.
BEAT_S = 0.5
#: Wall seconds without a word from the station after which the web server says it is not answering (stalled,
#: SIGSTOP, hung): every screen of its runs alarms, and a request waiting for its reply ends with an error. The
#: one place this bound is set; a few beats are allowed to come late on a loaded computer before it alarms.
SILENT_S = 3.0

#: The errors a reply may carry, most specific first; any other error arrives as a SweatTestError.
ERRORS = (ValidationError, RunLeased, ProcedureError, SweatTestError)


@dataclass(frozen=True)
class StationAddress:
    """Where the station of one store, station name and mode listens, its key and its log."""

    socket: Path
    key_file: Path
    log: Path
    lock: Path

    @classmethod
    def of(cls, store_url: str, simulate: bool, folder: Path | None = None,
           config: str | None = None) -> StationAddress:
        """``config``: the lab configuration file the station runs with; the station is started with the file as
        it is, so a configuration edited since (or another file) is another station."""
        folder = folder or Path(platformdirs.user_data_dir("sweattest")) / "stations"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(f"{store_url}|{this_station()}|{simulate}|{_digest(config)}".encode()).hexdigest()[:16]
        return cls(folder / f"{name}.sock", folder / f"{name}.key", folder / f"{name}.log", folder / f"{name}.lock")

    def new_key(self) -> bytes:
        """A fresh key, written where only this user can read it."""
        key = secrets.token_bytes(32)
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key

    def key(self) -> bytes:
        return self.key_file.read_bytes()

    def hold(self) -> int | None:
        """This process becomes the station's only process: the lock file held (``flock``) until it ends. Returns
        the lock's file descriptor (keep it open), or None when another process holds it (``holder``)."""
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd

    def holder(self) -> int | None:
        """The process id of the station's process that exists now (running, stalled or hung), or None when
        there is none: a new one may be started."""
        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.read(fd, 32).decode(errors="replace").strip()
                return int(text) if text.isdigit() else 0
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


class FrameRefused(OSError):
    """A frame over MAX_FRAME, or not a JSON object: refused and logged; one received drops the connection."""


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
        """Sends ``message``; OSError when the other end is gone, FrameRefused when it is larger than MAX_FRAME
        (not sent)."""
        data = json.dumps(message, separators=(",", ":"), default=str).encode()
        if len(data) > MAX_FRAME:  # nothing sent: the connection stays as it was
            what = (f"a message of {len(data)} bytes ({message.get('op') or message.get('push') or 'a reply'}) was not "
                    f"sent: over the channel's limit of {MAX_FRAME} bytes")
            log.error("control channel: %s", what)
            raise FrameRefused(what)
        with self._send_lock:
            self.conn.send_bytes(data)

    def receive(self) -> dict[str, Any]:
        """The next message; EOFError or OSError when the other end is gone, FrameRefused (the connection
        dropped) for a frame over MAX_FRAME (not read) or one that is not a JSON object."""
        try:
            data = self.conn.recv_bytes(MAX_FRAME)
        except OSError as exc:
            if exc.args == ("bad message length",):  # multiprocessing's word for a frame over the limit given
                self._refuse(f"a frame over the channel's limit of {MAX_FRAME} bytes was refused unread")
            raise
        except TypeError as exc:  # closed by another thread between multiprocessing's check and its read
            raise OSError("the connection was closed") from exc
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._refuse(f"a frame of {len(data)} bytes that is not a JSON object was refused")
        return message

    def waiting(self) -> bool:
        """Whether a frame has arrived that is not read yet (the other end has spoken)."""
        try:
            return self.conn.poll(0)
        except (OSError, ValueError):  # closed meanwhile
            return False

    def _refuse(self, what: str) -> None:
        log.error("control channel: %s; the connection is dropped", what)
        self.close()
        raise FrameRefused(what)

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


__all__ = ["BEAT_S", "CHALLENGE_S", "MAX_FRAME", "SILENT_S", "Channel", "FrameRefused",
           "StationAddress", "admit", "connect", "error_reply", "raise_reply"]
