"""`sweattest demo`: a complete simulated bilateral Macroduct sweat test of a fictitious patient."""

from __future__ import annotations

import argparse

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.cli.context import Context, command
from sweattest.cli.options import add_run_options
from sweattest.cli.run import execute
from sweattest.record.store.store import DEMO_DB, default_sqlite_url


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a complete simulated bilateral sweat test (no hardware needed)",
                       description="Runs a canned bilateral Macroduct test of a fictitious patient on "
                                   "simulated instruments and writes the record, report and LIMS file.")
    add_run_options(p)
    command(p, _demo, config=True, store=True,
            db_help=f"run store URL or SQLite path (default: the demo's own store, {DEMO_DB} in the user data "
                    "folder, never the lab's store of $SWEATTEST_DB)")


def _demo(ctx: Context) -> int:
    """The demo's run is simulated; unless --db names a store, it goes to the demo's own store."""
    ctx.args.db = ctx.args.db or default_sqlite_url(DEMO_DB)
    print(f"sweattest: the demo's run store is {ctx.args.db}")
    return execute(ctx, DEMO_ORDER, DEMO_SCENARIO, simulated_actor=SIMULATED_ACTOR)


#: The demo's operator: a simulated tech, no person (the demo asks for no password).
SIMULATED_ACTOR = "simulated-tech (demo)"
