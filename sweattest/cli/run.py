"""`sweattest run --order ORDER.json --simulate SCENARIO.json`: a run from files on the simulated bench."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sweattest.bench.config import load_config
from sweattest.bench.order import parse_order
from sweattest.bench.simulated_run import check_order_now, new_run_id, perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.options import add_run_options, out_dir, simulated_clock, terminate_as_interrupt
from sweattest.core.errors import ValidationError
from sweattest.core.jsonfile import read_json
from sweattest.record.alarms import inducer_alarms
from sweattest.record.store import open_store

#: Exit status of a run that ended unsafe or without any result: an inducer alarm (its output or setpoint could
#: not be confirmed off), or every site aborted. Bad input is 2 (nothing was run); an error during the run 1.
EXIT_NOT_SAFE_OR_NO_RESULT = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="perform a sweat test from an order file on the simulated bench",
                       description="Perform a sweat test. ORDER.json and SCENARIO.json are described in "
                                   "docs/formats.md.")
    p.add_argument("--order", required=True, type=Path, help="the test order (JSON)")
    p.add_argument("--simulate", required=True, type=Path, metavar="SCENARIO",
                   help="simulated truth and faults (JSON); the instruments are simulators")
    add_run_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return execute(read_json(args.order, "order"), read_json(args.simulate, "scenario"), args)


def execute(order_doc: Any, scenario_doc: Any, args: argparse.Namespace) -> int:
    """Validate everything, then run; nothing is written if the inputs are wrong."""
    order = parse_order(order_doc)
    scenario = parse_scenario(scenario_doc, order.sites)
    config = load_config(args.config)
    clock = simulated_clock(args.speed)
    check_order_now(order, clock)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ValidationError(f"--out: {args.out} exists and is not a folder; choose another path")
    store = open_store(args.db)
    terminate_as_interrupt()
    run_id = new_run_id(clock)
    folder = out_dir(args.out, order.accession, run_id)
    reporter = ConsoleReporter()
    print(f"sweattest: run {run_id} for accession {order.accession} ({order.protocol.title}), "
          f"sites: {', '.join(order.sites)}")
    try:
        result = perform_simulated_run(order, scenario, store=store, clock=clock, out_dir=folder,
                                       reporter=reporter, run_id=run_id, config=config)
        alarms = inducer_alarms(store, run_id)
    finally:
        store.close()
    _summary(result.record)
    print(f"Files written to {result.out_dir}:")
    for kind, path in result.files.items():
        print(f"  {kind:<5} {path.name}")
    return _final_line(result.run, [a.reason for a in alarms] + reporter.alarms)


def _final_line(run, alarms: list[str]) -> int:
    """The last line says whether the run ended safe and with a result; the exit status says it to scripts."""
    if alarms:
        print(f"sweattest: INDUCER NOT CONFIRMED SAFE: {alarms[0]} (exit status {EXIT_NOT_SAFE_OR_NO_RESULT})")
        return EXIT_NOT_SAFE_OR_NO_RESULT
    if all(s.state == "aborted" for s in run.sites):
        print(f"sweattest: every site was aborted; there is no result for this run: repeat the test "
              f"(exit status {EXIT_NOT_SAFE_OR_NO_RESULT})")
        return EXIT_NOT_SAFE_OR_NO_RESULT
    return 0


def _summary(record: dict) -> None:
    print("")
    print(f"Result of run {record['run_id']} ({record['state']}):")
    for s in record["sites"]:
        if s["state"] == "aborted":
            print(f"  {s['site']:<14} ABORTED: {s['abort_reason']}")
            continue
        verdict = "adequate" if s["adequate"] else "QNS"
        chloride = (s.get("chloride") or {}).get("reportable")
        cl = f"chloride {chloride} mmol/L" if chloride else ("no chloride (QNS)" if not s["adequate"]
                                                              else "chloride not reportable")
        print(f"  {s['site']:<14} sample {s['sample']} ({verdict}), sweat rate "
              f"{s['sweat_rate_g_m2_min']} g/m²/min, {cl}")
    interp = record.get("interpretation") or {}
    print(f"  interpretation: {interp.get('wording') or 'none (no reportable result)'}")
    if interp.get("repeat_recommended"):
        print("  REPEAT RECOMMENDED")
