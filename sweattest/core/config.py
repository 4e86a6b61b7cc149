"""The lab's configuration: identity printed on reports, display time zone, HL7 identities, LIMS delivery,
the lab's own methods folder.

Read from a TOML file (``--config FILE``, else ``$SWEATTEST_CONFIG``, else built-in defaults that make
the demo work without a file). Every problem is one ``ConfigError`` naming the file, the key and the fix.
The file format is documented in docs/config.md.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sweattest.core.access import AccessPolicy, TlsFiles, WebLimits, parse_access, parse_serve
from sweattest.core.errors import ConfigError, SweatTestError
from sweattest.core.instruments import InstrumentConfig, parse_instruments
from sweattest.core.lis_config import LisConfig, parse_lis
from sweattest.core.rules.adequacy import CRITERIA, DEFAULT_CRITERION
from sweattest.core.rules.analysis_delay import DelayLimit, parse_limit
from sweattest.core.rules.eligibility import Limits
from sweattest.core.rules.interpretation import SITE_DIFFERENCE_LIMIT
from sweattest.core.rules.ranges import RANGE_SETS
from sweattest.core.rules.westgard import WestgardRules, parse_rules
from sweattest.core.units import Quantity, format_quantity, parse_quantity

ENV_VAR = "SWEATTEST_CONFIG"
BUILT_IN = "built-in defaults"
#: CLIA numbers: two digits, the letter D, seven digits (e.g. 99D9999999).
_CLIA = re.compile(r"^\d{2}D\d{7}$")
#: HL7 HD namespace IDs: printable, no HL7 delimiters, at most 20 characters (HL7 v2.5.1 IS length).
_HD = re.compile(r"^[^|^~\\&\r\n]{1,20}$")


@dataclass(frozen=True)
class Lab:
    """The lab's identity as its configuration gives it ([lab]); an unset field is empty and left out of every
    report and LIS message: nothing invented stands in for it."""

    name: str = ""
    address: str = ""
    phone: str = ""
    director: str = ""
    accreditation: str = ""
    clia: str = ""
    timezone: str = "UTC"

    def missing(self) -> list[str]:
        """The identity fields a report needs (CAP laboratory general checklist; ISO 15189 §7.4: the lab's name
        and address, its director, its accreditation or CLIA number) that are not set."""
        gaps = [k for k in ("name", "address", "director") if not getattr(self, k)]
        if not self.clia and not self.accreditation:
            gaps.append("clia or accreditation")
        return gaps


#: The fictitious laboratory of ``sweattest demo`` (when no lab is configured), marked as fictitious everywhere
#: it prints; never the identity of a lab's own runs.
DEMO_LAB = Lab(name="Demonstration Sweat Laboratory (FICTITIOUS, not a real laboratory)",
               address="fictitious address (demonstration)", director="fictitious director (demonstration)",
               accreditation="no accreditation (demonstration)")


def identity_warning(config: LabConfig) -> str | None:
    """What ``instruments check`` and ``serve`` say when the lab identity a report needs is missing."""
    gaps = config.lab.missing()
    if not gaps:
        return None
    return (f"warning: {config.source}: the lab identity a report needs is not set: [lab] {', '.join(gaps)}. "
            "Reports and HL7 results leave unset fields out; set them in the lab configuration (docs/config.md)")


@dataclass(frozen=True)
class Hl7Identity:
    sending_application: str = "SWEATTEST"
    sending_facility: str = "SWEATLAB"
    receiving_application: str = "LIMS"
    receiving_facility: str = "HOSPITAL"
    processing_id: str = "P"


@dataclass(frozen=True)
class CompetencyRules:
    """``[competency]``: the least number of patient tests each operator performs in a calendar year. The
    default 10 is the lab-configurable starting point; UK 2014 asks 50 (a lab following it sets 50). An
    operator below it, or whose latest competency assessment failed or is overdue, is warned at log-in and
    marked for QA: a warning, never a block."""

    min_tests_per_year: int = 10


@dataclass(frozen=True)
class LabConfig:
    lab: Lab = field(default_factory=Lab)
    hl7: Hl7Identity = field(default_factory=Hl7Identity)
    #: folder the LIMS imports from; results are delivered there on sign-off when set
    drop_folder: Path | None = None
    #: the lab's own report templates, looked up before the shipped ones
    template_folder: Path | None = None
    #: interpretive range set printed on the report (sweattest.core.rules.ranges.RANGE_SETS)
    ranges: str = "cff_2017"
    #: the instruments of this bench ([[instruments]] tables); none: only simulated runs
    instruments: tuple[InstrumentConfig, ...] = ()
    #: manual readings: the second (blind) entry must be made by a second tech
    second_entry_by_second_person: bool = False
    #: ``[entry] sodium = true``: after each reportable chloride the bench offers an optional sweat sodium entry
    #: (a Na/Cl plausibility check on the chloride, UK 2014; sweattest.core.rules.sodium)
    sodium_entry: bool = False
    #: ``[calibration] unrecorded``: a patient run on an instrument with no calibration on record needs a recorded
    #: reason ("reason", the default) or is refused ("refuse")
    unrecorded_calibration: str = "reason"
    source: str = BUILT_IN
    #: the lab's own method files ([protocols] folder), looked up before the shipped ones
    protocol_folder: Path | None = None
    #: eligibility limits where guidelines differ ([eligibility]); CFF 2017 / CFF 2007 values by default
    eligibility: Limits = field(default_factory=Limits)
    #: longest time from end of collection to analysis before the result is flagged ([analysis] max_delay)
    analysis_delay: DelayLimit = field(default_factory=DelayLimit)
    #: the LIS interface ([lis], docs/lis.md): orders in, results out over MLLP, the codes of the test build
    lis: LisConfig = field(default_factory=LisConfig)
    #: idle lock, lock-out and password policy ([access])
    access: AccessPolicy = field(default_factory=AccessPolicy)
    #: the lab's certificate and key for ``sweattest serve`` over HTTPS ([serve])
    tls: TlsFiles | None = None
    #: live run screens per log-in session and the largest request of the web app ([serve])
    web_limits: WebLimits = field(default_factory=WebLimits)
    #: days from a calibration to the next one, per instrument role ([calibration])
    calibration_intervals: dict[str, int] = field(default_factory=lambda: dict(CALIBRATION_INTERVALS))
    #: runs of a new control lot its targets are established from ([qc] establish_runs; CLSI C24: 20)
    establish_runs: int = 20
    #: the Westgard rules in use: which reject a run, which warn ([qc] reject, warn; docs/qc.md)
    qc_rules: WestgardRules = field(default_factory=WestgardRules)
    #: the lab's minimums for its operators ([competency]; docs/competency.md)
    competency: CompetencyRules = field(default_factory=lambda: CompetencyRules())
    #: between-site difference flagged for review and repeat ([interpretation] difference_limit; a lab setting:
    #: no guideline gives the number, 10 mmol/L after Mackay 2008 and Rock & LeGrys)
    difference_limit: Quantity = SITE_DIFFERENCE_LIMIT
    #: the adequacy criterion ([adequacy] criterion: minimum_sample or sweat_rate); "" : the range set's default
    adequacy: str = ""

    @property
    def adequacy_criterion(self) -> str:
        """The lab's criterion, else the default of its range set (sweattest.core.rules.adequacy)."""
        return self.adequacy or DEFAULT_CRITERION[self.ranges]

    def rules(self) -> dict[str, str]:
        """The lab's interpretation settings a run keeps when it starts (so a replay judges it the same)."""
        return {"difference_limit": format_quantity(self.difference_limit), "adequacy": self.adequacy_criterion}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.lab.timezone)

    def for_demo(self) -> LabConfig:
        """The configuration the demo runs with: a lab that configured no name gets the fictitious DEMO_LAB
        (its time zone kept)."""
        if self.lab.name:
            return self
        return replace(self, lab=replace(DEMO_LAB, timezone=self.lab.timezone))


_SECTIONS: dict[str, dict[str, type]] = {
    "lab": {k: str for k in Lab.__dataclass_fields__},
    "hl7": {k: str for k in Hl7Identity.__dataclass_fields__},
    "lims": {"drop_folder": str},
    "report": {"template_folder": str, "ranges": str},
}
_SECTIONS["protocols"] = {"folder": str}  # the lab's own methods
#: [eligibility] limit -> what kind of quantity it is
_ELIGIBILITY = {"min_age": "time", "recommended_age": "time", "min_weight": "mass", "min_corrected_ga": "time"}
_SECTIONS["eligibility"] = {k: str for k in _ELIGIBILITY}
_SECTIONS["analysis"] = {"max_delay": str}
#: Days between calibrations per role unless the lab sets its own ([calibration]; per the instrument's manual,
#: CLSI C34): the chloridometer monthly, the balance and the inducer yearly (service visit).
CALIBRATION_INTERVALS = {"analyzer": 30, "balance": 365, "inducer": 365}
_SECTIONS["calibration"] = {k: str for k in (*CALIBRATION_INTERVALS, "unrecorded")}
_SECTIONS["interpretation"] = {"difference_limit": str}
_SECTIONS["adequacy"] = {"criterion": str}


def load_config(path: str | Path | None = None) -> LabConfig:
    """The configuration from ``path``, else ``$SWEATTEST_CONFIG``, else the built-in defaults."""
    chosen = path if path is not None else os.environ.get(ENV_VAR) or None
    if chosen is None:
        return LabConfig()
    file = Path(chosen).expanduser()
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found; check --config or ${ENV_VAR}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}; fix the syntax") from None
    except RecursionError:
        raise ConfigError(f"{file}: nested too deeply to be a lab configuration; check the file") from None
    return parse_config(doc, file)


def parse_config(doc: dict[str, Any], file: Path) -> LabConfig:
    """Validate a parsed TOML document; relative folders are taken relative to the file's folder."""
    doc = dict(doc)
    instruments = parse_instruments(doc.pop("instruments", []), file)
    second_person, sodium_entry = _entry(doc.pop("entry", {}), file)
    lis = parse_lis(doc.pop("lis", {}), file)
    access = parse_access(doc.pop("access", {}), file)
    tls, web_limits = parse_serve(doc.pop("serve", {}), file)
    competency = _competency(doc.pop("competency", {}), file)
    establish_runs, qc_rules = _qc(doc.pop("qc", {}), file)
    _check_shape(doc, file)
    lab = Lab(**doc.get("lab", {}))
    hl7 = Hl7Identity(**doc.get("hl7", {}))
    _check_lab(lab, file)
    _check_hl7(hl7, file)
    report = doc.get("report", {})
    ranges = report.get("ranges", "cff_2017")
    if ranges not in RANGE_SETS:
        raise ConfigError(f"{file}: [report] ranges = {ranges!r}: use one of {', '.join(RANGE_SETS)}")
    return LabConfig(lab=lab, hl7=hl7, ranges=ranges, source=str(file), instruments=instruments, lis=lis,
                     second_entry_by_second_person=second_person,
                     sodium_entry=sodium_entry, access=access, tls=tls, web_limits=web_limits,
                     competency=competency,
                     eligibility=_eligibility(doc.get("eligibility", {}), file),
                     analysis_delay=_analysis(doc.get("analysis", {}), lab.timezone, file),
                     drop_folder=_folder(doc.get("lims", {}), "lims", "drop_folder", file),
                     template_folder=_folder(report, "report", "template_folder", file),
                     protocol_folder=_folder(doc.get("protocols", {}), "protocols", "folder", file),
                     unrecorded_calibration=_unrecorded(doc.get("calibration", {}), file),
                     calibration_intervals=_calibration(doc.get("calibration", {}), file),
                     establish_runs=establish_runs, qc_rules=qc_rules,
                     difference_limit=_difference_limit(doc.get("interpretation", {}), file),
                     adequacy=_adequacy(doc.get("adequacy", {}), file))


def _adequacy(section: dict[str, str], file: Path) -> str:
    """``[adequacy] criterion = "sweat_rate"`` (or ``"minimum_sample"``); unset: the range set's default."""
    criterion = section.get("criterion", "")
    if criterion and criterion not in CRITERIA:
        raise ConfigError(f"{file}: [adequacy] criterion = {criterion!r}: use one of "
                          + "; ".join(f"{k} ({text}; {src})" for k, (text, src) in CRITERIA.items()))
    return criterion


def _difference_limit(section: dict[str, str], file: Path) -> Quantity:
    """``[interpretation] difference_limit = "10 mmol/L"``: from 1 to 30 mmol/L."""
    if "difference_limit" not in section:
        return SITE_DIFFERENCE_LIMIT
    text = section["difference_limit"]
    try:
        q = parse_quantity(text, "concentration", "[interpretation] difference_limit")
    except SweatTestError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    if not 1 <= q.to("mmol/L").magnitude <= 30:
        raise ConfigError(f"{file}: [interpretation] difference_limit = {text!r}: give 1 to 30 mmol/L (10 mmol/L is "
                          "the usual setting: between-site SD about 4 mmol/L, Mackay 2008)")
    return q


def _calibration(section: dict[str, str], file: Path) -> dict[str, int]:
    """``[calibration] analyzer = "30 d"``: whole days from a calibration to the next, per role."""
    out = dict(CALIBRATION_INTERVALS)
    for role, text in section.items():
        if role == "unrecorded":
            continue
        days = parse_quantity(text, "time", f"{file}: [calibration] {role}").to("day").magnitude
        if days != int(days) or not 1 <= days <= 3660:
            raise ConfigError(f"{file}: [calibration] {role} = {text!r}: a whole number of days from 1 to 3660, "
                              "e.g. \"30 d\"")
        out[role] = int(days)
    return out


UNRECORDED = ("reason", "refuse")


def _unrecorded(section: dict[str, str], file: Path) -> str:
    """``[calibration] unrecorded = "reason" | "refuse"``: a patient run on an instrument not verified."""
    value = section.get("unrecorded", "reason")
    if value not in UNRECORDED:
        raise ConfigError(f"{file}: [calibration] unrecorded = {value!r}: use \"reason\" (a patient run on an "
                          "instrument with no calibration on record needs a recorded reason) or \"refuse\"")
    return value


def _qc(section: object, file: Path) -> tuple[int, WestgardRules]:
    """``[qc]``: ``establish_runs`` (a whole number, 2-100) and the Westgard rules ``reject`` and ``warn``."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: qc must be a section ([qc]), not a value")
    unknown = [k for k in section if k not in ("establish_runs", "reject", "warn")]
    if unknown:
        raise ConfigError(f"{file}: [qc] unknown key {unknown[0]!r}; known keys: establish_runs, reject, warn")
    runs = section.get("establish_runs", 20)
    if isinstance(runs, bool) or not isinstance(runs, int) or not 2 <= runs <= 100:
        raise ConfigError(f"{file}: [qc] establish_runs = {runs!r}: a whole number from 2 to 100, without quotes "
                          "(CLSI C24 asks at least 20)")
    return runs, parse_rules(section, str(file))


def _eligibility(section: dict[str, str], file: Path) -> Limits:
    """``[eligibility]``: each limit a quantity (``min_age = "2 weeks"``, ``min_weight = "3 kg"``)."""
    values = {}
    for key, kind in _ELIGIBILITY.items():
        if key in section:
            try:
                q = parse_quantity(section[key], kind, f"[eligibility] {key}")
            except SweatTestError as exc:
                raise ConfigError(f"{file}: {exc}") from None
            if q.magnitude <= 0:
                raise ConfigError(f"{file}: [eligibility] {key} = {section[key]!r} must be above 0")
            values[key] = q
    limits = Limits(**values)
    if limits.recommended_age < limits.min_age:
        raise ConfigError(f"{file}: [eligibility] recommended_age is below min_age; the age under which a test "
                          "is blocked cannot be above the age from which it is recommended")
    return limits


def _analysis(section: dict[str, str], timezone: str, file: Path) -> DelayLimit:
    """``[analysis] max_delay = "same day"`` (the default) or a time such as ``"4 h"``."""
    try:
        return parse_limit(section.get("max_delay", "same day"), timezone, "[analysis] max_delay")
    except SweatTestError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def _entry(section: object, file: Path) -> tuple[bool, bool]:
    """``[entry] second_person = true``: manual readings are entered a second time by another tech;
    ``sodium = true``: the bench offers an optional sweat sodium after each reportable chloride."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: entry must be a section ([entry]), not a value")
    for key, value in section.items():
        if key not in ("second_person", "sodium"):
            raise ConfigError(f"{file}: [entry] unknown key {key!r}; known keys: second_person, sodium")
        if not isinstance(value, bool):
            raise ConfigError(f"{file}: [entry] {key} = {value!r}: write true or false, without quotes")
    return bool(section.get("second_person", False)), bool(section.get("sodium", False))


def _competency(section: object, file: Path) -> CompetencyRules:
    """``[competency] min_tests_per_year = 10``: a whole number, 0 or more (0: no minimum)."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: competency must be a section ([competency]), not a value")
    for key, value in section.items():
        if key != "min_tests_per_year":
            raise ConfigError(f"{file}: [competency] unknown key {key!r}; known keys: min_tests_per_year")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
            raise ConfigError(f"{file}: [competency] min_tests_per_year = {value!r}: write a whole number of "
                              "tests, without quotes, such as 10 (UK 2014 asks 50)")
    return CompetencyRules(**section)


def _check_shape(doc: dict[str, Any], file: Path) -> None:
    for section, value in doc.items():
        if section not in _SECTIONS:
            known = ", ".join([*(f"[{s}]" for s in _SECTIONS), "[entry]", "[lis]", "[access]", "[serve]",
                               "[competency]", "[qc]", "[[instruments]]"])
            raise ConfigError(f"{file}: unknown section [{section}]; use {known}")
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: {section} must be a section ([{section}]), not a value")
        for key, item in value.items():
            if key not in _SECTIONS[section]:
                raise ConfigError(f"{file}: [{section}] unknown key {key!r}; known keys: "
                                  f"{', '.join(_SECTIONS[section])}")
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{file}: [{section}] {key} must be a non-empty text in quotes")


def _check_lab(lab: Lab, file: Path) -> None:
    try:
        ZoneInfo(lab.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{file}: [lab] timezone = {lab.timezone!r} is not a known time zone; use an IANA "
                          "name such as 'America/New_York' or 'Europe/London'") from None
    if lab.clia and not _CLIA.match(lab.clia):
        raise ConfigError(f"{file}: [lab] clia = {lab.clia!r}: a CLIA number is 2 digits, 'D', 7 digits "
                          "(e.g. '99D9999999')")


def _check_hl7(hl7: Hl7Identity, file: Path) -> None:
    for key in ("sending_application", "sending_facility", "receiving_application", "receiving_facility"):
        if not _HD.match(getattr(hl7, key)):
            raise ConfigError(f"{file}: [hl7] {key} = {getattr(hl7, key)!r}: at most 20 characters, without "
                              "| ^ ~ \\ & or line breaks")
    if hl7.processing_id not in ("P", "T", "D"):
        raise ConfigError(f"{file}: [hl7] processing_id = {hl7.processing_id!r}: use P (production), "
                          "T (training) or D (debugging)")


def _folder(section: dict[str, Any], name: str, key: str, file: Path) -> Path | None:
    if key not in section:
        return None
    folder = Path(section[key]).expanduser()
    if not folder.is_absolute():
        folder = (file.parent / folder).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{file}: [{name}] {key} = {section[key]!r}: folder {folder} does not exist; "
                          "create it or fix the path")
    return folder
