"""MLLP (HL7 v2 Minimal Lower Layer Protocol) framing: each message is sent as
``0x0B`` + message + ``0x1C 0x0D``. A frame that does not start with 0x0B, or that grows beyond
``MAX_MESSAGE`` bytes before its end, is an error; the reader then skips to the next frame end."""

from __future__ import annotations

import logging
import socket

from sweattest.core.clock import Clock, RealClock
from sweattest.core.errors import SweatTestError

log = logging.getLogger(__name__)
#: the clock a message's own time limit is kept on (the listener's real time)
_MONOTONIC = RealClock()
START, END = b"\x0b", b"\x1c\r"
_BETWEEN = b"\r\n\t "
#: The largest message accepted (an order is a few hundred bytes; a result a few kilobytes).
MAX_MESSAGE = 1024 * 1024


class FrameError(SweatTestError):
    """Bytes that are not a well-formed MLLP frame (or a frame too large). ``head``: the first bytes of the
    message, so the answer can still name its control ID."""

    def __init__(self, message: str, head: bytes = b""):
        super().__init__(message)
        self.head = head


class NotText(SweatTestError):
    """A received message that is not UTF-8 text (``head``: what can be read of it, to name its control ID)."""

    def __init__(self, head: str):
        super().__init__("the message is not UTF-8 text; send it as UTF-8 (MSH-18 UNICODE UTF-8)")
        self.head = head


def decode(data: bytes) -> str:
    """A received message's text, the same for MLLP and for the order folder: UTF-8, or NotText (whatever
    MSH-18 declares: sweattest takes UTF-8 only)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte order mark (Windows tools) is no text
    except UnicodeDecodeError:
        raise NotText(data.decode("latin-1")) from None


def frame(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return START + data + END


class FrameReader:
    """Reads MLLP frames from a connected socket. ``read()`` returns the next message's bytes, None when the
    peer closed the connection, or raises FrameError (the frame's bytes are skipped up to its end)."""

    def __init__(self, sock: socket.socket, limit: int = MAX_MESSAGE, message_timeout_s: float | None = None, *,
                 deadline: float | None = None, clock: Clock | None = None):
        self.sock = sock
        self.limit = limit
        self.buffer = b""
        #: a message must arrive whole within this many seconds of its first byte (None: no limit); between
        #: bytes the socket's own timeout applies
        self.message_timeout_s, self.idle_s, self.deadline = message_timeout_s, sock.gettimeout(), None
        #: an answer awaited must be whole by ``answer_by`` (``clock.monotonic``), however it dribbles in
        self.answer_by, self.clock = deadline, clock

    def _more(self) -> bool:
        timeout, limited = self.sock.gettimeout(), False
        if self.deadline is not None:
            left = self.deadline - _MONOTONIC.monotonic()
            if left <= 0:
                raise TimeoutError(f"a message did not arrive whole within {self.message_timeout_s:g} s")
            timeout, limited = (left if self.idle_s is None else min(self.idle_s, left)), True
        elif self.message_timeout_s is not None:
            timeout, limited = self.idle_s, True  # between messages: the idle limit alone
        if self.answer_by is not None:
            left = self.answer_by - self.clock.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            timeout, limited = (left if timeout is None else min(timeout, left)), True
        if limited:
            self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read(self) -> bytes | None:
        self.deadline = None
        while not self.buffer.lstrip(_BETWEEN):  # line ends some peers send between frames are not a message
            self.buffer = b""
            if not self._more():
                return None
        if self.message_timeout_s is not None:
            self.deadline = _MONOTONIC.monotonic() + self.message_timeout_s
        self.buffer = self.buffer.lstrip(_BETWEEN)
        if not self.buffer.startswith(START) and not self._to_start():
            first, head = self.buffer[:1].hex(), self.buffer[:4096]
            self._skip()
            raise FrameError(f"a message must start with the MLLP start byte 0x0B, not 0x{first}", head)
        while True:
            end = self.buffer.find(END)
            if end >= 0:
                data, self.buffer = self.buffer[1:end], self.buffer[end + len(END):]
                if len(data) > self.limit:
                    raise FrameError(f"message of {len(data)} bytes is larger than {self.limit} bytes", data[:4096])
                return data
            if len(self.buffer) > self.limit + 1:
                head = self.buffer[1:4097]
                self._skip()
                raise FrameError(f"message larger than {self.limit} bytes", head)
            if not self._more():
                head, self.buffer = self.buffer[1:4097], b""
                raise FrameError("the connection closed in the middle of a message (no 0x1C 0x0D frame end)", head)

    def _to_start(self) -> bool:
        """Bytes before a frame's start byte (noise between frames) are dropped: True when a start byte comes
        before any frame end. False for a message sent without its start byte (it ends with 0x1C 0x0D first)."""
        while True:
            start, end = self.buffer.find(START), self.buffer.find(END)
            if start >= 0 and (end < 0 or start < end):
                log.warning("MLLP: %d bytes before a frame's start byte dropped", start)
                self.buffer = self.buffer[start:]
                return True
            if end >= 0 or len(self.buffer) > self.limit or not self._more():
                return False

    def _skip(self) -> None:
        """Drop bytes up to and including the next frame end (reading on if it has not arrived yet)."""
        while True:
            end = self.buffer.find(END)
            if end >= 0:
                self.buffer = self.buffer[end + len(END):]
                return
            self.buffer = self.buffer[-1:]
            if not self._more():
                self.buffer = b""
                return


def exchange(address: tuple[str, int], message: str, timeout_s: float) -> str:
    """Send one message and return the answer (the acknowledgement); raises OSError (refused, dropped, no
    whole answer within ``timeout_s`` of the message sent, however it trickles in: ``TimeoutError``) or
    FrameError."""
    clock = RealClock()
    with socket.create_connection(address, timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(frame(message))
        answer = FrameReader(sock, deadline=clock.monotonic() + timeout_s, clock=clock).read()
    if answer is None:
        raise ConnectionError("the LIS closed the connection without acknowledging")
    return answer.decode("utf-8", errors="replace")
