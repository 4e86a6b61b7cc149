"""Options shared by the commands that perform runs: --out, --speed (``--config`` and ``--db`` are the
context's: sweattest.cli.context)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from sweattest.core.clock import Clock, RealClock, VirtualClock
from sweattest.core.errors import ValidationError
from sweattest.core.units import parse_number
from sweattest.outputs.files import check_folder, file_safe


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the run record, report and LIMS files (default: a new folder here)")
    p.add_argument("--speed", default=None,
                   help="simulated time: 'instant' (the default with simulators) or a speed-up factor such as 60; "
                        "refused unless every instrument is a sweattest simulator")


def parse_speed(speed: str) -> float | None:
    """``instant`` -> None; a positive factor -> that factor."""
    if speed == "instant":
        return None
    try:
        factor = float(parse_number(speed, "--speed"))
    except ValidationError:
        factor = 0.0
    if factor <= 0:
        raise ValidationError(f"--speed: {speed!r}; use 'instant' or a positive factor such as 60")
    return factor


def simulated_clock(speed: str) -> VirtualClock:
    return VirtualClock(start=RealClock().utcnow().replace(microsecond=0), speed=parse_speed(speed))


def run_clock(speed: str | None, *, simulated: bool) -> Clock:
    """The run's clock: simulated runs default to instant time; runs on instruments to the real clock, unless
    ``--speed`` asks for simulated time (then every instrument must be a simulator, checked when opened)."""
    if speed is None:
        return simulated_clock("instant") if simulated else RealClock()
    return simulated_clock(speed)


def out_dir(arg: Path | None, accession: str, run_id: str) -> Path:
    """The run's output folder: ``--out``, else a new folder here named for the accession (as a safe file
    name: an accession such as ``A/../../x`` never leaves the current folder) and the run. Checked (it exists
    or can be created, and can be written to) before the run starts."""
    folder = arg if arg is not None else Path.cwd() / f"sweattest-{file_safe(accession)}-{file_safe(run_id)}"
    return check_folder(folder, "--out")


def terminate_as_interrupt() -> None:
    """SIGTERM stops a run like Ctrl-C: the stimulation loop switches the output off and records why."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, handler)
