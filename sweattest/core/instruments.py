"""The ``[[instruments]]`` tables of the lab configuration: one table per instrument (docs/config.md).

Validated on load; every error names the file, the table (``[[instruments]] #2``) and the key.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sweattest.core import instrument_models
from sweattest.core.errors import ConfigError
from sweattest.core.instrument_models import ROLES

#: pyserial URL schemes sweattest accepts besides a plain device path
URL_SCHEMES = ("sim", "socket", "rfc2217", "loop", "spy")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_KEYS = ("role", "model", "port", "baudrate", "serial_number", "calibration_due", "channels")


@dataclass(frozen=True)
class InstrumentConfig:
    role: str
    model: str
    port: str | None = None
    baudrate: int | None = None
    serial_number: str | None = None
    calibration_due: dt.date | None = None
    #: inducer channels (one per site); scpi only
    channels: int = 2

    @property
    def label(self) -> str:
        where = f" on {self.port}" if self.port else ""
        serial = f" {self.serial_number}" if self.serial_number else ""
        return f"{self.role} {self.model}{serial}{where}"

    @property
    def wired(self) -> bool:
        return instrument_models.model(self.role, self.model).wired


def parse_instruments(items: Any, file: Path) -> tuple[InstrumentConfig, ...]:
    """Validate the ``[[instruments]]`` array of tables."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{file}: instruments must be tables: write each as [[instruments]] with role, "
                          "model and port below it")
    found = tuple(_one(item, n, file) for n, item in enumerate(items, start=1))
    _check_unique(found, file)
    return found


def _one(item: dict[str, Any], n: int, file: Path) -> InstrumentConfig:
    where = f"{file}: [[instruments]] #{n}"
    for key in item:
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(_KEYS)}")
    role = _text(item, "role", where, required=True)
    if role not in ROLES:
        raise ConfigError(f"{where}: role = {role!r}: use one of {', '.join(ROLES)}")
    model = _text(item, "model", where, required=True)
    known = instrument_models.models(role)
    if model not in known:
        raise ConfigError(f"{where}: model = {model!r} is not a known {role} model; use one of {', '.join(known)}")
    wired = instrument_models.model(role, model).wired
    port = _text(item, "port", where, required=wired)
    if port is not None and not wired:
        raise ConfigError(f"{where}: port: a {model} {role} has no host link; remove the port")
    if port is not None:
        _check_port(port, where)
    baudrate = item.get("baudrate")
    if baudrate is not None and (isinstance(baudrate, bool) or baudrate not in BAUDRATES):
        raise ConfigError(f"{where}: baudrate = {baudrate!r}: use one of {', '.join(map(str, BAUDRATES))}")
    due = item.get("calibration_due")
    if due is not None and (not isinstance(due, dt.date) or isinstance(due, dt.datetime)):
        raise ConfigError(f"{where}: calibration_due = {due!r}: write a date without quotes, e.g. 2027-03-01")
    channels = item.get("channels", 2)
    if role != "inducer" and "channels" in item:
        raise ConfigError(f"{where}: channels is for an inducer only")
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 8:
        raise ConfigError(f"{where}: channels = {channels!r}: a whole number from 1 to 8 (one per site)")
    return InstrumentConfig(role=role, model=model, port=port, baudrate=baudrate,
                            serial_number=_text(item, "serial_number", where, required=False),
                            calibration_due=due, channels=channels)


def _text(item: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}: {key} is missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty text in quotes")
    return value.strip()


def _check_port(port: str, where: str) -> None:
    """A device path, or a pyserial URL of a known scheme. Whether the device is there is checked when it is
    opened (an unplugged adapter must not stop the configuration from loading)."""
    if "://" in port:
        scheme = urlsplit(port).scheme
        if scheme not in URL_SCHEMES:
            raise ConfigError(f"{where}: port = {port!r}: unknown URL scheme {scheme!r}; use a device path "
                              f"such as /dev/ttyUSB0 or one of {', '.join(s + '://' for s in URL_SCHEMES)}")
        return
    if not port.startswith("/"):
        raise ConfigError(f"{where}: port = {port!r}: give the device path (e.g. /dev/ttyUSB0 or "
                          "/dev/serial/by-id/...) or a URL such as socket://host:port")


def _check_unique(found: tuple[InstrumentConfig, ...], file: Path) -> None:
    roles: dict[str, int] = {}
    ports: dict[str, int] = {}
    for n, inst in enumerate(found, start=1):
        if inst.role in roles:
            raise ConfigError(f"{file}: [[instruments]] #{n}: role {inst.role!r} is configured twice "
                              f"(also #{roles[inst.role]}); a bench has one {inst.role}")
        roles[inst.role] = n
        if inst.port is not None:
            key = os.path.realpath(inst.port) if "://" not in inst.port else inst.port
            if key in ports:
                raise ConfigError(f"{file}: [[instruments]] #{n}: port {inst.port!r} is also the port of "
                                  f"#{ports[key]}; each instrument needs its own port")
            ports[key] = n
