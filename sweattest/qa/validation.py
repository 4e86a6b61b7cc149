"""`sweattest validate`: the lab's installation qualification (IQ: version, Python, the package's files against
their install record, configuration, the store's migrations and audit chain) and operational qualification
(OQ: the clinical rule cases of ``validation_cases`` run against the live rule functions; the shell adds the
bench's own checks, ``sweattest.bench.qualification``: a simulated run from order to files in a temporary store,
and the configured instruments, or simulated ones when none are).

Nothing here writes to the lab's store; the signed report and its audit entry are the caller's
(``sweattest.cli.validate``, ``sweattest.record.validations``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sweattest import __version__
from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.errors import SweatTestError
from sweattest.core.protocol import load_protocol
from sweattest.core.rules import adequacy, chloride, eligibility, interpretation, qc, ranges, reagents
from sweattest.core.rules.age import calendar_age
from sweattest.core.rules.findings import Severity
from sweattest.core.rules.result import SiteOutcome
from sweattest.core.units import Q_, parse_quantity
from sweattest.qa.validation_cases import RULE_CASES, RuleCase
from sweattest.record.audit import verify

IQ, OQ = "installation", "operational"


@dataclass(frozen=True)
class Check:
    stage: str
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RuleResult:
    case: RuleCase
    observed: str

    @property
    def passed(self) -> bool:
        return self.observed == self.case.expected


@dataclass(frozen=True)
class Validation:
    at: datetime
    version: str
    checks: tuple[Check, ...]
    rules: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and all(r.passed for r in self.rules)

    @property
    def outcome(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def failures(self) -> list[str]:
        out = [f"{c.stage}: {c.name}: {c.detail}" for c in self.checks if not c.passed]
        out += [f"rule case {r.case.id} ({r.case.rule}): expected {r.case.expected!r}, got {r.observed!r}"
                for r in self.rules if not r.passed]
        return out


def run_validation(store, config: LabConfig, clock: Clock, progress=None,
                   bench: Callable[[Callable[[str], None]], list[tuple[str, bool, str]]] | None = None) -> Validation:
    """Every IQ and OQ check; ``progress(text)`` before each stage. ``bench(progress)``: the operational checks
    that perform (``sweattest.bench.qualification.bench_checks``: a simulated run, the instruments), given by
    the shell, as (name, passed, detail)."""
    say = progress or (lambda text: None)
    say("installation: version, Python, package files, configuration, store")
    checks = [check_version(), check_python(), check_files(), check_config(config), *check_store(store)]
    say(f"operational: {len(RULE_CASES)} clinical rule cases")
    rules = tuple(run_case(case) for case in RULE_CASES)
    if bench is None:
        checks.append(Check(OQ, "simulated run and instruments", False, "not run"))
    else:
        checks += [Check(OQ, name, passed, detail) for name, passed, detail in bench(say)]
    return Validation(clock.utcnow(), __version__, tuple(checks), rules)


# -- installation qualification ------------------------------------------------------------------------
def check_version() -> Check:
    try:
        installed = importlib.metadata.version("sweattest")
    except importlib.metadata.PackageNotFoundError:
        return Check(IQ, "installed version", False, f"sweattest {__version__} is not installed as a package "
                     "(pip install it; a bare source folder cannot be qualified)")
    same = installed == __version__
    return Check(IQ, "installed version", same, f"sweattest {installed} installed; the code says {__version__}"
                 + ("" if same else ": reinstall so that both agree"))


def check_python() -> Check:
    required = importlib.metadata.metadata("sweattest").get("Requires-Python", ">=3.11") \
        if _installed() else ">=3.11"
    minimum = tuple(int(p) for p in required.removeprefix(">=").split(".")[:2])
    ok = sys.version_info[:2] >= minimum
    return Check(IQ, "Python", ok, f"Python {platform.python_version()} ({sys.executable}); requires {required}")


def check_files() -> Check:
    """Every file the install record (pip's RECORD) lists with a hash still has that hash."""
    if not _installed():
        return Check(IQ, "package files", False, "no install record: sweattest is not installed as a package")
    dist = importlib.metadata.distribution("sweattest")
    files = [f for f in dist.files or () if f.hash is not None]
    bad = []
    for f in files:
        path = Path(dist.locate_file(f))
        try:
            digest = hashlib.new(f.hash.mode, path.read_bytes()).digest()
        except OSError:
            bad.append(f"{f} missing")
            continue
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") != f.hash.value:
            bad.append(f"{f} changed")
    editable = any(str(f).endswith(".pth") for f in dist.files or ()) or (dist.read_text("direct_url.json") or
                                                                         "").find('"editable": true') >= 0
    kind = ("an editable install: the package's source files are the checkout, outside the record; "
            if editable else "")
    detail = (f"{kind}{len(files)} files of the install record match their SHA-256" if not bad
              else f"{len(bad)} of {len(files)} files differ from the install record: {', '.join(bad[:5])}")
    return Check(IQ, "package files", not bad, detail)


def check_config(config: LabConfig) -> Check:
    found = [f"lab configuration: {config.source}"]
    if config.protocol_folder:
        found.append(f"lab methods: {config.protocol_folder}")
    if config.template_folder:
        found.append(f"lab templates: {config.template_folder}")
    found.append(f"{len(config.instruments)} instrument(s) configured")
    return Check(IQ, "configuration", True, "; ".join(found))


def check_store(store) -> list[Check]:
    done, wanted = store.migrations()
    missing = sorted(wanted - done)
    migrations = Check(IQ, "store migrations", not missing,
                       f"{len(done & wanted)} of {len(wanted)} migrations applied"
                       + (f"; missing: {', '.join(map(str, missing))}" if missing else "")
                       + f" ({store.dialect})")
    result = verify(store)
    return [migrations, Check(IQ, "audit trail", result.intact, result.message())]


def _installed() -> bool:
    try:
        importlib.metadata.distribution("sweattest")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# -- operational qualification: the rule cases ----------------------------------------------------------
def run_case(case: RuleCase) -> RuleResult:
    try:
        observed = KINDS[case.kind](case.inputs)
    except SweatTestError as exc:
        observed = f"error: {exc}"
    return RuleResult(case, observed)


def _q(text: str, kind: str) -> object:
    return parse_quantity(text, kind, "validation case")


def _volume(i: dict) -> str:
    a = adequacy.assess_volume(load_protocol(i["method"]), _q(i["volume"], "volume"), _q(i["collection"], "time"))
    return _adequacy_words(a)


def _weights(i: dict) -> str:
    a = adequacy.assess_weights(load_protocol(i["method"]), _q(i["pre"], "mass"), _q(i["post"], "mass"),
                                _q(i["collection"], "time"))
    return _adequacy_words(a)


def _adequacy_words(a) -> str:
    warned = [f.code for f in a.findings if f.severity is Severity.WARN]
    return "; ".join(["adequate" if a.adequate else "QNS", *warned])


def _chloride(i: dict) -> str:
    report = chloride.report_chloride(load_protocol(i["method"]), _q(i["measured"], "concentration"))
    return f"{report.status.value}; repeat" if report.repeat_required else f"{report.status.value} {report.text}"


def _category(i: dict) -> str:
    age = calendar_age(date.fromisoformat(i["born"]), date.fromisoformat(i["on"])) if "born" in i else None
    return ranges.range_set(i["ranges"], age).category(int(i["chloride"])).value


def _interpret(i: dict) -> str:
    protocol = load_protocol("macroduct")
    outcomes = []
    for n, (volume, measured) in enumerate(i["sites"]):
        a = adequacy.assess_volume(protocol, _q(volume, "volume"), Q_(30, "min"))
        cl = chloride.report_chloride(protocol, _q(measured, "concentration")) if measured and a.adequate else None
        outcomes.append(SiteOutcome(f"site{n + 1}", a, cl))
    result = interpretation.interpret(outcomes)
    codes = sorted({f.code for f in result.findings if f.severity is not Severity.INFO})
    category = result.category.value if result.category else "none"
    return "; ".join([category, "repeat" if result.repeat_recommended else "no repeat", ", ".join(codes)])


#: The controls of a case: normal lot N1 (mean 40, SD 2 mmol/L), abnormal lot A1 (mean 100, SD 4), as z-scores.
_TARGETS = {"N1": qc.ControlLot("normal", "N1", Q_(40, "mmol/L"), Q_(2, "mmol/L")),
            "A1": qc.ControlLot("abnormal", "A1", Q_(100, "mmol/L"), Q_(4, "mmol/L"))}


_TARGETS |= {"N2": qc.ControlLot("normal", "N2", Q_(40, "mmol/L"), Q_(2, "mmol/L")),
             "A2": qc.ControlLot("abnormal", "A2", Q_(100, "mmol/L"), Q_(4, "mmol/L"))}
_LEVELS = {"normal": (40, 2), "abnormal": (100, 4)}


def _controls(run_id: str, controls: list) -> qc.QCRun:
    """A run of [level, z] controls: the first of each level on lot N1/A1, the second on N2/A2."""
    seen: dict[str, int] = {}
    results = []
    for level, z in controls:
        seen[level] = seen.get(level, 0) + 1
        mean, sd = _LEVELS[level]
        results.append(qc.ControlResult(level, f"{level[0].upper()}{seen[level]}", Q_(mean + sd * z, "mmol/L")))
    return qc.QCRun(run_id, "validation-analyzer", tuple(results))


def _pair(run_id: str, zs: list) -> qc.QCRun:
    return _controls(run_id, list(zip(("normal", "abnormal"), zs, strict=False)))


def _qc_run(i: dict) -> qc.RunQC:
    current = _controls("validation", i["controls"]) if "controls" in i else _pair("validation", i["z"])
    history = [_pair(f"earlier-{n}", zs) for n, zs in enumerate(i.get("history", []))]
    return qc.evaluate_run(current, _TARGETS, history)


def _westgard(i: dict) -> str:
    verdict = _qc_run(i)
    return "; ".join(["rejected" if verdict.rejected else "accepted", *(f.code for f in verdict.findings)])


def _release(i: dict) -> str:
    return ", ".join(f.code for f in qc.can_release(_qc_run(i))) or "released"


def _hold(i: dict) -> str:
    found = qc.release_held(_qc_run(i), corrected=i["corrected"], passed_since=i["passed_since"], overridden=False)
    return ", ".join(f.code for f in found) or "released"


def _calibration(i: dict) -> str:
    findings = qc.check_calibration("validation-analyzer", date.fromisoformat(i["last"]),
                                    _q(i["interval"], "time"), date.fromisoformat(i["on"]))
    return ", ".join(f.code for f in findings) or "none"


def _lot(i: dict) -> str:
    findings = reagents.check_pilocarpine_lot(i["lot"], date.fromisoformat(i["expires"]), date.fromisoformat(i["on"]))
    return ", ".join(f.code for f in findings) or "none"


def _eligibility(i: dict) -> str:
    decision = eligibility.assess(date.fromisoformat(i["born"]), datetime.fromisoformat(i["on"]))
    return "allowed" if decision.allowed else "blocked" if decision.blocks else "warned"


def _site(i: dict) -> str:
    return ", ".join(f.code for f in eligibility.check_site(i["site"])) or "allowed"


KINDS = {"volume": _volume, "weights": _weights, "chloride": _chloride, "category": _category,
         "interpret": _interpret, "westgard": _westgard, "release": _release, "hold": _hold,
         "calibration": _calibration,
         "lot": _lot, "eligibility": _eligibility, "site": _site}
