"""A simulated LIS for training and interface testing: it sends order messages to sweattest's listener and
receives results on its own MLLP port, answering AA, AE, AR or nothing, as told, and says what it received."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import hl7

from sweattest.core.clock import RealClock
from sweattest.lis import hl7_read as h
from sweattest.lis.ack import APPLICATION_INTERNAL_ERROR, Problem, build_ack, header, read_ack
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.mllp import exchange

ANSWERS = ("AA", "AE", "AR", "none")


def split_messages(text: str) -> list[str]:
    """The messages of an orders file: each starts with a line ``MSH|``; lines end with CR, LF or CR LF;
    blank lines and lines starting with ``#`` are ignored. Returned with CR segment ends."""
    messages: list[list[str]] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("MSH|") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(m) + "\r" for m in messages]


class SimulatedLis:
    def __init__(self, port: int, answer: str = "AA", *, host: str = "127.0.0.1",
                 say: Callable[[str], None] = print):
        self.answer, self.say = answer, say
        self.received: list[str] = []
        self.arrived = threading.Condition()
        now = RealClock().utcnow  # the simulator stands for another system, with its own clock
        self._ack = lambda text, code, problem: build_ack(text, code, problem, application="SIMLIS",
                                                          facility="SIMHOSP", at=now())
        self.listener = OrderListener((host, port), self._result, rejecter("SIMLIS", "SIMHOSP", now))
        self.address = self.listener.address

    def _result(self, text: str) -> str | None:
        msh = header(text)
        kind, control = h.raw(msh, 9) or "?", h.raw(msh, 10) or "?"
        try:  # read by python-hl7 (what a result or order status carries: ORC-1/5/16, OBR-2/25)
            message = hl7.parse("\r".join(line for line in re.split(r"\r\n|\r|\n", text) if line))
        except Exception:  # noqa: BLE001 - a message the simulated LIS cannot read is still answered as told
            message = None
        orc, obr = h.first(message, "ORC") if message else None, h.first(message, "OBR") if message else None
        accession, status = h.raw(obr, 2) or "?", h.raw(obr, 25) or "?"
        reply = {"AA": "answered AA", "AE": "answered AE", "AR": "answered AR", "none": "not answered"}[self.answer]
        if kind.startswith("OML") and h.raw(orc, 5):  # an order status from the laboratory (IHE LTW)
            self.say(f"received {kind} {control} for order {accession} (order control {h.raw(orc, 1)}, status "
                     f"{h.raw(orc, 5)}, reason {h.raw(orc, 16) or '-'}): {reply}")
        else:
            self.say(f"received {kind} {control} for order {accession} (result status {status}): {reply}")
        with self.arrived:
            self.received.append(text)
            self.arrived.notify_all()
        if self.answer == "none":
            return None
        problem = None if self.answer == "AA" else Problem(APPLICATION_INTERNAL_ERROR, f"simulated {self.answer}")
        return self._ack(text, self.answer, problem)

    def start(self) -> SimulatedLis:
        self.listener.start()
        return self

    def stop(self) -> None:
        self.listener.stop()

    def send_orders(self, messages: list[str], to: tuple[str, int], timeout_s: float = 10.0) -> list[str]:
        """Send each order and report its acknowledgement; returns the ACK codes."""
        codes = []
        for message in messages:
            msh = header(message)
            control = h.raw(msh, 10) or "?"
            try:
                answer = read_ack(exchange(to, message, timeout_s))
                detail = f": {answer.text}" if answer.text else ""
                self.say(f"sent order {control}: {answer.code}{detail}")
                codes.append(answer.code)
            except (OSError, ValueError) as exc:
                self.say(f"sent order {control}: no acknowledgement ({exc})")
                codes.append("none")
        return codes

    def wait_for(self, count: int, timeout_s: float | None) -> bool:
        """Until ``count`` results have arrived (or ``timeout_s`` passed)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout_s)

