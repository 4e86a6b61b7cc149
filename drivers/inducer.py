"""Iontophoresis current source: SCPI over serial, one channel per site (docs/protocols/inducer.md).

Lines end in LF both ways; 9600 8N1. Numbers go on the wire in SI units (A, V, s); the driver takes and
returns pint quantities. Limits are checked before anything is sent and never clipped: 4 mA is the hard
ceiling whatever a protocol file says. Every state change that matters for safety is read back.
"""

from __future__ import annotations

import re
from typing import Any

import pint

from drivers.base import LineDevice, strict_range
from drivers.inducer_latch import FAULTY_ACTION, FaultyInducer, declare_faulty, faulty
from drivers.inducer_off import ChannelOff, OffReport
from sweattest.core import units
from sweattest.core.errors import DeviceError, ProtocolError, UnitError, ValidationError
from sweattest.core.units import Q_, parse_quantity

MAX_CURRENT_MA = 4.0
MAX_COMPLIANCE_V = 40.0
MAX_WATCHDOG_S = 3600.0
#: SCPI-99 7.2.1: +/-9.9E+37 is infinity, 9.91E+37 not-a-number
_SCPI_NOT_A_VALUE = re.compile(r"[+-]?9\.91?0*E\+?0*37", re.IGNORECASE)
#: Attempts of the off sequence before the inducer is declared faulty (each within the device timeout).
OFF_ATTEMPTS = 2
#: Seconds of silence that show no late reply is still on its way (the device answers within 0.1 s).
DRAIN_S = 0.2
_ERROR = re.compile(r'([+-]?\d+),"([^"]*)"\Z')
CHECK_INDUCER = "Switch the inducer off and on, check its cable, and restart the stimulation."


class SettingNotTaken(DeviceError):
    """The inducer answered, but a setting reads back other than what was sent (a command not carried out)."""


def parse_number(text: str) -> float:
    """A SCPI NR1/NR2/NR3 reply (``1.500000E-03``); anything else is a ProtocolError.

    SCPI writes infinity as 9.9E+37 and not-a-number as 9.91E+37: the inducer could not measure, which is
    never a value to act on.
    """
    t = text.strip()
    received = text.encode("ascii", "backslashreplace")
    if _SCPI_NOT_A_VALUE.fullmatch(t):
        raise ProtocolError(f"inducer: replied {t}, SCPI's code for not-a-number or infinity (no valid "
                            "reading).", device="inducer", received=received, action=CHECK_INDUCER)
    try:
        return float(units.parse_number(t, "inducer", wire=True))
    except UnitError:
        raise ProtocolError(f"inducer: expected a number, got {text!r}.", device="inducer", received=received,
                            action=CHECK_INDUCER) from None


def parse_pair(text: str) -> tuple[float, float]:
    """The replies to two queries sent on one line, joined with ``;``: two numbers (see ``parse_number``)."""
    parts = text.split(";")
    if len(parts) != 2:
        raise ProtocolError(f"inducer: expected two numbers joined with ';', got {text!r}.", device="inducer",
                            received=text.encode("ascii", "backslashreplace"), action=CHECK_INDUCER)
    return parse_number(parts[0]), parse_number(parts[1])


def parse_error(text: str) -> tuple[int, str]:
    """A ``SYSTem:ERRor?`` reply: ``-222,"Data out of range"``."""
    m = _ERROR.match(text.strip())
    if not m:
        raise ProtocolError(f"inducer: expected an error entry like 0,\"No error\", got {text!r}.",
                            device="inducer", received=text.encode("ascii", "backslashreplace"),
                            action=CHECK_INDUCER)
    return int(m.group(1)), m.group(2)


def parse_bool(text: str) -> bool:
    t = text.strip()
    if t not in ("0", "1"):
        raise ProtocolError(f"inducer: expected 0 or 1, got {text!r}.", device="inducer",
                            received=text.encode("ascii", "backslashreplace"), action=CHECK_INDUCER)
    return t == "1"


class Inducer(LineDevice):
    """A SCPI current source with ``channels`` independent outputs."""

    device = "inducer"
    write_terminator = b"\n"
    read_terminator = b"\n"
    timeout_s = 0.5

    def __init__(self, port: Any, channels: int = 2, **kw: Any):
        super().__init__(port, **kw)
        self.channels = channels
        #: where this inducer is plugged in (its pyserial URL or device path), part of its identity
        self.port_name = str(getattr(port, "port", None) or getattr(port, "name", None) or repr(port))
        #: its serial number, once ``identify()`` has read it
        self.serial: str | None = None
        #: a query was sent whose reply was not read (interrupted, timed out, garbled): it may still arrive
        self._reply_pending = False

    def query(self, command: str, timeout_s: float | None = None) -> str:
        self._reply_pending = True
        reply = super().query(command, timeout_s)
        self._reply_pending = False
        return reply

    # --- IEEE 488.2 ---------------------------------------------------------------------------------

    def identify(self) -> str:
        """``*IDN?``: manufacturer,model,serial,firmware."""
        reply = self.query("*IDN?")
        if reply.count(",") != 3:
            raise self._protocol("*IDN?", reply, "an identification like MAKER,MODEL,SERIAL,FIRMWARE")
        self.serial = reply.split(",")[2].strip() or None
        return reply

    def reset(self) -> None:
        """``*RST`` then ``*OPC?``: every output off, setpoints zero."""
        self.write("*RST")
        self.wait_complete()
        self.check_errors("*RST")

    def wait_complete(self) -> None:
        reply = self.query("*OPC?")
        if reply.strip() != "1":
            raise self._protocol("*OPC?", reply, "1")

    def errors(self) -> list[tuple[int, str]]:
        """Drain ``SYSTem:ERRor?`` until ``0,"No error"`` (at most 20 entries)."""
        found = []
        for _ in range(20):
            code, text = self._parse(parse_error, "SYST:ERR?")
            if code == 0:
                return found
            found.append((code, text))
        raise self.error(DeviceError, "the error queue does not empty.", "SYST:ERR?", b"", CHECK_INDUCER)

    def check_errors(self, command: str) -> None:
        errs = self.errors()
        if errs:
            listed = "; ".join(f"{c} {t}" for c, t in errs)
            raise self.error(DeviceError, f"the inducer refused {command!r}: {listed}.", command, b"",
                             "Check the protocol settings; the output state was not changed by this command.")

    # --- outputs ------------------------------------------------------------------------------------

    def output_on(self, channel: int) -> None:
        """Close the output relay of ``channel``, confirmed with ``OUTP?``; refused on a faulty inducer."""
        ch = self._ch(channel)
        self._refuse_if_faulty(f"OUTP{ch} ON")
        command = f"OUTP{ch} ON"
        self.flush_input(command)
        self.write(command)
        if not self.output_state(ch):
            raise self.error(DeviceError, f"output {ch} did not switch on.", command, b"", CHECK_INDUCER)

    def output_state(self, channel: int) -> bool:
        ch = self._ch(channel)
        return self._parse(parse_bool, f"OUTP{ch}?")

    def safe_off(self, channel: int | None = None) -> OffReport:
        """Remove the energy from every channel (``channel`` first) with two independent barriers, in the
        order that is fastest: ``SOUR<n>:CURR 0`` for every channel, ``OUTP<n> OFF`` for every channel, then
        ``SOUR<n>:CURR?`` and ``OUTP<n>?`` read back. What is not confirmed is sent and read again; if it is
        still not confirmed, the inducer is declared faulty. Never raises: the report says what was and was
        not confirmed."""
        order = list(range(1, self.channels + 1))
        if channel is not None:
            order.remove(self._ch(channel))
            order.insert(0, channel)
        reads: dict[int, tuple[list[str], list[str]]] = {ch: ([], []) for ch in order}
        done: dict[int, tuple[bool, bool]] = {ch: (False, False) for ch in order}
        for _ in range(OFF_ATTEMPTS):
            pending = [ch for ch in order if done[ch] != (True, True)]
            if not pending:
                break
            for ch in pending:
                self._send_quietly(f"SOUR{ch}:CURR 0")
            for ch in pending:
                self._send_quietly(f"OUTP{ch} OFF")
            if self._reply_pending:
                self._drain()
            for ch in pending:
                zero, zero_text = self._read_quietly(f"SOUR{ch}:CURR?", lambda r: abs(parse_number(r)) < 1e-9)
                off, off_text = self._read_quietly(f"OUTP{ch}?", lambda r: not parse_bool(r))
                reads[ch][0].append(zero_text)
                reads[ch][1].append(off_text)
                done[ch] = (zero, off)
        channels = tuple(ChannelOff(ch, done[ch][0], done[ch][1], tuple(reads[ch][0]), tuple(reads[ch][1]))
                         for ch in order)
        report = OffReport(channels)
        if not report.confirmed:
            declare_faulty(self.port_name, self.serial, f"off not confirmed: {report.describe()}")
            report = OffReport(channels, faulty=True)
        return report

    def all_outputs_off(self) -> None:
        """``safe_off`` of every channel; DeviceError if the inducer did not confirm both barriers."""
        report = self.safe_off()
        if not report.confirmed:
            raise self.error(DeviceError, f"the outputs could not be confirmed off ({report.describe()}); the "
                             "inducer is declared faulty.", "OUTP OFF", b"", FAULTY_ACTION)

    def faulty(self) -> FaultyInducer | None:
        """The latch entry when this inducer was declared faulty in this process, else None."""
        return faulty(self.port_name, self.serial)

    def _refuse_if_faulty(self, command: str) -> None:
        entry = self.faulty()
        if entry is not None:
            raise self.error(DeviceError, f"refused {command!r}: this inducer ({self.port_name}"
                             f"{', serial ' + entry.serial if entry.serial else ''}) was declared faulty "
                             f"({entry.reason}) and is never switched on again by this program.", command, b"",
                             FAULTY_ACTION)

    def _drain(self) -> None:
        """Read and drop late replies until the line is silent, so each read-back gets its own reply."""
        try:
            for _ in range(10):
                self.read_raw_line("late reply", DRAIN_S)
        except Exception:  # noqa: BLE001 - silence (or a dead port, which the read-backs will show)
            pass
        self._reply_pending = False

    def _send_quietly(self, command: str) -> None:
        try:
            self.flush_input(command)
            self.write(command)
        except Exception:  # noqa: BLE001 - the off path goes on to the next barrier whatever happens
            pass

    def _read_quietly(self, command: str, confirms) -> tuple[bool, str]:
        """(confirmed, what was read) for one read-back query; never raises."""
        try:
            reply = self.query(command)
        except Exception:  # noqa: BLE001
            return False, "no valid reply"
        try:
            return bool(confirms(reply)), reply.strip()
        except ProtocolError:
            return False, repr(reply)

    # --- settings -----------------------------------------------------------------------------------

    def set_current(self, channel: int, current: pint.Quantity) -> None:
        """Setpoint of ``channel``; 0 to 4 mA, else ValidationError (never clipped). Read back."""
        ch = self._ch(channel)
        self.set_current_ma(ch, float(parse_quantity(current, "current", f"inducer channel {ch} current")
                                      .to("mA").magnitude))

    def set_current_ma(self, channel: int, ma: float) -> None:
        """``set_current`` with the setpoint as a plain number of mA: the form the stimulation loop ramps with
        (no unit object made and taken apart at every step of a ramp)."""
        ch = self._ch(channel)
        if isinstance(ma, bool) or not isinstance(ma, int | float):
            raise ValidationError(f"inducer channel {ch} current must be a number of mA, got {ma!r}; nothing "
                                  "was sent.")
        strict_range(ma, 0.0, MAX_CURRENT_MA, f"inducer channel {ch} current (mA)")
        if ma > 0:
            self._refuse_if_faulty(f"SOUR{ch}:CURR")
        amps = ma / 1000.0
        self._set_and_verify(f"SOUR{ch}:CURR", amps, f"{amps:.6E}")

    def set_compliance(self, channel: int, voltage: pint.Quantity) -> None:
        """Compliance (maximum output voltage) of ``channel``; above 0 and up to 40 V."""
        ch = self._ch(channel)
        where = f"inducer channel {ch} compliance"
        volts = float(parse_quantity(voltage, "voltage", where).to("V").magnitude)
        if volts <= 0:
            raise ValidationError(f"inducer channel {ch} compliance must be above 0 V; nothing was sent.")
        strict_range(volts, 0.0, MAX_COMPLIANCE_V, f"inducer channel {ch} compliance (V)")
        self._set_and_verify(f"SOUR{ch}:VOLT:PROT", volts, f"{volts:.6E}")

    def set_watchdog(self, seconds: float) -> None:
        """Outputs go off if the host is silent this long (0 disables)."""
        strict_range(float(seconds), 0.0, MAX_WATCHDOG_S, "inducer watchdog (s)")
        self._set_and_verify("SYST:WDOG", float(seconds), f"{float(seconds):g}")

    def _set_and_verify(self, header: str, value: float, text: str) -> None:
        command = f"{header} {text}"
        self.flush_input(command)
        self.write(command)
        back = self._parse(parse_number, f"{header}?")
        if abs(back - value) > max(1e-9, abs(value) * 1e-6):
            self.check_errors(command)
            raise self.error(SettingNotTaken, f"{header} reads back {back:g}, sent {value:g}.", command, b"",
                             CHECK_INDUCER)

    # --- measurement --------------------------------------------------------------------------------

    def measure(self, channel: int) -> tuple[pint.Quantity, pint.Quantity]:
        """(current in mA, voltage in V) at the output of ``channel``, both asked on one line
        (``MEAS<n>:CURR?;MEAS<n>:VOLT?``): one round trip per reading of the 10 Hz loop."""
        milliamps, volts = self.measure_ma_v(channel)
        return Q_(milliamps, "mA"), Q_(volts, "V")

    def measure_ma_v(self, channel: int) -> tuple[float, float]:
        """``measure`` as plain numbers, current in mA and voltage in V: the form the 10 Hz loop computes with
        and records (no unit objects made and taken apart again ten times a second)."""
        ch = self._ch(channel)
        amps, volts = self._parse(parse_pair, f"MEAS{ch}:CURR?;MEAS{ch}:VOLT?")
        return amps * 1000.0, volts

    # --- helpers ------------------------------------------------------------------------------------

    def _ch(self, channel: int) -> int:
        if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= self.channels:
            raise ValidationError(f"inducer channel must be 1 to {self.channels}, got {channel!r}.")
        return channel

    def _parse(self, parser, command: str):
        reply = self.query(command)
        try:
            return parser(reply)
        except ProtocolError as exc:
            why = str(exc).removeprefix("inducer: ").removesuffix(f" {exc.action}").rstrip(".")
            raise self.error(ProtocolError, f"unexpected reply to {command!r}: {reply!r} ({why}).", command,
                             reply.encode("ascii"), exc.action or CHECK_INDUCER) from None

    def _protocol(self, command: str, reply: str, expected: str) -> ProtocolError:
        return self.error(ProtocolError, f"unexpected reply to {command!r}: {reply!r} (expected {expected}).",
                          command, reply.encode("ascii"), CHECK_INDUCER)
