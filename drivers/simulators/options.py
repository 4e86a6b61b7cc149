"""Reading ``sim://`` URL options: seed, clock, quantities and fault specs ``kind[@time][:channel]``."""

from __future__ import annotations

from dataclasses import dataclass

import pint

from drivers.simulators.clocks import get_clock
from sweattest.core.clock import Clock
from sweattest.core.errors import UnitError
from sweattest.core.units import NUMBER, parse_number, parse_quantity

COMMON = ("seed", "clock")


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    at_s: float | None = None
    channel: int | None = None


def check_known(options: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    for key in options:
        if key not in allowed + COMMON:
            raise ValueError(f"unknown option {key!r}; known: {', '.join(allowed + COMMON)}")


def one(options: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = options.get(key)
    if not values:
        return default
    if len(values) > 1:
        raise ValueError(f"option {key!r} given {len(values)} times")
    return values[0]


def common(options: dict[str, list[str]]) -> tuple[Clock, int]:
    """The clock (``clock=NAME``) and the seed (``seed=N``) of a simulator."""
    return get_clock(one(options, "clock", "default")), integer(one(options, "seed", "0"), "seed")


def integer(text: str, where: str) -> int:
    """A whole number in the one number grammar (no ``1_000``, ``0x10`` or non-ASCII digits)."""
    try:
        value = parse_number(text, where)
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(value, int):
        raise ValueError(f"{where}: must be a whole number, got {text!r}")
    return value


def quantity(text: str, kind: str, where: str) -> pint.Quantity:
    try:
        return parse_quantity(text, kind, where)
    except UnitError as exc:
        raise ValueError(str(exc)) from None


def seconds(text: str, where: str) -> float:
    """``120s``, ``2min`` or a bare number of seconds."""
    if NUMBER.fullmatch(text.strip()):
        try:
            return float(parse_number(text, where))
        except UnitError as exc:
            raise ValueError(str(exc)) from None
    return float(quantity(text, "time", where).to("s").magnitude)


def faults(options: dict[str, list[str]], kinds: tuple[str, ...]) -> list[FaultSpec]:
    """Every ``fault=`` value (repeated or comma-separated): ``kind[@time][:channel]``."""
    specs = []
    for value in options.get("fault", []):
        for item in filter(None, value.split(",")):
            specs.append(fault_spec(item, kinds))
    return specs


def fault_spec(item: str, kinds: tuple[str, ...]) -> FaultSpec:
    rest, _, channel = item.partition(":")
    kind, _, at = rest.partition("@")
    if kind not in kinds:
        raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(kinds)}")
    ch = integer(channel, f"fault channel in {item!r}") if channel else None
    return FaultSpec(kind, seconds(at, f"fault {item!r}") if at else None, ch)
