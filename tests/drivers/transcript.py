"""A port that replays a recorded dialogue: every write must be the next expected command, every reply
is then delivered, and at the end every pair must have been used (as pymeasure's expected_protocol)."""

from __future__ import annotations

from sweattest.core.clock import VirtualClock


class TranscriptPort:
    """``pairs``: (bytes the host must send or None, bytes the device replies or None)."""

    def __init__(self, pairs: list[tuple[bytes | None, bytes | None]], clock: VirtualClock | None = None,
                 strict: bool = True):
        self.pairs = list(pairs)
        self.strict = strict
        self.clock = clock or VirtualClock()
        self.timeout = 0.1
        self._rx = bytearray()
        self._deliver_unsolicited()

    def _deliver_unsolicited(self) -> None:
        while self.pairs and self.pairs[0][0] is None:
            self._rx += self.pairs.pop(0)[1] or b""

    def write(self, data: bytes) -> int:
        if not self.strict and not self.pairs:
            return len(data)  # beyond the transcript the device stays silent
        assert self.pairs, f"unexpected write {data!r}: the transcript is used up"
        sent, reply = self.pairs.pop(0)
        assert data == sent, f"sent {data!r}, transcript expects {sent!r}"
        self._rx += reply or b""
        self._deliver_unsolicited()
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self._rx:
            self.clock.sleep(self.timeout)
            return b""
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self._rx)

    def reset_input_buffer(self) -> None:
        self._rx.clear()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def assert_consumed(self) -> None:
        assert not self.pairs, f"transcript not used up: {self.pairs}"
        assert not self._rx, f"replies left unread: {bytes(self._rx)!r}"
