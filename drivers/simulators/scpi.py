"""A small SCPI command parser for simulators: long/short mnemonics, numeric suffixes, an error queue.

Headers are declared as in instrument manuals: ``SOURce#:VOLTage:PROTection`` matches ``SOUR1:VOLT:PROT``,
``source1:voltage:protection`` and ``:SOUR:VOLT:PROT`` (suffix defaults to 1). Upper case letters are
the short form; either the short or the long form of each mnemonic is accepted, as SCPI-99 requires.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sweattest.core.errors import UnitError
from sweattest.core.units import parse_number

#: IEEE 488.2 / SCPI-99 standard error numbers used by the simulators.
ERRORS = {
    -100: "Command error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -350: "Queue overflow",
}
#: How many distinct headers a parser remembers the route of (a fuzzing host cannot grow it without bound).
ROUTES_REMEMBERED = 256


def _mnemonic(word: str) -> str:
    suffix = word.endswith("#")
    word = word.rstrip("#")
    short = "".join(c for c in word if not c.islower())
    alts = {word.upper(), short.upper()}
    body = "(?:" + "|".join(re.escape(a) for a in sorted(alts, key=len, reverse=True)) + ")"
    return body + (r"(\d*)" if suffix else "")


def compile_header(pattern: str) -> re.Pattern[str]:
    """``SOURce#:CURRent[:LEVel]`` -> a regex matching every legal spelling (groups: numeric suffixes)."""
    out = []
    for part in re.findall(r"\[:[^\]]+\]|:?[^:\[]+", pattern):
        if part.startswith("["):
            out.append("(?::" + _mnemonic(part[2:-1]) + ")?")
        else:
            out.append((":" if part.startswith(":") else "") + _mnemonic(part.lstrip(":")))
    return re.compile(":?" + "".join(out) + r"\Z", re.IGNORECASE)


@dataclass
class Route:
    regex: re.Pattern[str]
    query: Callable[..., str] | None
    setter: Callable[..., None] | None
    action: Callable[..., None] | None = None


class ScpiError(Exception):
    def __init__(self, code: int, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class ScpiParser:
    """Routes one program message to handlers; failures go to the error queue, never raise."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._routed: dict[str, tuple[Route, list[int]]] = {}
        self.errors: deque[tuple[int, str]] = deque(maxlen=10)

    def add(self, pattern: str, query: Callable[..., str] | None = None,
            setter: Callable[..., None] | None = None, action: Callable[..., None] | None = None) -> None:
        """``query`` answers ``HEADER?``; ``setter`` takes ``HEADER <arg>``; ``action``: ``HEADER`` alone."""
        self.routes.append(Route(compile_header(pattern), query, setter, action))
        self._routed.clear()

    def push_error(self, code: int, detail: str = "") -> None:
        text = ERRORS.get(code, "")
        text = f"{text}; {detail}" if text and detail else (text or detail or "Device-specific error")
        if len(self.errors) == self.errors.maxlen:
            self.errors[-1] = (-350, ERRORS[-350])
        else:
            self.errors.append((code, text))

    def pop_error(self) -> str:
        code, text = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{text}"'

    def execute(self, line: str) -> str | None:
        """Run one line (``;``-separated commands); the reply line, or ``None`` if nothing was queried."""
        replies = []
        for command in filter(None, (c.strip() for c in line.split(";"))):
            try:
                reply = self._one(command)
            except ScpiError as exc:
                self.push_error(exc.code, exc.detail)
                return ";".join(replies) or None
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _route(self, header: str) -> tuple[Route, list[int]] | None:
        """The route of ``header`` and its numeric suffixes (remembered: a host repeats a few headers)."""
        found = self._routed.get(header)
        if found is None:
            for route in self.routes:
                m = route.regex.match(header)
                if m:
                    found = (route, [int(s) if s else 1 for s in m.groups()])
                    break
            if found is not None and len(self._routed) < ROUTES_REMEMBERED:
                self._routed[header] = found
        return found

    def _one(self, command: str) -> str | None:
        header, _, args = command.partition(" ")
        query = header.endswith("?")
        header = header.rstrip("?")
        found = self._route(header)
        if found is not None:
            route, suffixes = found
            if query:
                if route.query is None:
                    raise ScpiError(-113, f"{header} has no query form")
                if args.strip():
                    raise ScpiError(-108)
                return route.query(*suffixes)
            if route.action is not None:
                if args.strip():
                    raise ScpiError(-108)
                route.action(*suffixes)
                return None
            if route.setter is None:
                raise ScpiError(-113, f"{header} is query only")
            if not args.strip():
                raise ScpiError(-109)
            route.setter(*suffixes, args.strip())
            return None
        raise ScpiError(-113)


def number(text: str) -> float:
    """A SCPI decimal numeric program data (``1.5E-3``, ``0.0015``)."""
    try:
        return float(parse_number(text, "SCPI parameter", wire=True))
    except UnitError:
        raise ScpiError(-104, f"{text!r} is not a number") from None


def boolean(text: str) -> bool:
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiError(-224, f"expected ON or OFF, got {text!r}")
