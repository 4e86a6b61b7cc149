"""The steps before a run exists: accession, patient identity, eligibility, method and sites, pilocarpine
lot, electrode checklist. Each step validates with the clinical rules (sweattest.core.rules) and the order
parser; the views only show what these functions return. Nothing is written until the run starts."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sweattest.bench.order import Order, parse_order
from sweattest.bench.proficiency import BLINDED_FAMILY, pt_order
from sweattest.bench.service import eligibility_of
from sweattest.core.errors import ValidationError
from sweattest.core.fields import typed_date
from sweattest.core.procedure.model import SITES
from sweattest.core.protocol import list_protocols, load_protocol
from sweattest.core.rules.checklist import CHECKLIST, check_confirmed
from sweattest.core.rules.eligibility import CONDITIONS, DEFAULT_LIMITS, Limits, Override
from sweattest.core.rules.findings import Finding, Severity
from sweattest.core.rules.reagents import lot_block
from sweattest.record.patient_history import test_summary
from sweattest.record.proficiency import PTSample
from sweattest.record.repeats import REASONS, RepeatOf, runs_of_accession, runs_of_patient

STEPS = ("identify", "repeat", "eligibility", "method", "lot", "checklist")



@dataclass
class Draft:
    """A test being prepared at the bench by one user."""

    id: str
    owner: str
    order: dict[str, Any]
    done: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    #: what the order itself says (conditions, override reasons); the bench adds to it, never removes
    ordered: dict[str, Any] = field(default_factory=dict)
    scenario: str = "normal"
    #: the lab's own methods folder (lab configuration), looked up before the shipped methods
    protocols: Path | None = None
    #: the run started from this draft (Back from the run's screen leads to the run, not to a dead step)
    run_id: str | None = None
    #: the last form sent to a step that did not pass: its error and what was typed, shown once by the step
    flash: dict[str, Any] | None = None
    #: the patient's earlier runs (``test_summary`` of each; ``same_accession``: of this accession), shown by the
    #: repeat step; the step is passed at once when there are none
    earlier: list[dict[str, Any]] = field(default_factory=list)
    #: the run this test repeats, as the tech declared it (required when the accession has a run already)
    repeat: RepeatOf | None = None

    @property
    def repeat_required(self) -> bool:
        return any(e["same_accession"] for e in self.earlier)

    @property
    def next_step(self) -> str:
        return next((s for s in STEPS if s not in self.done), "start")

    def parsed(self) -> Order:
        return parse_order(self.order, self.protocols)


def open_draft(order_book: dict[str, dict[str, Any]], accession: str, owner: str,
               protocols: Path | None = None, pt_sample: Callable[[str], PTSample | None] | None = None) -> Draft:
    """A draft from the order the scanned accession label names, or, for the id of a registered
    proficiency-testing sample (``pt_sample`` looks it up), the sample's blinded order: no patient to identify."""
    code = accession.strip()
    if not code:
        raise ValidationError("accession: scan the accession label on the request form")
    sample = pt_sample(code) if pt_sample is not None and code not in order_book else None
    if sample is not None:
        order = pt_order(sample, operator=owner, method="macroduct", sites=["left_forearm"], lot="to scan",
                         expires="2000-01-01")  # the lot step scans the real one
        return Draft(id=secrets.token_urlsafe(9), owner=owner, order=order, protocols=protocols,
                     ordered={"conditions": [], "overrides": []}, done={"identify", "repeat"})  # never a repeat
    if code not in order_book:
        raise ValidationError(f"accession {code}: no open order with this number. Check the label, or ask the "
                              "ward to send the order")
    order = copy.deepcopy(order_book[code]) | {"operator": owner}
    ordered = {"conditions": list(order.get("conditions", [])), "overrides": list(order.get("overrides", []))}
    return Draft(id=secrets.token_urlsafe(9), owner=owner, order=order, protocols=protocols, ordered=ordered)


def find_earlier(draft: Draft, store, simulated: bool) -> None:
    """The runs of the draft's accession and of its patient (MRN and date of birth) already stored (simulated
    ones at a training bench); none: the repeat step is passed."""
    patient = draft.order["patient"]
    if patient.get("family") == BLINDED_FAMILY:  # a PT sample: run once, never a repeat
        return
    runs = {e.run_id: e for e in runs_of_accession(store, draft.order["accession"], simulated)}
    runs |= {e.run_id: e for e in runs_of_patient(store, str(patient["mrn"]), str(patient["dob"]), simulated)}
    draft.earlier = [test_summary(store, {"run_id": e.run_id, "accession": e.accession, "created_at": e.created_at,
                                          "state": e.state, "qns": e.qns})
                     | {"same_accession": e.accession == draft.order["accession"]}
                     for e in sorted(runs.values(), key=lambda e: (e.created_at, e.run_id))]
    if not draft.earlier:
        draft.done.add("repeat")


#: The answer "not a repeat" of the repeat step (allowed only when the accession has no run yet).
NOT_A_REPEAT = "none"


def declare_repeat(draft: Draft, repeat_of: str | None, reason: str, note: str) -> None:
    """The tech's answer to "is this a repeat?": the earlier run and the reason, or (only when the accession
    has no run yet) not a repeat (``NOT_A_REPEAT``). Nothing is chosen for the tech: no answer (None), or no
    reason for a repeat, asks again."""
    if not (repeat_of or "").strip():
        if draft.repeat_required:
            raise ValidationError("this accession has been tested already: pick the run this test repeats and the "
                                  "reason, or cancel and ask for a new order")
        raise ValidationError("say whether this test repeats one of the earlier tests: pick its run, or "
                              "\u201cNot a repeat\u201d")
    if repeat_of == NOT_A_REPEAT and not draft.repeat_required:
        draft.repeat = None
    else:
        if repeat_of not in {e["run_id"] for e in draft.earlier}:
            raise ValidationError(f"run {repeat_of!r} is not one of this patient's runs listed here; pick one")
        if not reason.strip():
            raise ValidationError(f"reason for repeating run {repeat_of}: choose one from the list")
        draft.repeat = RepeatOf(repeat_of, reason, note).checked()
    draft.done.add("repeat")


class CheckFailed(ValidationError):
    """A failed identity or eligibility check: the draft is cancelled and the test starts again from the
    accession."""


def identify(draft: Draft, mrn: str, dob: str) -> None:
    """Both patient identifiers (wristband) must match the order. A date of birth not written YYYY-MM-DD is a
    typing error to correct (nothing is cancelled); a mismatch of a well-formed identifier, at the first visit
    or a later one, fails the check (CheckFailed): an earlier pass does not count any more."""
    patient = draft.order["patient"]
    if not mrn.strip() or not dob.strip():
        raise ValidationError("scan or type both identifiers from the wristband: MRN and date of birth")
    born = typed_date(dob.strip(), "date of birth")
    if mrn.strip() != patient["mrn"] or born != typed_date(str(patient["dob"]), "the order's date of birth"):
        draft.done.clear()
        raise CheckFailed("the wristband does not match the order: do NOT test. Check the patient's identity "
                          "and the request form with a colleague")
    draft.done.add("identify")


def eligibility(draft: Draft, conditions: list[str], reasons: dict[str, str], on: datetime,
                limits: Limits = DEFAULT_LIMITS, zone: tzinfo = UTC,
                modulator: tuple[str, str] = ("", "")) -> list[Finding]:
    """Check the patient with the run service's own check (sweattest.bench.service.eligibility_of): the
    order's conditions and those ticked at the bench; each warning passes only with its own reason (the order's,
    or one typed at the bench), blocks never. ``modulator``: the CFTR modulator the parent names and the day
    it was started (both, checked as an order's; the result is then a monitoring value). Returns the findings
    to show."""
    ticked = list(dict.fromkeys([*draft.ordered["conditions"], *conditions]))
    given = {o["code"]: o["reason"] for o in draft.ordered["overrides"]}
    given |= {code: text.strip() for code, text in reasons.items() if text.strip()}
    trial = draft.order | {"conditions": ticked, "overrides": []}
    name, started = (part.strip() for part in modulator)
    if name or started:  # a part left empty is left out, so the order's check names what is missing
        trial = {k: v for k, v in trial.items() if k not in ("cftr_modulator", "modulator_start")}
        trial |= {k: v for k, v in (("cftr_modulator", name), ("modulator_start", started)) if v}
    found = eligibility_of(parse_order(trial, draft.protocols), on, limits, zone).findings
    warnings = [f.code for f in found if f.severity is Severity.WARN]
    draft.order = trial | {"overrides": [{"code": c, "reason": given[c]} for c in warnings if c in given]}
    decision = eligibility_of(draft.parsed(), on, limits, zone)
    draft.findings, draft.overrides = list(found), list(decision.overrides)
    if decision.allowed:
        draft.done.add("eligibility")
    else:
        draft.done.discard("eligibility")
    blocks = [f.message for f in found if f.severity is Severity.BLOCK]
    if blocks:
        draft.done.clear()
        raise CheckFailed(f"the test cannot be done today: {'; '.join(blocks)}. Tell the ordering provider")
    return list(found)


def methods(protocols: Path | None = None) -> list[tuple[str, str]]:
    return [(p.stem, load_protocol(p).title) for p in list_protocols(protocols)]


def choose_method(draft: Draft, method: str, sites: list[str], scenario: str | None,
                  scenarios: dict[str, Any]) -> None:
    if scenario is not None:
        if scenario not in scenarios:
            raise ValidationError(f"training scenario {scenario!r}: pick one from the list")
        draft.scenario = scenario
    ordered = [s for s in SITES if s in sites]
    parse_order(draft.order | {"method": method, "sites": ordered}, draft.protocols)  # the order's own validation
    draft.order |= {"method": method, "sites": ordered}
    draft.done.add("method")


def scan_lot(draft: Draft, lot: str, expires: str, today: date) -> None:
    expiry = typed_date(expires.strip(), "expiry date on the pack")
    block = lot_block(lot, expiry, today)
    if block is not None:
        raise ValidationError(block.message)
    draft.order["pilocarpine_lot"] = {"lot": lot.strip(), "expires": expiry.isoformat()}
    draft.done.add("lot")


def checklist(draft: Draft, ticked: list[str]) -> None:
    check_confirmed(ticked, "ticked")
    draft.done.add("checklist")


__all__ = ["CHECKLIST", "CONDITIONS", "REASONS", "STEPS", "CheckFailed", "Draft", "checklist", "choose_method",
           "declare_repeat", "eligibility", "find_earlier", "identify", "methods", "open_draft", "scan_lot"]
