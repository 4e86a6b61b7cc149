"""`sweattest simulate inducer|balance|chloridometer`: a simulated instrument on a pseudo-terminal.

``--model`` picks the instrument model where there are several: ``balance --model sartorius-sbi`` serves a
Sartorius SBI balance instead of the default MT-SICS one.

Prints the device path on its first line and serves until SIGINT or SIGTERM, so any serial program
(the drivers, a terminal program, a vendor tool) can talk to it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from drivers.simulators.pty_server import PtyServer
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.cli.context import Context, command
from sweattest.core import instrument_models
from sweattest.core.errors import ConfigError, SweatTestError
from sweattest.core.instrument_models import SIMULATED_DEVICE
from sweattest.core.jsonfile import read_json
from sweattest.core.units import parse_quantity

DEVICES = tuple(SIMULATED_DEVICE.values())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="serve a simulated instrument on a pseudo-terminal",
        description="Serve a simulated instrument on a pseudo-terminal; prints the device path first, "
                    "then serves until interrupted. Faults as in sim:// URLs, e.g. "
                    "--fault open_circuit@120s:1 (inducer), --fault unstable (balance), --fault E01 "
                    "(chloridometer); --model sartorius-sbi for a Sartorius balance.")
    p.add_argument("device", choices=DEVICES)
    p.add_argument("--model", default=None, metavar="MODEL",
                   help="the instrument model to simulate (the first is the default); " + "; ".join(
                       f"{device}: {', '.join(m.name for m in instrument_models.simulated(role))}"
                       for role, device in SIMULATED_DEVICE.items()))
    p.add_argument("--fault", action="append", default=[], metavar="KIND[@TIME][:CHANNEL]",
                   help="inject a fault (repeatable)")
    p.add_argument("--baud", type=int, default=9600, help="baud rate of the terminal (default 9600)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated noise (default 0)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a simulator option as in its sim:// URL, e.g. load=1:12kohm, settle=1s, mass=1.2g")
    p.add_argument("--sample", action="append", default=[], metavar="ID=CHLORIDE",
                   help="chloridometer: a sample loaded at start, e.g. ST123-L=45mmol/L (repeatable)")
    p.add_argument("--results", action="append", default=[], metavar="PATTERN=CHLORIDE",
                   help="chloridometer: what a sample or control loaded without a value measures, by sample id "
                        "pattern or control level, e.g. '*-1=45mmol/L' (channel 1, left) or normal=40mmol/L "
                        "(repeatable; first match wins; defaults normal 40, abnormal 100, *-1 45, *-2 48)")
    p.add_argument("--scenario", type=Path, default=None, metavar="SCENARIO.json",
                   help="chloridometer: the chloride of each site of a run --simulate scenario, by channel (the "
                        "sites in the order the file lists them)")
    command(p, _simulate)


def _simulate(ctx: Context) -> int:
    args = ctx.args
    sim = _build(args)
    try:
        server = PtyServer(sim, args.baud)
    except ValueError as exc:
        raise ConfigError(f"--baud: {exc}") from None
    print(server.path, flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop())
    for item in args.sample:
        sample_id, _, chloride = item.partition("=")
        sim.load_sample(sample_id, chloride)
    server.serve()
    print(f"{args.device} simulator stopped", file=sys.stderr)
    return 0


def _build(args: argparse.Namespace):
    cls = instrument_models.load(_simulator(args.device, getattr(args, "model", None)).simulator)
    options: dict[str, list[str]] = {"seed": [str(args.seed)]}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--option {item!r}: write it as KEY=VALUE, e.g. settle=1s")
        options.setdefault(key, []).append(value)
    if args.fault:
        options["fault"] = args.fault
    for option in ("sample", "results", "scenario"):
        if getattr(args, option, None) and args.device != "chloridometer":
            raise ConfigError(f"--{option} is for the chloridometer only")
    results = list(getattr(args, "results", [])) + _scenario_results(getattr(args, "scenario", None))
    if results:
        options["results"] = results
    for item in args.sample:
        sample_id, sep, chloride = item.partition("=")
        if not sep or not sample_id:
            raise ConfigError(f"--sample {item!r}: write it as ID=CHLORIDE, e.g. ST123-L=45mmol/L")
        parse_quantity(chloride, "concentration", f"--sample {item!r}")
    try:
        return cls.from_url_options(options, baudrate=args.baud)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"simulate {args.device}: {exc.args[0] if exc.args else exc}; "
                          f"options as in {cls.URL_FORM}") from None


def _scenario_results(path: Path | None) -> list[str]:
    """``*-N=CHLORIDE`` for the Nth site of a scenario file (sample ids end in their channel)."""
    if path is None:
        return []
    doc = read_json(path, "scenario")
    sites = tuple(doc.get("sites", {})) if isinstance(doc, dict) else ()
    scenario = parse_scenario(doc, sites)
    return [f"*-{n}={scenario.sites[site].chloride_mmol_l}mmol/L" for n, site in enumerate(sites, 1)]


def _simulator(device: str, model: str | None) -> instrument_models.Model:
    """The simulated model ``model`` of ``device``'s role (the role's first simulated model when ``None``)."""
    models = {m.name: m for m in instrument_models.simulated(instrument_models.role_of(device))}
    if model is None:
        return next(iter(models.values()))
    if model not in models:
        raise ConfigError(f"simulate {device}: unknown --model {model!r}; models: {', '.join(models)}")
    return models[model]


def main(argv: list[str] | None = None) -> int:
    """``python -m sweattest.cli.simulate DEVICE ...``: the same command, loading only what it needs."""
    parser = argparse.ArgumentParser(prog="sweattest")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except SweatTestError as exc:
        print(f"sweattest: error: {exc}", file=sys.stderr)
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())
