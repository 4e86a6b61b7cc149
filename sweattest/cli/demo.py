"""`sweattest demo`: a complete simulated bilateral Macroduct sweat test of a fictitious patient."""

from __future__ import annotations

import argparse

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.options import add_run_options
from sweattest.cli.run import PERFORMERS, execute
from sweattest.core.errors import ValidationError
from sweattest.record.store.store import DEMO_DB, default_sqlite_url
from sweattest.record.users import has_users

#: Who may start the demo in a store that has users (a lab's): a bench user, signed in.
STARTER = SignIn(PERFORMERS, "run the demo in a store that has users",
                 "starts the demo where --db names a store that has users: a tech or reviewer",
                 required=False)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a complete simulated bilateral sweat test (no hardware needed)",
                       description="Runs a canned bilateral Macroduct test of a fictitious patient on "
                                   "simulated instruments and writes the record, report and LIMS file. In its own "
                                   "store it asks for no user; in a store that has users (--db naming a lab's "
                                   "store) only a tech or reviewer who gives --as and their password starts it.")
    add_run_options(p)
    command(p, _demo, config=True, store=True, user=STARTER,
            db_help=f"run store URL or SQLite path (default: the demo's own store, {DEMO_DB} in the user data "
                    "folder, never the lab's store of $SWEATTEST_DB)")


def _demo(ctx: Context) -> int:
    """The demo's run is simulated; unless --db names a store, it goes to the demo's own store. A store that has
    users is a lab's: the demo is started there by a bench user who signs in, before anything else is read or
    written, and the run's creation is audited as theirs (its operator stays the simulated tech)."""
    ctx.args.db = ctx.args.db or default_sqlite_url(DEMO_DB)
    print(f"sweattest: the demo's run store is {ctx.args.db}")
    ctx.config  # noqa: B018 - a bad configuration stops the demo before the store is opened
    started_by = None
    if ctx.args.actor or has_users(ctx.store):
        if not ctx.args.actor:
            raise ValidationError("this store has users (a lab's store): give --as USER, a tech or reviewer who "
                                  "starts the demo, and their password; without --db the demo runs in its own "
                                  "store, which asks for none")
        started_by = ctx.user.username
    return execute(ctx, DEMO_ORDER, DEMO_SCENARIO, simulated_actor=SIMULATED_ACTOR, started_by=started_by)


#: The demo's operator: a simulated tech, no person (in its own store the demo asks for no password).
SIMULATED_ACTOR = "simulated-tech (demo)"
