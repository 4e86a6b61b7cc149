"""`sweattest demo`: a complete simulated bilateral Macroduct sweat test of a fictitious patient."""

from __future__ import annotations

import argparse

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.cli.options import add_run_options
from sweattest.cli.run import execute


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a complete simulated bilateral sweat test (no hardware needed)",
                       description="Runs a canned bilateral Macroduct test of a fictitious patient on "
                                   "simulated instruments and writes the record, report and LIMS file.")
    add_run_options(p)
    p.set_defaults(func=lambda args: execute(DEMO_ORDER, DEMO_SCENARIO, args, simulated_actor=SIMULATED_ACTOR))


#: The demo's operator: a simulated tech, no person (the demo asks for no password).
SIMULATED_ACTOR = "simulated-tech (demo)"
