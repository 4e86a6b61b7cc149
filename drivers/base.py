"""The base of line-oriented serial instruments.

A driver takes an open pyserial port (``serial.serial_for_url(url, ...)``: a hardware port,
``socket://``, ``loop://``, a PTY or ``sim://``). What every driver gets from here:

* terminators explicit per device, in both directions;
* stale input flushed before each query, so a late reply to an earlier command is never taken for the
  answer to this one;
* reads to the terminator, never to a timeout, and a deadline on every command: a silent device, a
  partial frame, garbled bytes or a port that disappears raise within the command's timeout;
* errors that carry the device, the command, the raw bytes received and what the tech should do.

Retries are not done here: only a driver knows where its protocol makes a retry safe.
"""

from __future__ import annotations

import errno
from typing import Any, Self

import serial

from drivers.port_lock import PortInUse, PortLock, lock_device, unlock_device
from sweattest.core.clock import Clock, RealClock
from sweattest.core.errors import DeviceError, ProtocolError, ValidationError

try:  # a terminal whose far end vanished fails tcflush with termios.error, not OSError
    from termios import error as _TermiosError

    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, _TermiosError)
except ImportError:  # pragma: no cover - Windows
    PORT_ERRORS = (serial.SerialException, OSError)

CHECK_CABLE = "Check that the device is switched on and its cable is plugged in, then retry."


class Silent(DeviceError):
    """Not one byte came within the command's time: the device is silent (or, for a device that only talks, has
    nothing to say yet)."""


class LineDevice:
    """An instrument that exchanges ASCII lines."""

    #: name used in every error message
    device = "device"
    write_terminator = b"\n"
    read_terminator = b"\n"
    baudrate = 9600
    #: character framing ``from_url`` opens the port with (pyserial's bytesize, parity, stopbits)
    bytesize = 8
    parity = "N"
    stopbits = 1
    #: seconds a command may take, from writing it to the end of its reply
    timeout_s = 1.0
    #: the longest line the device may send
    max_line = 256

    def __init__(self, port: Any, *, clock: Clock | None = None, timeout_s: float | None = None):
        self.port = port
        sim = getattr(port, "simulator", None)
        self.clock: Clock = clock or getattr(sim, "clock", None) or RealClock()
        if timeout_s is not None:
            self.timeout_s = timeout_s
        self._rxbuf = bytearray()
        #: the installation-wide lock of the port, when this driver opened it (``from_url``)
        self.port_lock: PortLock | None = None

    @classmethod
    def from_url(cls, url: str, *, baudrate: int | None = None, port_timeout: float = 0.1,
                 **kw: Any) -> Self:
        """Open ``url`` with the device's serial settings and return the driver. The port is this process's
        alone until ``close()`` (drivers/port_lock.py): PortInUse, and nothing sent, if another has it."""
        lock = PortLock.acquire(url, cls.device)
        try:
            try:
                # a device path: pyserial locks the device (flock) right after opening it, before it sets the line
                # up and flushes its input, so an opener refused there has not disturbed the holder's line
                device_path = "://" not in url
                port = serial.serial_for_url(url, baudrate=baudrate or cls.baudrate, bytesize=cls.bytesize,
                                             parity=cls.parity, stopbits=cls.stopbits, timeout=port_timeout,
                                             write_timeout=max(1.0, port_timeout),
                                             **({"exclusive": True} if device_path else {}))
            except (serial.SerialException, ValueError, OSError) as exc:
                if device_path and getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
                    raise PortInUse(f"the {cls.device} port {url} is locked by another program; nothing was sent "
                                    "to it.", device=cls.device, action="Close the program that has the port open "
                                    "(a terminal program or a vendor tool), then retry.") from None
                raise DeviceError(f"cannot open the {cls.device} at {url!r}: {exc}.", device=cls.device,
                                  action="Check the port name, the cable and that the device is on.") from None
            try:
                lock_device(port, url, cls.device)
            except BaseException:
                port.close()
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        driver = cls(port, **kw)
        driver.port_lock = lock
        return driver

    def close(self) -> None:
        try:
            unlock_device(self.port)
            self.port.close()
        finally:
            if self.port_lock is not None:
                self.port_lock.release()
                self.port_lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- I/O --------------------------------------------------------------------------------------

    def write(self, command: str) -> None:
        """Send one command line."""
        data = command.encode("ascii") + self.write_terminator
        try:
            self.port.write(data)
            self.port.flush()
        except PORT_ERRORS as exc:
            raise self.error(DeviceError, f"lost the connection while sending {command!r} ({exc}).",
                             command, b"", CHECK_CABLE) from None

    def query(self, command: str, timeout_s: float | None = None) -> str:
        """Flush stale input, send ``command`` and return its reply line (without terminator)."""
        self.flush_input(command)
        self.write(command)
        return self.read_line(command, timeout_s)

    def flush_input(self, command: str = "") -> None:
        self._rxbuf.clear()
        try:
            self.port.reset_input_buffer()
        except PORT_ERRORS as exc:
            raise self.error(DeviceError, f"lost the connection ({exc}).", command, b"",
                             CHECK_CABLE) from None

    def read_line(self, command: str = "", timeout_s: float | None = None) -> str:
        """One line up to the terminator, within ``timeout_s`` of this device's clock."""
        raw = self.read_raw_line(command, timeout_s)
        try:
            text = raw[: -len(self.read_terminator)].decode("ascii")
        except UnicodeDecodeError:
            raise self.error(ProtocolError, f"garbled reply to {command!r} (bytes that are not ASCII).",
                             command, raw, "Check the cable and the baud rate, then retry.") from None
        if not text.isprintable() and any(not c.isprintable() and c != "\t" for c in text):
            raise self.error(ProtocolError, f"garbled reply to {command!r} (control characters).",
                             command, raw, "Check the cable and the baud rate, then retry.")
        return text

    def read_raw_line(self, command: str = "", timeout_s: float | None = None) -> bytes:
        """One line including its terminator; bytes after it stay buffered for the next line."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline = self.clock.monotonic() + timeout
        term = self.read_terminator
        while (idx := self._rxbuf.find(term)) < 0:
            if len(self._rxbuf) > self.max_line:
                raw = bytes(self._rxbuf)
                self._rxbuf.clear()
                raise self.error(ProtocolError, f"reply to {command!r} longer than {self.max_line} bytes "
                                 "without a line end.", command, raw,
                                 "Check the baud rate and the line-end setting of the device.")
            if self.clock.monotonic() >= deadline:
                raw = bytes(self._rxbuf)
                self._rxbuf.clear()
                if raw:
                    raise self.error(ProtocolError, f"incomplete reply to {command!r} after {timeout:g} s.",
                                     command, raw, "Check the cable and the baud rate, then retry.")
                what = f"no reply to {command!r}" if command else "nothing received"
                raise self.error(Silent, f"{what} within {timeout:g} s.", command, b"", CHECK_CABLE)
            self._rxbuf += self._read_some(command)
        line = bytes(self._rxbuf[: idx + len(term)])
        del self._rxbuf[: idx + len(term)]
        return line

    def _read_some(self, command: str) -> bytes:
        try:
            chunk = self.port.read(1)
            if chunk:
                waiting = self.port.in_waiting
                if waiting:
                    chunk += self.port.read(min(waiting, self.max_line))
            return chunk
        except PORT_ERRORS as exc:
            raise self.error(DeviceError, f"lost the connection while waiting for the reply to {command!r} "
                             f"({exc}).", command, bytes(self._rxbuf), CHECK_CABLE) from None

    def error(self, cls: type[DeviceError], message: str, command: str, received: bytes,
              action: str) -> DeviceError:
        return cls(f"{self.device}: {message}", device=self.device, command=command, received=received,
                   action=action)


def strict_range(value: float, low: float, high: float, what: str) -> float:
    """``value`` if ``low <= value <= high``; otherwise ValidationError. Never clips."""
    if not low <= value <= high:
        raise ValidationError(f"{what} {value:g} is outside the allowed {low:g} to {high:g}; "
                              "nothing was sent.")
    return value
