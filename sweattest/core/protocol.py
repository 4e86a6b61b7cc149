"""Procedure definitions as data: one TOML file per method in ``protocols/``.

The loader checks every key's type, unit and range and raises one ``ConfigError`` naming the file, the
key and the problem. Whatever a file says, stimulation current never exceeds the hard limit of 4 mA
(CLSI C34: Gibson-Cooke current not to exceed 4 mA).

A ``Protocol`` keeps the text it was read from. A run stores that text and its SHA-256 hash when it is
created (its method snapshot) and is replayed from it with ``protocol_from_snapshot``, never from the file
as it is today.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pint

from sweattest.core.errors import ConfigError, TamperError, UnitError
from sweattest.core.resources import data_dir
from sweattest.core.units import DIMENSIONS, Q_, finite, parse_quantity

#: CLSI C34: current not to exceed 4 mA. Enforced whatever a protocol file says.
HARD_CURRENT_LIMIT = Q_(4, "mA")
#: collection.maximum_sample when a method file (or an older run's snapshot) does not give it: what the
#: collection can physically yield; a sample above it is an entry or instrument error.
MAXIMUM_SAMPLE_DEFAULT = {"volumetric": "85 uL", "gravimetric": "500 mg"}
MAXIMUM_SAMPLE_SOURCE = {
    "volumetric": "Macroduct 3710 manual: the coil holds about 85 uL",
    "gravimetric": "CLSI C34 Appendix A: a 2x2 in gauze yields tens to a few hundred mg in 30 min",
}


@dataclass(frozen=True)
class Spec:
    """What one protocol key must hold: a quantity of ``kind`` within [low, high], or one of ``choices``."""

    section: str
    key: str
    kind: str | None = None
    low: str | None = None
    high: str | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    low_inclusive: bool = False


SPECS: tuple[Spec, ...] = (
    Spec("stimulation", "current", "current", "0 mA", "4 mA"),
    Spec("stimulation", "ramp_time", "time", "0 s", "60 s", low_inclusive=True),
    Spec("stimulation", "duration", "time", "1 min", "10 min"),
    Spec("stimulation", "tolerance", "current", "0 mA", "1 mA"),
    Spec("stimulation", "grace_time", "time", "0 s", "10 s", low_inclusive=True),
    Spec("stimulation", "compliance_voltage", "voltage", "1 V", "80 V"),
    Spec("stimulation", "pilocarpine", "fraction", "0 percent", "5 percent"),
    Spec("collection", "device", choices=("macroduct", "gauze", "filter_paper")),
    Spec("collection", "kind", choices=("volumetric", "gravimetric")),
    Spec("collection", "area", "area", "0.5 cm**2", "100 cm**2"),
    Spec("collection", "max_time", "time", "5 min", "60 min"),
    Spec("collection", "minimum_sample", None),  # volume or mass, per collection.kind
    Spec("collection", "maximum_sample", None, required=False),  # plausibility limit, volume or mass
    Spec("collection", "minimum_sweat_rate", "sweat_rate", "0 g/m**2/min", "10 g/m**2/min"),
    Spec("analysis", "method", choices=("coulometric", "mercuric_nitrate")),
    Spec("analysis", "eluate_volume", "volume", "0.05 mL", "10 mL", required=False),
    Spec("analysis", "eluate_formula", choices=("total_volume", "eluate_only"), required=False),
    Spec("analysis", "lower_limit", "concentration", "0 mmol/L", "50 mmol/L", low_inclusive=True),
    Spec("analysis", "upper_limit", "concentration", "100 mmol/L", "250 mmol/L"),
)


@dataclass(frozen=True)
class Protocol:
    """A validated method. Values are pint quantities; ``sources`` maps ``section.key`` to its source."""

    name: str
    title: str
    #: where it was read from (a file, or the run whose snapshot it is); not part of the method's identity
    path: Path = field(compare=False)
    current: pint.Quantity
    ramp_time: pint.Quantity
    duration: pint.Quantity
    tolerance: pint.Quantity
    grace_time: pint.Quantity
    compliance_voltage: pint.Quantity
    pilocarpine: pint.Quantity
    device: str
    collection_kind: str
    area: pint.Quantity
    max_collection_time: pint.Quantity
    minimum_sample: pint.Quantity
    #: the most the collection can physically yield; above it a reading is refused (plausibility)
    maximum_sample: pint.Quantity
    minimum_sweat_rate: pint.Quantity
    analysis_method: str
    lower_limit: pint.Quantity
    upper_limit: pint.Quantity
    eluate_volume: pint.Quantity | None = None
    eluate_formula: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    raw_values: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the TOML text the method was read from: what a run stores as its method snapshot
    text: str = field(default="", repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """The hash of ``text``, stored with every run beside the text."""
        return protocol_hash(self.text)

    @property
    def gravimetric(self) -> bool:
        return self.collection_kind == "gravimetric"

    def rows(self) -> list[tuple[str, str, str]]:
        """(key, value, source) for display, in file order."""
        out = []
        for spec in SPECS:
            dotted = f"{spec.section}.{spec.key}"
            if dotted in self.sources:
                out.append((dotted, str(self.raw_values[dotted]), self.sources[dotted]))
        return out


def protocol_dirs(extra: Path | None = None) -> list[Path]:
    """Where methods are looked up: a lab's own folder first (if given), then the shipped ones."""
    dirs = [extra] if extra else []
    dirs.append(data_dir("protocols"))
    return dirs


def list_protocols(extra: Path | None = None) -> list[Path]:
    seen: dict[str, Path] = {}
    for folder in protocol_dirs(extra):
        for path in sorted(folder.glob("*.toml")):
            seen.setdefault(path.stem, path)
    return [seen[k] for k in sorted(seen)]


def find_protocol(name: str, extra: Path | None = None) -> Path:
    for path in list_protocols(extra):
        if path.stem == name:
            return path
    known = ", ".join(p.stem for p in list_protocols(extra)) or "none"
    raise ConfigError(f"unknown method {name!r}; known methods: {known}")


def load_protocol(name_or_path: str | Path, extra: Path | None = None) -> Protocol:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = find_protocol(str(name_or_path), extra)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse_protocol_text(text, path)


def parse_protocol_text(text: str, name_or_path: str | Path) -> Protocol:
    """Validate a method given as TOML text; ``name_or_path`` names it in every error message."""
    path = Path(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a method; check the file") from None
    return replace(parse_protocol(data, path), text=text)


def protocol_hash(text: str) -> str:
    """SHA-256 (hex) of a method's text, as stored with a run."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def protocol_from_snapshot(text: str, expected_hash: str, where: str = "method snapshot") -> Protocol:
    """The method a run was created with, from the text stored with it. A text whose hash is not the one
    stored beside it was changed after the run was created: it is refused, never used."""
    actual = protocol_hash(text)
    if actual != expected_hash:
        raise TamperError(f"{where}: the stored method text does not match its hash (stored {expected_hash[:12]}…, "
                          f"text hashes to {actual[:12]}…); it was changed after the run was created. Do not "
                          "report this run; run `sweattest audit verify` and tell the laboratory director")
    return _snapshot(text, where)


@functools.lru_cache(maxsize=32)
def _snapshot(text: str, where: str) -> Protocol:
    """A checked snapshot parsed once: a run is replayed many times (each event, each signature) from the same
    text, and a ``Protocol`` never changes."""
    return parse_protocol_text(text, where)


def parse_protocol(data: dict[str, Any], path: Path) -> Protocol:
    where = str(path)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: key 'name' is missing or not a string")
    title = data.get("title", name)
    known_sections = {s.section for s in SPECS}
    for section in data:
        if section not in known_sections | {"name", "title"}:
            raise ConfigError(f"{where}: unknown key {section!r}; expected one of "
                              f"name, title, {', '.join(sorted(known_sections))}")
    values: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for section in known_sections:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        allowed = {s.key for s in SPECS if s.section == section}
        for key in table:
            if key not in allowed:
                raise ConfigError(f"{where}: {section}.{key}: unknown key; expected one of "
                                  f"{', '.join(sorted(allowed))}")
    for spec in SPECS:
        dotted = f"{spec.section}.{spec.key}"
        entry = data.get(spec.section, {}).get(spec.key)
        if entry is None:
            if spec.required:
                raise ConfigError(f"{where}: {dotted}: missing; add {spec.key} = {{ value = ..., source = ... }}")
            values[dotted] = None
            continue
        if not isinstance(entry, dict) or "value" not in entry:
            raise ConfigError(f"{where}: {dotted}: write it as {{ value = \"...\", source = \"...\" }}")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f"{where}: {dotted}: every value needs a 'source' note (guideline or manual)")
        raw[dotted] = entry["value"]
        sources[dotted] = source
        values[dotted] = _value(spec, entry["value"], data, f"{where}: {dotted}")
    proto = Protocol(
        name=name, title=str(title), path=path,
        current=values["stimulation.current"], ramp_time=values["stimulation.ramp_time"],
        duration=values["stimulation.duration"], tolerance=values["stimulation.tolerance"],
        grace_time=values["stimulation.grace_time"],
        compliance_voltage=values["stimulation.compliance_voltage"],
        pilocarpine=values["stimulation.pilocarpine"], device=values["collection.device"],
        collection_kind=values["collection.kind"], area=values["collection.area"],
        max_collection_time=values["collection.max_time"],
        minimum_sample=values["collection.minimum_sample"],
        maximum_sample=values["collection.maximum_sample"] or parse_quantity(
            MAXIMUM_SAMPLE_DEFAULT.get(values["collection.kind"], "85 uL"),
            "mass" if values["collection.kind"] == "gravimetric" else "volume", where),
        minimum_sweat_rate=values["collection.minimum_sweat_rate"],
        analysis_method=values["analysis.method"], lower_limit=values["analysis.lower_limit"],
        upper_limit=values["analysis.upper_limit"], eluate_volume=values["analysis.eluate_volume"],
        eluate_formula=values["analysis.eluate_formula"], sources=sources, raw_values=raw,
    )
    _cross_checks(proto, where)
    return proto


def _value(spec: Spec, value: Any, data: dict[str, Any], where: str) -> Any:
    if spec.choices:
        if value not in spec.choices:
            raise ConfigError(f"{where}: {value!r} is not allowed; use one of {', '.join(spec.choices)}")
        return value
    kind = spec.kind
    if kind is None:  # minimum_sample, maximum_sample: a volume for volumetric, a mass for gravimetric
        collection_kind = data.get("collection", {}).get("kind", {})
        collection_kind = collection_kind.get("value") if isinstance(collection_kind, dict) else None
        kind = "mass" if collection_kind == "gravimetric" else "volume"
    try:
        q = parse_quantity(value, kind, where)
        # bounds compare plain numbers in one unit, after conversion; a value that is not finite there
        # (nan, inf, 1e400 from TOML) would pass every comparison, so it is refused first
        unit = DIMENSIONS[kind]
        m = finite(q.to(unit).magnitude, where)
    except UnitError as exc:
        raise ConfigError(str(exc)) from None
    if spec.low is not None:
        low = _bound(spec.low, kind, unit)
        if m < low or (m == low and not spec.low_inclusive):
            raise ConfigError(f"{where}: {value} is out of range; it must be above {spec.low}"
                              if not spec.low_inclusive else
                              f"{where}: {value} is out of range; it must be at least {spec.low}")
    if spec.high is not None and m > _bound(spec.high, kind, unit):
        if spec.kind == "current":
            raise ConfigError(f"{where}: {value} exceeds the hard limit of {HARD_CURRENT_LIMIT:~P} "
                              "(CLSI C34: current not to exceed 4 mA); lower it")
        raise ConfigError(f"{where}: {value} is out of range; it must be at most {spec.high}")
    return q


def _bound(text: str, kind: str, unit: str) -> float:
    return parse_quantity(text, kind, "protocol key limits").to(unit).magnitude


def _cross_checks(p: Protocol, where: str) -> None:
    if 2 * p.ramp_time >= p.duration:
        raise ConfigError(f"{where}: stimulation.ramp_time: ramp up and down ({p.ramp_time:~P} each) "
                          f"must fit inside stimulation.duration ({p.duration:~P})")
    if p.tolerance >= p.current:
        raise ConfigError(f"{where}: stimulation.tolerance must be smaller than stimulation.current")
    if p.lower_limit >= p.upper_limit:
        raise ConfigError(f"{where}: analysis.lower_limit must be below analysis.upper_limit")
    if p.maximum_sample <= p.minimum_sample:
        raise ConfigError(f"{where}: collection.maximum_sample ({p.maximum_sample:~P}) must be above "
                          f"collection.minimum_sample ({p.minimum_sample:~P})")
    if p.gravimetric and p.eluate_volume is None:
        raise ConfigError(f"{where}: analysis.eluate_volume: required for gravimetric collection "
                          "(the pad is eluted before analysis)")
