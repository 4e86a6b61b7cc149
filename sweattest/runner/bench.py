"""The instruments at one bench, opened by pyserial URL (hardware, sim://, socket://, a PTY)."""

from __future__ import annotations

from dataclasses import dataclass

import serial

import drivers  # noqa: F401 - registers the sim:// URL handler
from drivers.balance import Balance
from drivers.chloridometer import Chloridometer
from drivers.inducer import Inducer
from sweattest.errors import DeviceError


@dataclass(frozen=True)
class BenchUrls:
    inducer: str
    analyzer: str
    balance: str | None = None


@dataclass
class Bench:
    inducer: Inducer
    analyzer: Chloridometer
    balance: Balance | None = None

    @classmethod
    def open(cls, urls: BenchUrls) -> Bench:
        opened: list = []
        try:
            inducer = Inducer(_port(urls.inducer, "inducer", opened))
            analyzer = Chloridometer(_port(urls.analyzer, "chloridometer", opened))
            balance = Balance(_port(urls.balance, "balance", opened)) if urls.balance else None
        except BaseException:
            for port in opened:
                port.close()
            raise
        return cls(inducer=inducer, analyzer=analyzer, balance=balance)

    def close(self) -> None:
        for driver in (self.inducer, self.analyzer, self.balance):
            if driver is not None:
                driver.port.close()


def _port(url: str, device: str, opened: list):
    try:
        port = serial.serial_for_url(url, timeout=1.0)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise DeviceError(f"cannot open the {device} at {url!r}: {exc}.", device=device,
                          action="Check the cable, the port name and that the device is on.") from None
    opened.append(port)
    return port
