"""The lab's access rules: idle lock, lock-out after failed passwords, password policy, TLS files, and the limits
that keep one web client from starving the others ([serve]).

Read from the ``[access]`` section of the lab configuration (docs/config.md); the defaults apply without
one. ``check_new_password`` is the one place a new password is judged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sweattest.core.errors import ConfigError, SweatTestError, ValidationError
from sweattest.core.units import parse_quantity


@dataclass(frozen=True)
class AccessPolicy:
    #: a web session not used for this long locks to the password screen
    idle_lock: timedelta = timedelta(minutes=15)
    #: failed passwords in a row (log-in or signing) that lock an account
    lockout_after: int = 5
    #: how long the first lock-out lasts; each further failure doubles it
    lockout_delay: timedelta = timedelta(seconds=60)
    #: longest lock-out
    lockout_max: timedelta = timedelta(hours=1)
    min_password_length: int = 10
    #: a password older than this must be changed before the next log-in (0: never expires)
    password_expiry_days: int = 180

    def lockout_for(self, failures: int) -> timedelta | None:
        """How long an account with ``failures`` failed passwords in a row stays locked (None: not locked)."""
        if failures < self.lockout_after:
            return None
        delay = self.lockout_delay * 2 ** min(failures - self.lockout_after, 20)
        return min(delay, self.lockout_max)


@dataclass(frozen=True)
class WebLimits:
    """``[serve]``: what one web client may take of the server."""

    #: live run screens (server-sent event streams) open at once in one log-in session
    live_streams_per_session: int = 4
    #: the largest request body accepted, in kB (1 kB = 1024 bytes): the largest form is a few kB
    max_request_kb: int = 1024


LIMIT_KEYS = tuple(WebLimits.__dataclass_fields__)


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path
    keyfile: Path


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("sweattest.core").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_new_password(password: str, policy: AccessPolicy) -> None:
    """Refuse a password the lab's policy does not allow, with the rule it breaks."""
    if len(password) < policy.min_password_length:
        raise ValidationError(f"password: at least {policy.min_password_length} characters are required")
    if password.strip().lower() in common_passwords():
        raise ValidationError("password: this is one of the most common passwords; choose another")


_DURATIONS = ("idle_lock", "lockout_delay", "lockout_max")
_COUNTS = ("lockout_after", "min_password_length", "password_expiry_days")
KEYS = _DURATIONS + _COUNTS


def parse_access(section: object, file: Path) -> AccessPolicy:
    """``[access]``: durations as quantities (``idle_lock = "15 min"``), counts as whole numbers."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: access must be a section ([access]), not a value")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key in _DURATIONS:
            try:
                q = parse_quantity(value if isinstance(value, str) else "", "time", f"[access] {key}")
            except SweatTestError as exc:
                raise ConfigError(f"{file}: {exc} (write it in quotes, e.g. \"15 min\")") from None
            if q.magnitude <= 0:
                raise ConfigError(f"{file}: [access] {key} = {value!r} must be above 0")
            values[key] = timedelta(seconds=float(q.to("s").magnitude))
        elif key in _COUNTS:
            least = 0 if key == "password_expiry_days" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"{file}: [access] {key} = {value!r}: write a whole number of at least {least}, "
                                  "without quotes")
            values[key] = value
        else:
            raise ConfigError(f"{file}: [access] unknown key {key!r}; known keys: {', '.join(KEYS)}")
    policy = AccessPolicy(**values)
    if policy.min_password_length < 8:
        raise ConfigError(f"{file}: [access] min_password_length = {policy.min_password_length}: at least 8")
    return policy


def parse_serve(section: object, file: Path) -> tuple[TlsFiles | None, WebLimits]:
    """``[serve]``: the TLS files (``parse_tls``) and the web limits, each a whole number of at least 1."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: serve must be a section ([serve]), not a value")
    limits = {}
    for key in LIMIT_KEYS:
        if key in section:
            value = section[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{file}: [serve] {key} = {value!r}: write a whole number of at least 1, "
                                  "without quotes")
            limits[key] = value
    return parse_tls({k: v for k, v in section.items() if k not in LIMIT_KEYS}, file), WebLimits(**limits)


def parse_tls(section: object, file: Path) -> TlsFiles | None:
    """``[serve] certfile = "..."``, ``keyfile = "..."``: the lab's certificate and key for HTTPS."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: serve must be a section ([serve]), not a value")
    unknown = set(section) - {"certfile", "keyfile"}
    if unknown:
        raise ConfigError(f"{file}: [serve] unknown key {sorted(unknown)[0]!r}; known keys: certfile, keyfile, "
                          f"{', '.join(LIMIT_KEYS)}")
    if not section:
        return None
    if set(section) != {"certfile", "keyfile"}:
        raise ConfigError(f"{file}: [serve] give both certfile and keyfile (the lab's certificate and its key)")
    paths = {}
    for key in ("certfile", "keyfile"):
        path = Path(str(section[key])).expanduser()
        path = path if path.is_absolute() else (file.parent / path).resolve()
        if not path.is_file():
            raise ConfigError(f"{file}: [serve] {key} = {section[key]!r}: file {path} does not exist")
        paths[key] = path
    return TlsFiles(**paths)
