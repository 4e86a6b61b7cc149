"""The instruments at one bench, opened by pyserial URL (hardware, sim://, socket://, a PTY)."""

from __future__ import annotations

from dataclasses import dataclass

import drivers  # noqa: F401 - registers the sim:// URL handler
from drivers.balance import Balance
from drivers.chloridometer import Chloridometer
from drivers.inducer import Inducer
from sweattest.core.errors import DeviceError


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
            inducer = _open(Inducer, urls.inducer, opened)
            analyzer = _open(Chloridometer, urls.analyzer, opened)
            balance = _open(Balance, urls.balance, opened) if urls.balance else None
        except BaseException:
            for driver in opened:
                driver.close()
            raise
        return cls(inducer=inducer, analyzer=analyzer, balance=balance)

    def shutdown(self) -> str | None:
        """End of a run: every output off, ports closed. Never raises; returns a warning for the tech if
        the inducer did not confirm its outputs are off."""
        warning = None
        try:
            self.inducer.all_outputs_off()
        except DeviceError as exc:
            warning = (f"WARNING: the inducer did not confirm that its outputs are off ({exc}). Switch the "
                       "inducer off at its power switch and remove the electrodes.")
        finally:
            self.close()
        return warning

    def close(self) -> None:
        for driver in (self.inducer, self.analyzer, self.balance):
            if driver is not None:
                driver.close()


def _open(driver_class, url: str, opened: list):
    """Open with the device's own serial settings (baud rate, terminators, timeouts)."""
    driver = driver_class.from_url(url)
    opened.append(driver)
    return driver
