"""Mettler Toledo MT-SICS balances, levels 0 and 1 (docs/protocols/balance.md).

CR LF both ways, 9600 8N1. A reply starts with the command's name, then a status: ``S S      1.0124 g``
(stable weight), ``S D`` (dynamic, from ``SI``), ``S I`` (not executable now), ``S +`` / ``S -``
(overload / underload); ``ES``, ``ET`` and ``EL`` are syntax, transmission and logical errors.
Weights come back as pint quantities in the balance's own unit.
"""

from __future__ import annotations

import re
from typing import Any

import pint

from drivers.base import LineDevice
from sweattest.core.errors import DeviceError, ProtocolError, UnitError
from sweattest.core.units import Q_, parse_number, parse_unit

STABLE_TIMEOUT_S = 15.0
#: MT-SICS writes weights without an exponent; the number itself is read by the one number grammar
_VALUE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")
_UNITS = {"g": "g", "mg": "mg", "kg": "kg", "ug": "ug"}
#: commands whose reply starts with another name than the command's own
REPLY_ID = {"SI": "S", "@": "I4"}


class BalanceUnstable(DeviceError):
    """The reading did not become stable in time (draught, vibration, a touching pan)."""


class BalanceOverload(DeviceError):
    """The load is above the balance's capacity (``+``)."""


class BalanceUnderload(DeviceError):
    """The load is below the balance's zero range, usually the pan is missing (``-``)."""


class BalanceNotExecutable(DeviceError):
    """The balance cannot carry out the command now (``I``): busy, or stability not reached."""


ACTIONS = {
    BalanceUnstable: "Close the draught shield, keep the bench still, and weigh again.",
    BalanceOverload: "Take the load off the pan: it is far too heavy for a sample container.",
    BalanceUnderload: "Check that the weighing pan is in place, then zero the balance and weigh again.",
    BalanceNotExecutable: "Wait until the balance has finished its current task, then weigh again.",
}


def parse_reply(line: str, expected: str) -> tuple[str, list[str]]:
    """Split an MT-SICS reply to command ``expected`` into (status, values); raise for error replies.

    ``ES``/``ET`` raise ProtocolError, ``EL`` DeviceError, ``I``/``+``/``-`` the matching balance error,
    and a reply to another command or one without a status ProtocolError.
    """
    raw = line.encode("ascii", "backslashreplace")
    words = line.split()
    if words in (["ES"], ["ET"], ["EL"]):
        _raise_general(words[0], expected, raw)
    if len(words) < 2 or words[0] != expected:
        raise ProtocolError(f"balance: unexpected reply to {expected!r}: {line!r}.", device="balance",
                            command=expected, received=raw,
                            action="Check that the device on this port is an MT-SICS balance.")
    status, values = words[1], words[2:]
    for code, cls, what in (("I", BalanceNotExecutable, "cannot carry out the command now"),
                            ("+", BalanceOverload, "is overloaded"),
                            ("-", BalanceUnderload, "is underloaded")):
        if status == code:
            raise cls(f"balance: {what} ({expected} {code}).", device="balance", command=expected,
                      received=raw, action=ACTIONS[cls])
    return status, values


def _raise_general(code: str, command: str, raw: bytes) -> None:
    if code == "ES":
        raise ProtocolError(f"balance: did not understand {command!r} (ES, syntax error).", device="balance",
                            command=command, received=raw, action="Check that the balance speaks MT-SICS.")
    if code == "ET":
        raise ProtocolError(f"balance: transmission error on {command!r} (ET).", device="balance",
                            command=command, received=raw,
                            action="Check the cable and that balance and computer use 9600 8N1, then retry.")
    raise DeviceError(f"balance: refused {command!r} (EL, logical error: a parameter is not allowed).",
                      device="balance", command=command, received=raw,
                      action="Check the balance's settings; the command was not carried out.")


def parse_weight(values: list[str], command: str, line: str) -> pint.Quantity:
    """``['1.0124', 'g']`` -> 1.0124 g; anything else is a ProtocolError."""
    if len(values) != 2 or not _VALUE.match(values[0]) or values[1] not in _UNITS:
        raise ProtocolError(f"balance: expected a weight like '1.0124 g' in the reply to {command!r}, got "
                            f"{line!r}.", device="balance", command=command,
                            received=line.encode("ascii", "backslashreplace"),
                            action="Set the balance's unit to g and retry.")
    try:
        grams = float(parse_number(values[0], "balance"))
    except UnitError:
        raise ProtocolError(f"balance: the weight in the reply to {command!r} is not a finite number: {line!r}.",
                            device="balance", command=command, received=line.encode("ascii", "backslashreplace"),
                            action="Check the balance's display and retry.") from None
    return Q_(grams, parse_unit(_UNITS[values[1]], "balance"))


def parse_text(values: list[str], command: str, line: str) -> str:
    """The quoted text of ``I2``/``I4`` replies, without its quotes."""
    text = " ".join(values)
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise ProtocolError(f"balance: expected quoted text in the reply to {command!r}, got {line!r}.",
                            device="balance", command=command,
                            received=line.encode("ascii", "backslashreplace"),
                            action="Check that the device on this port is an MT-SICS balance.")
    return text[1:-1]


class Balance(LineDevice):
    """An MT-SICS balance."""

    device = "balance"
    write_terminator = b"\r\n"
    read_terminator = b"\r\n"
    timeout_s = 2.0

    def __init__(self, port: Any, **kw: Any):
        super().__init__(port, **kw)

    def command(self, command: str, timeout_s: float | None = None) -> tuple[str, list[str], str]:
        """Send ``command``; return (status, values, line) of the reply that belongs to it.

        Replies to other commands (late answers to an earlier command) are skipped until the deadline.
        """
        expected = REPLY_ID.get(command.split()[0], command.split()[0])
        deadline = self.clock.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        self.flush_input(command)
        self.write(command)
        while True:
            line = self.read_line(command, max(0.0, deadline - self.clock.monotonic()))
            words = line.split()
            if words and words[0] != expected and words[0] not in ("ES", "ET", "EL"):
                continue  # a stale reply to an earlier command
            status, values = parse_reply(line, expected)
            return status, values, line

    def identify(self) -> str:
        """Model and capacity (``I2``) and serial number (``I4``): ``XS205 220.0000 g, SN B123456789``."""
        _, values, line = self.command("I2")
        model = parse_text(values, "I2", line)
        _, values, line = self.command("I4")
        return f"{model}, SN {parse_text(values, 'I4', line)}"

    def reset(self) -> None:
        """``@``: cancel everything pending, clear the tare; the balance answers with its serial number."""
        self.command("@")

    def zero(self, timeout_s: float = STABLE_TIMEOUT_S) -> None:
        """``Z``: zero once the reading is stable."""
        self._stable_command("Z", timeout_s)

    def tare(self, timeout_s: float = STABLE_TIMEOUT_S) -> pint.Quantity:
        """``T``: tare once stable; returns the tare weight."""
        status, values, line = self._stable_command("T", timeout_s)
        return parse_weight(values, "T", line)

    def tare_value(self) -> pint.Quantity:
        _, values, line = self.command("TA")
        return parse_weight(values, "TA", line)

    def clear_tare(self) -> None:
        self.command("TAC")

    def stable_weight(self, timeout_s: float = STABLE_TIMEOUT_S) -> pint.Quantity:
        """``S``: the next stable net weight, in the balance's unit."""
        status, values, line = self._stable_command("S", timeout_s)
        if status != "S":
            raise ProtocolError(f"balance: expected a stable weight, got {line!r}.", device="balance",
                                command="S", received=line.encode("ascii"),
                                action="Check the balance's settings and weigh again.")
        return parse_weight(values, "S", line)

    def weight(self) -> tuple[pint.Quantity, bool]:
        """``SI``: the net weight now, and whether it is stable."""
        status, values, line = self.command("SI")
        if status not in ("S", "D"):
            raise ProtocolError(f"balance: unexpected status in {line!r}.", device="balance", command="SI",
                                received=line.encode("ascii"), action="Weigh again.")
        return parse_weight(values, "SI", line), status == "S"

    def _stable_command(self, command: str, timeout_s: float) -> tuple[str, list[str], str]:
        """A command that waits for stability; an unstable reading becomes BalanceUnstable."""
        try:
            return self.command(command, timeout_s)
        except BalanceNotExecutable:
            if self._dynamic():
                raise self._unstable(command, timeout_s, cancelled=False) from None
            raise
        except ProtocolError:
            raise
        except DeviceError as exc:
            if exc.received:
                raise
            self._cancel()
            if not self._dynamic():
                raise
            raise self._unstable(command, timeout_s, cancelled=True) from None

    def _cancel(self) -> None:
        """``@`` cancels the command still waiting for stability, so its late reply cannot be taken for
        the answer to the next command. MT-SICS resets the tare with it."""
        try:
            self.command("@")
        except DeviceError:
            pass

    def _dynamic(self) -> bool:
        """Whether ``SI`` reports a dynamic (unstable) reading; False if the balance does not answer."""
        try:
            status, _, _ = self.command("SI")
        except DeviceError:
            return False
        return status == "D"

    def _unstable(self, command: str, timeout_s: float, cancelled: bool) -> BalanceUnstable:
        note = " (the waiting command was cancelled; any tare is cleared)" if cancelled else ""
        return BalanceUnstable(f"balance: the reading did not become stable within {timeout_s:g} s{note}.",
                               device="balance", command=command, action=ACTIONS[BalanceUnstable])
