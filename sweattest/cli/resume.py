"""`sweattest resume`: bring runs left unfinished by a crash or power loss back under control."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from sweattest.bench.runner.operator import Operator
from sweattest.bench.service import RunResult, RunService
from sweattest.bench.simulation.world import SimulatedOperator
from sweattest.cli.at_station import StationTerminal
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.operator import ConsoleOperator
from sweattest.cli.options import out_dir, parse_speed, terminate_as_interrupt
from sweattest.cli.run import PERFORMERS, followed, summary
from sweattest.core.errors import RunLeased, ValidationError
from sweattest.record.holder import this_station
from sweattest.record.runs import load_run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resume", help="resume or abort runs left unfinished by a crash or power loss",
                       description="Finds unfinished runs. Inducer outputs are forced off; a site caught "
                                   "stimulating is aborted with the reason; collections resume from their "
                                   "recorded start; readings already recorded are kept. A run another "
                                   "live process is performing (it holds the run's lease) is left alone, and the "
                                   "exit status is then 1; a run whose process on this computer no longer runs "
                                   "is taken over at once. The runs show patients and go on under the user of "
                                   "--as (a tech or reviewer; password asked), recorded as who resumed them.")
    p.add_argument("run_id", nargs="?", help="only this run (default: every unfinished run)")
    p.add_argument("--out", type=Path, default=None, help="folder for the resumed runs' files")
    p.add_argument("--speed", default="instant", help="simulated time: 'instant' (default) or a factor")
    command(p, _resume, user=SignIn(PERFORMERS, "resume a run", "resumes the runs (a tech or reviewer)"))


def _resume(ctx: Context) -> int:
    args = ctx.args
    speed = parse_speed(args.speed)
    config = ctx.config
    store, user = ctx.store, ctx.user
    terminate_as_interrupt()
    service = RunService(store, config)
    # every unfinished run of this station, or the one named (of any station: its lease decides)
    rows = [r for r in service.unfinished(None if args.run_id else this_station())
            if args.run_id in (None, r["run_id"])]
    others = [r for r in service.unfinished() if r not in rows] if not args.run_id else []
    for row in others:
        print(f"sweattest: run {row['run_id']} is performed by station {row['station']}; left to it (give "
              "its run id to resume it here)")
    if args.run_id and not rows:
        row = store.get_run(args.run_id)
        if row is None:
            raise ValidationError(f"no run {args.run_id!r} in the store; `sweattest qa runs` lists the runs")
        raise ValidationError(f"run {args.run_id} is {row['state']}, not unfinished: there is nothing to resume")
    if not rows:
        print("sweattest: no unfinished runs" + (" at this station" if others else ""))
        return 0
    status = 0
    for row in rows:
        folder = out_dir(args.out, row["accession"], row["run_id"])  # checked before the run goes on
        on_instruments = "simulation" not in load_run(store, row["run_id"])[1]
        try:
            if on_instruments:  # the bench station performs it; this terminal follows it
                service.require_instruments()
                result = _at_the_station(ctx, service, row, folder)
            else:  # the virtual world of a simulated run: performed here (docs/safety.md)
                result = _here(service, row, speed, user.username, folder)
        except RunLeased as exc:
            if args.run_id:
                raise
            print(f"sweattest: {exc}")
            status = exc.exit_status  # a run left unfinished here: scripts and the tech are told
            continue
        summary(result.record)
        print(f"Files written to {result.out_dir}")
    return status


def _resuming(row: dict) -> None:
    print(f"sweattest: resuming run {row['run_id']} (accession {row['accession']}, was {row['state']})")


def _here(service: RunService, row: dict, speed: float | None, username: str, folder: Path) -> RunResult:
    active = service.resume(row["run_id"], speed=speed, reporter=ConsoleReporter(), by=username,
                            operator_for=partial(_at_the_terminal, username))
    _resuming(row)
    return service.finish(active, active.perform(), folder)


def _at_the_station(ctx: Context, service: RunService, row: dict, folder: Path) -> RunResult:
    """The run goes on at the bench station (resumed there, or followed again if it performs it still, as
    after this terminal was killed), under the user who resumed it; this terminal follows it."""
    args, username = ctx.args, ctx.user.username
    terminal = StationTerminal(args.db, args.config, ctx.store, ConsoleReporter(), ConsoleOperator(username))
    terminal.attach(row["run_id"], username)
    _resuming(row)
    return followed(ctx, service, terminal, folder)


def _at_the_terminal(username: str, simulated: SimulatedOperator | None) -> Operator:
    """Who performs the rest of a resumed simulated run: the simulated tech, under the name of the user who
    resumed it, so each step that follows is recorded as theirs."""
    assert simulated is not None  # a run on instruments goes on at the bench station (``_at_the_station``)
    simulated.name = username
    return simulated
