"""`sweattest resume`: bring runs left unfinished by a crash or power loss back under control."""

from __future__ import annotations

import argparse
import getpass
import socket
from pathlib import Path

from sweattest.bench.service import RunService
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.operator import ConsoleOperator
from sweattest.cli.options import add_config_option, out_dir, terminate_as_interrupt
from sweattest.cli.run import summary
from sweattest.core.config import load_config
from sweattest.core.errors import RunLeased, ValidationError
from sweattest.record.holder import this_station
from sweattest.record.store import open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resume", help="resume or abort runs left unfinished by a crash or power loss",
                       description="Finds unfinished runs. Inducer outputs are forced off; a site caught "
                                   "stimulating is aborted with the reason; collections resume from their "
                                   "recorded start; readings already recorded are kept. A run another "
                                   "live process is performing (it holds the run's lease) is left alone, and the "
                                   "exit status is then 1; a run whose process on this computer no longer runs "
                                   "is taken over at once.")
    p.add_argument("run_id", nargs="?", help="only this run (default: every unfinished run)")
    p.add_argument("--db", default=None, help="run store URL or SQLite path")
    p.add_argument("--out", type=Path, default=None, help="folder for the resumed runs' files")
    p.add_argument("--speed", default="instant", help="simulated time: 'instant' (default) or a factor")
    add_config_option(p)
    p.set_defaults(func=_resume)


def station_user() -> str:
    """Who resumes from this terminal: the signed-in system user at this computer (``user@host``)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown user"
    return f"{user}@{socket.gethostname()}"


def _resume(args: argparse.Namespace) -> int:
    from sweattest.cli.options import parse_speed

    speed = parse_speed(args.speed)
    config = load_config(args.config)
    store = open_store(args.db)
    terminate_as_interrupt()
    try:
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
            try:
                active = service.resume(row["run_id"], speed=speed, reporter=ConsoleReporter(), by=station_user(),
                                        operator_for=lambda sim, op=row["operator"]: sim or ConsoleOperator(op))
            except RunLeased as exc:
                if args.run_id:
                    raise
                print(f"sweattest: {exc}")
                status = exc.exit_status  # a run left unfinished here: scripts and the tech are told
                continue
            print(f"sweattest: resuming run {row['run_id']} (accession {row['accession']}, was {row['state']})")
            result = service.finish(active, active.perform(), folder)
            summary(result.record)
            print(f"Files written to {result.out_dir}")
    finally:
        store.close()
    return status
