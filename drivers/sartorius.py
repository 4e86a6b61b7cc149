"""Sartorius balances speaking SBI, the Sartorius Balance Interface (docs/protocols/balance-sartorius-sbi.md).

Sources: the Sartorius operating instructions, chapter "Data Interface" -- Entris II (data input format,
commands ``ESC P``, ``ESC T``, ``ESC f3_``, ``ESC x1_`` .. ``ESC x4_``; 22-character output, ``Stat`` lines
``High``/``Low``/``Err ###``), CP/GC/LE/FB series (16-character output: sign, value, unit; ``Stat`` codes
``H``/``L``/``HH``/``LL``/``C``; factory settings 7 data bits, odd parity, 1 stop bit), as reproduced at
https://www.easymanua.ls/sartorius/entris-ii/manual?p=3 and ?p=4,
https://www.easymanua.ls/sartorius/fb/manual?p=66 and https://www.easymanua.ls/sartorius/cp323s/manual?p=55;
cross-checked with the open-source client numat/sartorius (``sartorius/driver.py``: the unit field is empty
while the reading is unstable).

Commands are ``ESC <letter>`` or ``ESC <letters><digit>_``, each ended with CR LF. The balance answers
``ESC P`` and ``ESC x#_`` with one line ended by CR LF; key commands (``ESC T``, ``ESC f3_``) get no answer.
A weight line is 16 characters (``+   1.0124 g  `` CR LF: sign, value, unit) or 22 with a 6-character
ID code in front (``N     +   1.0124 g  `` CR LF). No unit means the reading is not stable yet. Set the
balance to print on request *without* waiting for stability, so every ``ESC P`` is answered at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pint

from drivers.balance import (
    ACTIONS,
    BalanceNotExecutable,
    BalanceOverload,
    BalanceUnderload,
    BalanceUnstable,
)
from drivers.base import LineDevice
from sweattest.core.errors import DeviceError, ProtocolError, UnitError
from sweattest.core.units import Q_, parse_number, parse_unit

ESC = "\x1b"
PRINT = ESC + "P"
TARE = ESC + "T"
ZERO = ESC + "f3_"
MODEL = ESC + "x1_"
SERIAL = ESC + "x2_"
SOFTWARE = ESC + "x3_"

STABLE_TIMEOUT_S = 15.0
#: seconds between two ``ESC P`` while waiting for a stable reading
POLL_S = 0.2
#: a zeroed or tared balance must then read within this many mg of zero
ZERO_TOLERANCE_MG = 1.0
#: ID codes of a net (or, with no tare, gross) weight in the 22-character format
WEIGHT_IDS = ("N", "N1", "G")
_UNITS = {"g": "g", "mg": "mg", "kg": "kg"}
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)\Z", re.ASCII)
_INFO = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_/]*\Z")
_OVERLOAD = ("H", "HH", "High")
_UNDERLOAD = ("L", "LL", "Low")
_ERRORS = ("ERR", "APP.ERR", "DIS.ERR", "PRT.ERR")
#: the simulator names itself in its model text, as SBI has no maker query
SIM_PREFIX = "SWEATTEST-"
CHECK_SETTINGS = ("Check that the device on this port is a Sartorius balance in SBI mode at 9600 baud, 7 data "
                  "bits, odd parity, then retry.")


def readable(command: str) -> str:
    """``'\\x1bP'`` -> ``'ESC P'`` for messages."""
    return command.replace(ESC, "ESC ")


@dataclass(frozen=True)
class SbiReading:
    """One weight line: the signed value, its unit (``None`` while unstable) and the ID code, if any."""

    value: float
    unit: str | None
    ident: str | None
    line: str

    @property
    def stable(self) -> bool:
        return self.unit is not None

    def quantity(self) -> pint.Quantity:
        if self.unit is None:
            raise ValueError("an unstable SBI reading has no unit")
        return Q_(self.value, parse_unit(_UNITS[self.unit], "balance"))


def _protocol(message: str, command: str, line: str, action: str = CHECK_SETTINGS) -> ProtocolError:
    return ProtocolError(f"balance: {message}", device="balance", command=readable(command),
                         received=line.encode("ascii", "backslashreplace"), action=action)


def parse_weight_line(line: str, command: str = PRINT) -> SbiReading:
    """A 16- or 22-character SBI line (without CR LF) -> SbiReading; raise for status and bad lines.

    ``Stat`` lines and bare status words raise: overload (``H``, ``HH``, ``High``) BalanceOverload,
    underload (``L``, ``LL``, ``Low``) BalanceUnderload, calibration (``C``, ``Cal.Ext.``)
    BalanceNotExecutable, ``Err ###`` DeviceError; anything else that is not a weight ProtocolError.
    """
    if len(line) not in (14, 20):
        raise _protocol(f"expected a 16- or 22-character weight line in reply to {readable(command)!r}, got "
                        f"{len(line) + 2} characters: {line!r}.", command, line)
    ident = line[:6].strip() if len(line) == 20 else None
    body = line[6:] if len(line) == 20 else line
    if ident == "Stat":
        _raise_status(body.strip(), command, line)
    sign, digits, gap, unit = body[0], body[1:11], body[10], body[11:14].strip()
    number = digits.replace("[", "").replace("]", "").strip()
    if sign not in "+- " or not _NUMBER.match(number) or gap not in " ]" or " " in number:
        if ident is None and _is_status(body.strip()):
            _raise_status(body.strip(), command, line)
        raise _protocol(f"garbled weight line in reply to {readable(command)!r}: {line!r}.", command, line,
                        "Check the cable and the balance's interface settings (9600 baud, 7 data bits, odd "
                        "parity), then weigh again.")
    if ident is not None and ident not in WEIGHT_IDS:
        raise _protocol(f"the balance sent a {ident!r} value, not the net weight: {line!r}.", command, line,
                        "Leave any counting or percent application on the balance and return to plain "
                        "weighing, then weigh again.")
    if unit and unit not in _UNITS:
        raise _protocol(f"weight in the unit {unit!r} in {line!r}; sweattest takes g, mg or kg.", command, line,
                        "Set the balance's weighing unit to g, then weigh again.")
    try:
        value = float(parse_number(number, "balance", wire=True)) * (-1.0 if sign == "-" else 1.0)
    except UnitError:
        raise _protocol(f"the weight in {line!r} is not a finite number.", command, line) from None
    return SbiReading(value, unit or None, ident, line)


def _is_status(status: str) -> bool:
    words = status.split()
    return (status in _OVERLOAD + _UNDERLOAD + ("C", "Cal.Ext.", "OFF")
            or bool(words) and words[0].upper() in _ERRORS)


def _raise_status(status: str, command: str, line: str) -> None:
    raw = line.encode("ascii", "backslashreplace")
    cmd = readable(command)
    if status in _OVERLOAD:
        raise BalanceOverload(f"balance: is overloaded (display {status!r}).", device="balance", command=cmd,
                              received=raw, action=ACTIONS[BalanceOverload])
    if status in _UNDERLOAD:
        raise BalanceUnderload(f"balance: is underloaded (display {status!r}).", device="balance", command=cmd,
                               received=raw, action=ACTIONS[BalanceUnderload])
    if status in ("C", "Cal.Ext."):
        raise BalanceNotExecutable("balance: is calibrating or adjusting and cannot weigh now.", device="balance",
                                   command=cmd, received=raw,
                                   action="Let the adjustment finish (or cancel it on the balance), then weigh "
                                          "again.")
    words = status.split()
    if words and words[0].upper() in _ERRORS:
        raise DeviceError(f"balance: reports the error {status!r}.", device="balance", command=cmd, received=raw,
                          action="Look the code up in the balance's troubleshooting guide, clear the cause, "
                                 "then weigh again.")
    if status == "OFF":
        raise DeviceError("balance: the display is switched off.", device="balance", command=cmd, received=raw,
                          action="Switch the balance on with its on/off key, then weigh again.")
    raise _protocol(f"unknown status line in reply to {cmd!r}: {line!r}.", command, line)


def _is_weight_line(line: str) -> bool:
    if line.startswith("Stat"):
        return True
    try:
        parse_weight_line(line)
    except (BalanceOverload, BalanceUnderload, BalanceNotExecutable):
        return True
    except DeviceError:
        return False
    return True


def parse_info_line(line: str, command: str, what: str) -> str:
    """The value of an identification line (``Model  BCE124I-1CEU``, or the bare value): its last word."""
    if _is_weight_line(line):
        raise _protocol(f"answered {readable(command)!r} with a weight or status line ({line!r}), not the "
                        f"{what}.", command, line,
                        "Set the balance's data output to 'on request' (no automatic printing), then retry.")
    words = line.split()
    if not 1 <= len(words) <= 2 or not _INFO.match(words[-1]):
        raise _protocol(f"expected the {what} in reply to {readable(command)!r}, got {line!r}.", command, line)
    return words[-1]


class SartoriusBalance(LineDevice):
    """A Sartorius balance over SBI (Entris, Quintix, Secura, Cubis, CP/LE/FB and their kin)."""

    device = "balance"
    model = "sartorius-sbi"
    write_terminator = b"\r\n"
    read_terminator = b"\r\n"
    bytesize = 7
    parity = "O"
    stopbits = 1
    timeout_s = 2.0

    def __init__(self, port: Any, **kw: Any):
        super().__init__(port, **kw)

    def error(self, cls: type[DeviceError], message: str, command: str, received: bytes,
              action: str) -> DeviceError:
        return super().error(cls, message.replace("\\x1b", "ESC "), readable(command), received, action)

    # --- identification -----------------------------------------------------------------------------

    def _info(self, command: str, what: str) -> str:
        return parse_info_line(self.query(command), command, what)

    def serial_number(self) -> str:
        """``ESC x2_``: the weigh cell's serial number."""
        return self._info(SERIAL, "serial number")

    def identify(self) -> str:
        """Maker, model (``ESC x1_``), serial number (``ESC x2_``), software (``ESC x3_``), comma-separated."""
        model = self._info(MODEL, "model")
        maker = "Sartorius"
        if model.startswith(SIM_PREFIX) and len(model) > len(SIM_PREFIX):
            maker, model = "SWEATTEST", model[len(SIM_PREFIX):]
        return f"{maker},{model},{self.serial_number()},{self._info(SOFTWARE, 'software version')}"

    # --- weighing -----------------------------------------------------------------------------------

    def reading(self) -> SbiReading:
        """``ESC P``: the reading now (stable or not)."""
        return parse_weight_line(self.query(PRINT), PRINT)

    def stable_weight(self, timeout_s: float = STABLE_TIMEOUT_S) -> pint.Quantity:
        """Poll ``ESC P`` until the reading is stable; the net weight in mg. BalanceUnstable on timeout."""
        deadline = self.clock.monotonic() + timeout_s
        while True:
            reading = self.reading()
            if reading.stable:
                return reading.quantity().to("mg")
            if self.clock.monotonic() + POLL_S > deadline:
                raise BalanceUnstable(f"balance: the reading did not become stable within {timeout_s:g} s "
                                      f"(last reading {reading.line.strip()!r}, no unit = not stable).",
                                      device="balance", command=readable(PRINT),
                                      received=reading.line.encode("ascii"), action=ACTIONS[BalanceUnstable])
            self.clock.sleep(POLL_S)

    def tare(self, timeout_s: float = STABLE_TIMEOUT_S) -> None:
        """``ESC T`` (the zero/tare key), then check that the balance reads zero once stable."""
        self._key_to_zero(TARE, "tare", timeout_s)

    def zero(self, timeout_s: float = STABLE_TIMEOUT_S) -> None:
        """``ESC f3_`` (the separate zero key), then check that the balance reads zero once stable."""
        self._key_to_zero(ZERO, "zero", timeout_s)

    def _key_to_zero(self, command: str, what: str, timeout_s: float) -> None:
        """SBI key commands are not answered: the following stable reading shows whether it worked."""
        self.flush_input(command)
        self.write(command)
        weight = self.stable_weight(timeout_s)
        if abs(weight.to("mg").magnitude) > ZERO_TOLERANCE_MG:
            raise DeviceError(f"balance: still reads {weight.to('mg').magnitude:g} mg after {readable(command)!r} "
                              f"({what}).", device="balance", command=readable(command),
                              action=f"Check that the balance accepts commands (keys not blocked, SBI mode), "
                                     f"press its {what.upper()} key if need be, then weigh again.")
