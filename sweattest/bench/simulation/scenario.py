"""SCENARIO.json: the simulated truth per site, and the faults to inject. Format: docs/formats.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sweattest.core import instrument_models
from sweattest.core.errors import ValidationError
from sweattest.core.fields import field, number_field
from sweattest.core.rules.skin import skin_check


def fault_kinds() -> dict[str, tuple[str, ...]]:
    """Fault kinds each simulated device accepts in a scenario: exactly what the simulator of its role's first
    simulated model (the one a simulated bench opens) can inject (its module's ``FAULTS``)."""
    kinds = {}
    for role, device in instrument_models.SIMULATED_DEVICE.items():
        module = instrument_models.simulated(role)[0].simulator.partition(":")[0]
        kinds[device] = tuple(instrument_models.load(f"{module}:FAULTS"))
    return kinds


@dataclass(frozen=True)
class SiteTruth:
    sweat_rate_g_m2_min: float
    chloride_mmol_l: float
    skin_resistance_kohm: float
    #: the skin the simulated tech sees as the electrodes come off (``sweattest.core.rules.skin``)
    skin: str = "none"
    skin_note: str = ""


@dataclass(frozen=True)
class Fault:
    device: str
    kind: str
    site: str | None
    at_s: float


@dataclass(frozen=True)
class Scenario:
    sites: dict[str, SiteTruth]
    faults: tuple[Fault, ...]
    seed: int

    def as_dict(self) -> dict:
        """The scenario as SCENARIO.json has it (recorded with a simulated run, so it can be resumed)."""
        return {"sites": {k: vars(v) for k, v in self.sites.items()},
                "faults": [{"device": f.device, "kind": f.kind, "site": f.site, "at_s": f.at_s}
                           for f in self.faults],
                "seed": self.seed}


def _skin(s: dict, where: str) -> dict[str, str]:
    """``"skin": "erythema"`` (default none) and ``"skin_note"``: checked as the tech's entry is."""
    note = s.get("skin_note") or ""  # empty as a resumed run's recorded scenario has it: no note
    if not isinstance(note, str):
        raise ValidationError(f"{where}.skin_note: expected a string, got {type(note).__name__} {note!r}")
    check = skin_check(field(s, "skin", where, str, required=False, default="none"), note, f"{where}.skin")
    return {"skin": check.grade, "skin_note": check.note}


def parse_scenario(doc: Any, order_sites: tuple[str, ...]) -> Scenario:
    if not isinstance(doc, dict):
        raise ValidationError("scenario: expected a JSON object")
    sites_doc = field(doc, "sites", "scenario", dict)
    sites: dict[str, SiteTruth] = {}
    for site in order_sites:
        where = f"scenario.sites.{site}"
        if site not in sites_doc:
            raise ValidationError(f"{where}: missing; the order collects from {site}, give its simulated truth")
        s = field(sites_doc, site, "scenario.sites", dict)
        sites[site] = SiteTruth(
            sweat_rate_g_m2_min=number_field(s, "sweat_rate_g_m2_min", where, minimum=0, maximum=20),
            chloride_mmol_l=number_field(s, "chloride_mmol_l", where, minimum=0, maximum=300),
            skin_resistance_kohm=number_field(s, "skin_resistance_kohm", where, required=False,
                                              minimum=0.1, maximum=1000) or 10.0,
            **_skin(s, where))
    for site in sites_doc:
        if site not in order_sites:
            raise ValidationError(f"scenario.sites.{site}: not a site of the order ({', '.join(order_sites)})")
    faults = []
    kinds = fault_kinds()
    for i, f in enumerate(field(doc, "faults", "scenario", list, required=False, default=[])):
        where = f"scenario.faults[{i}]"
        device = field(f, "device", where, str)
        if device not in kinds:
            raise ValidationError(f"{where}.device: {device!r}; use one of {', '.join(kinds)}")
        kind = field(f, "kind", where, str)
        if kind not in kinds[device]:
            raise ValidationError(f"{where}.kind: {kind!r} is not a {device} fault; use one of "
                                  f"{', '.join(kinds[device])}")
        site = field(f, "site", where, str, required=device == "inducer")
        if site is not None and site not in order_sites:
            raise ValidationError(f"{where}.site: {site!r} is not a site of the order")
        at_s = number_field(f, "at_s", where, required=False, minimum=0, maximum=7200) or 0.0
        faults.append(Fault(device=device, kind=kind, site=site, at_s=at_s))
    seed = field(doc, "seed", "scenario", int, required=False, default=1)
    return Scenario(sites=sites, faults=tuple(faults), seed=seed)
