"""Training orders and scenarios for ``sweattest serve --simulate``: what the order book and the simulated
patients hold when no LIMS and no instruments are attached."""

from __future__ import annotations

import copy
from typing import Any

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO

#: Orders waiting at the bench, by accession (the label the tech scans).
TRAINING_ORDERS: dict[str, dict[str, Any]] = {
    DEMO_ORDER["accession"]: DEMO_ORDER,
    "ST-2026-000124": DEMO_ORDER | {
        "accession": "ST-2026-000124", "method": "gibson_cooke",
        "patient": {"mrn": "MRN0067890", "family": "Roe", "given": "Sam", "dob": "2019-03-14", "sex": "M"}},
}

_FAULT = copy.deepcopy(DEMO_SCENARIO) | {
    "faults": [{"device": "inducer", "kind": "open_circuit", "site": "right_forearm", "at_s": 90}]}
_STUCK = copy.deepcopy(DEMO_SCENARIO) | {"faults": [
    {"device": "inducer", "kind": "stuck_relay", "site": "left_forearm", "at_s": 60},
    {"device": "inducer", "kind": "open_circuit", "site": "left_forearm", "at_s": 90}]}
_LOW = copy.deepcopy(DEMO_SCENARIO)
_LOW["sites"]["right_forearm"]["sweat_rate_g_m2_min"] = 0.5

#: Simulated patients the trainer can pick: name -> (title, scenario document).
TRAINING_SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    "normal": ("Both sites normal", DEMO_SCENARIO),
    "open_circuit": ("Electrode comes loose on the right forearm during stimulation", _FAULT),
    "stuck_relay": ("Electrode comes loose on the left forearm and the inducer's output relay does not open",
                    _STUCK),
    "low_sweat": ("Little sweat on the right forearm (QNS)", _LOW),
}


def scenario_for(name: str, sites: tuple[str, ...]) -> dict[str, Any]:
    """The scenario document for ``name``, with truth for every ordered site (unknown sites copy the first)."""
    doc = copy.deepcopy(TRAINING_SCENARIOS[name][1])
    first = next(iter(doc["sites"].values()))
    doc["sites"] = {s: doc["sites"].get(s, first) for s in sites}
    doc["faults"] = [f for f in doc["faults"] if f.get("site") in (None, *sites)]
    return doc
