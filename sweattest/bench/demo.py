"""The canned demo: a bilateral Macroduct run of a fictitious patient, fully simulated."""

from __future__ import annotations

DEMO_ORDER = {
    "accession": "ST-2026-000123",
    "patient": {"mrn": "MRN0012345", "family": "Doe", "given": "Jane", "dob": "2025-06-01", "sex": "F"},
    "ordering_provider": "A. Smith MD",
    "method": "macroduct",
    "sites": ["left_forearm", "right_forearm"],
    "operator": "tech1",
    "pilocarpine_lot": {"lot": "PG1234", "expires": "2099-12-31"},
}

DEMO_SCENARIO = {
    "sites": {
        "left_forearm": {"sweat_rate_g_m2_min": 2.5, "chloride_mmol_l": 45, "skin_resistance_kohm": 10},
        "right_forearm": {"sweat_rate_g_m2_min": 2.2, "chloride_mmol_l": 48, "skin_resistance_kohm": 12},
    },
    "faults": [],
    "seed": 7,
}
