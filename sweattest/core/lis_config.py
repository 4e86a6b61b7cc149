"""``[lis]`` of the lab configuration: where orders come in, where results go, and the codes of the lab's
test build (``[lis.codes]``). Documented in docs/lis.md and docs/config.md."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweattest.core.errors import ConfigError
from sweattest.core.procedure.model import SITES

#: observation -> (code, text, coding system): LOINC where LOINC has a code, else the lab's local code.
DEFAULT_CODES: dict[str, tuple[str, str, str]] = {
    "panel": ("SWEATCL", "Sweat chloride test", "L"),
    "chloride": ("2077-6", "Chloride [Moles/volume] in Sweat", "LN"),
    "site": ("SWSITE", "Sweat collection site", "L"),
    "volume": ("SWVOL", "Sweat sample volume", "L"),
    "weight": ("SWWT", "Sweat sample weight", "L"),
    "adequacy": ("SWADQ", "Sweat sample adequacy", "L"),
    "sweat_rate": ("SWRATE", "Sweat rate", "L"),
    "interpretation": ("SWINT", "Sweat chloride interpretation", "L"),
    "collection_time": ("SWCOLT", "Sweat collection time", "L"),
    "current": ("SWCUR", "Iontophoresis current", "L"),
    "charge": ("SWCHG", "Iontophoresis charge delivered", "L"),
}
_ADDRESS = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
_CODE_PART = re.compile(r"^[^|^~\\&\r\n]{1,80}$")
_KEYS = ("listen", "order_folder", "send_to", "ack_timeout_s", "retry_delays_s", "ae_limit", "method", "sites",
         "codes", "max_connections", "idle_timeout_s", "message_timeout_s", "tls_certificate", "tls_key",
         "modulator")


@dataclass(frozen=True)
class ModulatorMap:
    """Where the lab's LIS orders say "on a CFTR modulator, which one" (``[lis.modulator]``, docs/config.md):
    an ask-at-order-entry question sent as an OBX of the order (its OBX-3 identifier), a second one for the
    day it was started, and/or a pattern of the order's comment (NTE)."""

    #: OBX-3.1 of the question "CFTR modulator" (OBX-5: the modulator, as a code or as text)
    question: str = ""
    #: OBX-3.1 of the question "date the modulator was started" (OBX-5: YYYYMMDD)
    start_question: str = ""
    #: answers (case-insensitive) that say "not on a modulator"
    none_answers: tuple[str, ...] = ("N", "NO", "NONE")
    #: answer (code or text, case-insensitive) -> the modulator's name as the report prints it
    names: dict[str, str] = field(default_factory=dict)
    #: a regular expression over each NTE comment: group ``modulator`` (required) and ``start`` (YYYY-MM-DD)
    comment_pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class LisConfig:
    #: (host, port) of the MLLP listener for orders; None: off
    listen: tuple[str, int] | None = None
    #: folder the LIS drops order messages into; None: off
    order_folder: Path | None = None
    #: (host, port) results are sent to over MLLP; None: results go only to the drop folder
    send_to: tuple[str, int] | None = None
    #: seconds to wait for the LIS's acknowledgement of a result
    ack_timeout_s: float = 30.0
    #: seconds before each retry of a result not acknowledged; the last one repeats until the LIS answers
    retry_delays_s: tuple[float, ...] = (5, 15, 60, 300, 900)
    #: AE answers to one message before it is "failed: needs attention" (AR fails it at once)
    ae_limit: int = 3
    #: the method and sites a run of an LIS order uses (the LIS orders the test, the lab its method)
    method: str = "macroduct"
    sites: tuple[str, ...] = ("left_forearm", "right_forearm")
    #: observation (or "site.observation") -> (code, text, system)
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: MLLP connections served at once (one more is closed as soon as it is accepted)
    max_connections: int = 16
    #: seconds a connection may send nothing (between any two bytes) before it is closed
    idle_timeout_s: float = 30.0
    #: seconds a message may take to arrive whole, from its first byte, before its connection is closed
    message_timeout_s: float = 60.0
    #: the lab's certificate (PEM, with its chain) and key: the listener speaks MLLP over TLS; None: plain MLLP
    tls_certificate: Path | None = None
    tls_key: Path | None = None
    #: how an order says the patient is on a CFTR modulator (``[lis.modulator]``); None: orders never say it
    modulator: ModulatorMap | None = None

    def code(self, observation: str, site: str | None = None) -> tuple[str, str, str]:
        """The code sent for ``observation`` (at ``site``): the lab's own, else the default."""
        if site is not None and f"{site}.{observation}" in self.codes:
            return self.codes[f"{site}.{observation}"]
        return self.codes.get(observation) or DEFAULT_CODES[observation]


def address(text: str, where: str) -> tuple[str, int]:
    """``host:port`` -> (host, port), or a ConfigError naming ``where``."""
    m = _ADDRESS.match(text.strip()) if isinstance(text, str) else None
    if not m or not 0 < int(m["port"]) < 65536:
        raise ConfigError(f"{where} = {text!r}: write host:port, e.g. \"127.0.0.1:2575\"")
    return m["host"].strip("[]"), int(m["port"])


def parse_lis(section: Any, file: Path) -> LisConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: lis must be a section ([lis]), not a value")
    for key in section:
        if key not in _KEYS:
            raise ConfigError(f"{file}: [lis] unknown key {key!r}; known keys: {', '.join(_KEYS)}")
    values: dict[str, Any] = {}
    for key in ("listen", "send_to"):
        if key in section:
            values[key] = address(section[key], f"{file}: [lis] {key}")
    if "order_folder" in section:
        folder = Path(str(section["order_folder"])).expanduser()
        folder = folder if folder.is_absolute() else (file.parent / folder).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{file}: [lis] order_folder = {section['order_folder']!r}: folder {folder} does "
                              "not exist; create it or fix the path")
        values["order_folder"] = folder
    if "ack_timeout_s" in section:
        timeout = section["ack_timeout_s"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
            raise ConfigError(f"{file}: [lis] ack_timeout_s = {timeout!r}: a number of seconds, above 0 and at "
                              "most 600, without quotes")
        values["ack_timeout_s"] = float(timeout)
    if "retry_delays_s" in section:
        delays = section["retry_delays_s"]
        if not isinstance(delays, list) or not delays or any(
                isinstance(d, bool) or not isinstance(d, int | float) or not 0 < d <= 86400 for d in delays):
            raise ConfigError(f"{file}: [lis] retry_delays_s = {delays!r}: a list of seconds above 0, e.g. "
                              "[5, 15, 60, 300, 900]")
        values["retry_delays_s"] = tuple(float(d) for d in delays)
    if "ae_limit" in section:
        limit = section["ae_limit"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ConfigError(f"{file}: [lis] ae_limit = {limit!r}: a whole number of AE answers from 1 to 100 "
                              "(default 3) after which a message needs attention")
        values["ae_limit"] = limit
    if "method" in section:
        if not isinstance(section["method"], str) or not section["method"].strip():
            raise ConfigError(f"{file}: [lis] method must be the name of a method in quotes, e.g. \"macroduct\"")
        values["method"] = section["method"].strip()
    if "sites" in section:
        sites = section["sites"]
        if not isinstance(sites, list) or not sites or any(s not in SITES for s in sites) \
                or len(set(sites)) != len(sites):
            raise ConfigError(f"{file}: [lis] sites = {sites!r}: a list of one or two different sites from "
                              f"{', '.join(SITES)}")
        values["sites"] = tuple(sites)
    values["codes"] = _codes(section.get("codes", {}), file)
    if "modulator" in section:
        values["modulator"] = _modulator(section["modulator"], file)
    values.update(_listener(section, file))
    return LisConfig(**values)


def _listener(section: dict[str, Any], file: Path) -> dict[str, Any]:
    """The MLLP listener's limits and its TLS certificate."""
    values: dict[str, Any] = {}
    if "max_connections" in section:
        cap = section["max_connections"]
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 1000:
            raise ConfigError(f"{file}: [lis] max_connections = {cap!r}: a whole number from 1 to 1000, e.g. 16")
        values["max_connections"] = cap
    if "idle_timeout_s" in section:
        idle = section["idle_timeout_s"]
        if isinstance(idle, bool) or not isinstance(idle, int | float) or not 0 < idle <= 3600:
            raise ConfigError(f"{file}: [lis] idle_timeout_s = {idle!r}: a number of seconds above 0 and at most "
                              "3600, e.g. 30")
        values["idle_timeout_s"] = float(idle)
    if "message_timeout_s" in section:
        whole = section["message_timeout_s"]
        if isinstance(whole, bool) or not isinstance(whole, int | float) or not 0 < whole <= 3600:
            raise ConfigError(f"{file}: [lis] message_timeout_s = {whole!r}: a number of seconds above 0 and at most "
                              "3600, e.g. 60")
        values["message_timeout_s"] = float(whole)
    if ("tls_certificate" in section) != ("tls_key" in section):
        raise ConfigError(f"{file}: [lis] tls_certificate and tls_key go together (the lab's certificate and its "
                          "private key, PEM files)")
    for key in ("tls_certificate", "tls_key"):
        if key in section:
            path = Path(str(section[key])).expanduser()
            path = path if path.is_absolute() else (file.parent / path).resolve()
            if not path.is_file():
                raise ConfigError(f"{file}: [lis] {key} = {section[key]!r}: file {path} does not exist")
            values[key] = path
    return values


def _codes(table: Any, file: Path) -> dict[str, tuple[str, str, str]]:
    """``[lis.codes]``: ``chloride = "2077-6^Chloride [Moles/volume] in Sweat^LN"``; a key may name a site:
    ``"left_forearm.chloride" = "..."``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [lis.codes] must be a table of observation = \"code^text^system\"")
    out: dict[str, tuple[str, str, str]] = {}
    for key, value in table.items():
        site, _, observation = key.rpartition(".")
        if observation not in DEFAULT_CODES or (site and site not in SITES):
            raise ConfigError(f"{file}: [lis.codes] unknown key {key!r}; use one of {', '.join(DEFAULT_CODES)}, "
                              f"optionally after a site and a dot (\"left_forearm.chloride\")")
        parts = value.split("^") if isinstance(value, str) else []
        if len(parts) != 3 or not all(_CODE_PART.match(p) for p in parts):
            raise ConfigError(f"{file}: [lis.codes] {key} = {value!r}: write \"code^text^system\", e.g. "
                              "\"2077-6^Chloride [Moles/volume] in Sweat^LN\", without | ~ \\ &")
        out[key] = (parts[0], parts[1], parts[2])
    return out


_MODULATOR_KEYS = ("question", "start_question", "none_answers", "names", "comment_pattern")


def _modulator(table: Any, file: Path) -> ModulatorMap:
    """``[lis.modulator]``: where an order says the patient is on a CFTR modulator (docs/config.md)."""
    where = f"{file}: [lis.modulator]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table (question, start_question, none_answers, names, comment_pattern)")
    for key in table:
        if key not in _MODULATOR_KEYS:
            raise ConfigError(f"{where} unknown key {key!r}; known keys: {', '.join(_MODULATOR_KEYS)}")
    values: dict[str, Any] = {}
    for key in ("question", "start_question"):
        if key in table:
            if not isinstance(table[key], str) or not _CODE_PART.match(table[key].strip()):
                raise ConfigError(f"{where} {key} = {table[key]!r}: the OBX-3 identifier of the order question, "
                                  "e.g. \"CFMOD\", without | ^ ~ \\ &")
            values[key] = table[key].strip()
    if "none_answers" in table:
        answers = table["none_answers"]
        if not isinstance(answers, list) or any(not isinstance(a, str) or not a.strip() for a in answers):
            raise ConfigError(f"{where} none_answers = {answers!r}: a list of answers that mean \"not on a "
                              "modulator\", e.g. [\"N\", \"NO\", \"NONE\"]")
        values["none_answers"] = tuple(a.strip().upper() for a in answers)
    if "names" in table:
        names = table["names"]
        if not isinstance(names, dict) or any(not isinstance(v, str) or not v.strip() for v in names.values()):
            raise ConfigError(f"{where}.names: a table of answer = \"modulator name\", e.g. "
                              "ETI = \"elexacaftor/tezacaftor/ivacaftor\"")
        values["names"] = {str(k).strip().upper(): v.strip() for k, v in names.items()}
    if "comment_pattern" in table:
        values["comment_pattern"] = _comment_pattern(table["comment_pattern"], where)
    if not values.get("question") and "comment_pattern" not in values:
        raise ConfigError(f"{where}: give question (the OBX-3 identifier of the order question) or "
                          "comment_pattern (a pattern of the order comment), or both")
    if values.get("start_question") and not values.get("question"):
        raise ConfigError(f"{where}: start_question needs question (the modulator's own order question)")
    return ModulatorMap(**values)


def _comment_pattern(text: Any, where: str) -> re.Pattern[str]:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where} comment_pattern: a regular expression in quotes")
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where} comment_pattern = {text!r}: not a regular expression ({exc})") from None
    if "modulator" not in pattern.groupindex or set(pattern.groupindex) - {"modulator", "start"}:
        raise ConfigError(f"{where} comment_pattern = {text!r}: name the modulator's group (?P<modulator>...) and "
                          "optionally the start date's (?P<start>...), no other named group")
    return pattern
