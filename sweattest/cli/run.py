"""`sweattest run --order ORDER.json [--simulate SCENARIO.json]`: one sweat test from an order file, on the
instruments of the lab configuration, or on the simulated bench."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sweattest.bench.order import parse_order
from sweattest.bench.proficiency import pt_order
from sweattest.bench.service import NoInstruments, OrderRefused, RunResult, RunService, UnverifiedInstrument, new_run_id
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.cli.at_station import StationGone, StationTerminal
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.operator import ConsoleOperator, InputEnded
from sweattest.cli.options import add_run_options, out_dir, parse_speed, run_clock, terminate_as_interrupt
from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.jsonfile import read_json
from sweattest.lis.worklist import bench_order
from sweattest.qa.competency import login_warnings
from sweattest.record.alarms import inducer_alarms
from sweattest.record.proficiency import find_sample
from sweattest.record.repeats import REASONS, RepeatOf
from sweattest.record.run_record_model import RunRecord
from sweattest.record.runs import load_run
from sweattest.record.worklist import open_order

#: Exit status of a run that ended unsafe or without any result: an inducer alarm (its output or setpoint could
#: not be confirmed off), or every site aborted. Bad input is 2 (nothing was run); an error during the run 1.
EXIT_NOT_SAFE_OR_NO_RESULT = 3


#: Who may perform a run: the bench roles.
PERFORMERS = ("tech", "reviewer")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="perform a sweat test from an order file",
                       description="Perform a sweat test on the instruments of the lab configuration (the tech "
                                   "answers each manual step at the terminal), or with --simulate on simulated "
                                   "instruments. ORDER.json and SCENARIO.json are described in docs/formats.md; "
                                   "instruments in docs/config.md.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--order", type=Path, help="the test order (JSON), for a lab without an LIS feed")
    source.add_argument("--accession", metavar="ACC",
                        help="run the open order ACC of the worklist (from the LIS; `sweattest worklist`)")
    source.add_argument("--pt-sample", metavar="SAMPLE",
                        help="run a registered proficiency-testing sample blinded (`sweattest pt`; docs/pt.md)")
    p.add_argument("--operator", help="with --accession or --pt-sample: who performs the test")
    p.add_argument("--lot", help="with --accession or --pt-sample: the pilocarpine lot (as on the pack)")
    p.add_argument("--lot-expires", metavar="YYYY-MM-DD", help="with --accession or --pt-sample: the lot's expiry "
                                                               "date")
    p.add_argument("--modulator-start", metavar="YYYY-MM-DD",
                   help="with --accession: the day the CFTR modulator the LIS order names was started, when the "
                        "order does not give it (ask the parent)")
    p.add_argument("--method", default="macroduct", help="with --pt-sample: the method (default macroduct)")
    p.add_argument("--site", action="append", dest="sites", metavar="SITE",
                   help="with --pt-sample: the site(s) to run (default left_forearm)")
    p.add_argument("--simulate", type=Path, metavar="SCENARIO", default=None,
                   help="simulated truth and faults (JSON); the instruments are simulators")
    p.add_argument("--repeat-of", metavar="RUN_ID",
                   help="this test repeats run RUN_ID of the same patient (required when the accession has a run)")
    p.add_argument("--reason", help=f"with --repeat-of: why the test is repeated ({', '.join(REASONS)})")
    p.add_argument("--repeat-note", default="", metavar="TEXT", help="with --repeat-of: a note (required for other)")
    p.add_argument("--unverified-reason", metavar="TEXT",
                   help="why a patient run goes ahead on an instrument with no calibration on record (kept with the "
                        "run; refused instead where the lab configures [calibration] unrecorded = \"refuse\")")
    add_run_options(p)
    command(p, _run, user=SignIn(PERFORMERS, "perform a run", "performs the run", required=False))


def repeat_of(args: argparse.Namespace) -> RepeatOf | None:
    """The repeat declaration of --repeat-of, --reason and --repeat-note (checked: each needs the others)."""
    if args.repeat_of is None:
        if args.reason or args.repeat_note:
            raise ValidationError("--reason and --repeat-note go with --repeat-of RUN_ID (the run this test repeats)")
        return None
    if not args.reason:
        raise ValidationError(f"--repeat-of {args.repeat_of}: give --reason too ({', '.join(REASONS)})")
    return RepeatOf(args.repeat_of, args.reason, args.repeat_note).checked()


def _run(ctx: Context) -> int:
    args = ctx.args
    scenario = read_json(args.simulate, "scenario") if args.simulate is not None else None
    if args.pt_sample is None and args.accession is None:
        return execute(ctx, read_json(args.order, "order"), scenario)
    _bench_details(args, "--pt-sample" if args.pt_sample is not None else "--accession")
    # the order is the store's (a patient's worklist entry, a PT sample): the user signs in before it is read, so a
    # refusal of the order (the patient's age, a started order) is told only to someone who may see it
    args.actor = args.actor or args.operator.strip()
    ctx.user  # noqa: B018 - the password before any record is read
    return execute(ctx, _pt_order(ctx) if args.pt_sample is not None else _worklist_order(ctx), scenario)


def _bench_details(args: argparse.Namespace, option: str) -> None:
    missing = [f"--{name.replace('_', '-')}" for name in ("operator", "lot", "lot_expires")
               if not (getattr(args, name) or "").strip()]
    if missing:
        raise ValidationError(f"{option}: give {', '.join(missing)} too (who performs the test, and the "
                              "pilocarpine lot from the pack)")


def _pt_order(ctx: Context) -> dict[str, Any]:
    """The blinded order of the registered PT sample ``--pt-sample``."""
    args = ctx.args
    sample = find_sample(ctx.store, args.pt_sample)
    if sample is None:
        raise ValidationError(f"--pt-sample {args.pt_sample.strip()!r}: not a registered PT sample; add it with "
                              "`sweattest pt sample add` first (`sweattest pt list` shows them)")
    return pt_order(sample, operator=args.operator.strip(), method=args.method, sites=args.sites or ["left_forearm"],
                    lot=args.lot.strip(), expires=args.lot_expires.strip())


def _worklist_order(ctx: Context) -> dict[str, Any]:
    """The worklist's open order of ``--accession`` with the operator and the lot given here."""
    args = ctx.args
    doc = bench_order(open_order(ctx.store, args.accession.strip()), ctx.config.lis)
    started = (getattr(args, "modulator_start", None) or "").strip()
    if doc.get("cftr_modulator") and not doc.get("modulator_start"):
        if not started:
            raise ValidationError(f"order {doc['accession']}: the LIS order says the patient is on a CFTR modulator "
                                  f"({doc['cftr_modulator']}) but gives no start date; ask the parent and give "
                                  "--modulator-start YYYY-MM-DD")
        doc["modulator_start"] = started
    elif started:
        raise ValidationError("--modulator-start: the LIS order names no CFTR modulator, or gives its start date "
                              "already; leave it out")
    return doc | {"operator": args.operator.strip(),
                  "pilocarpine_lot": {"lot": args.lot.strip(), "expires": args.lot_expires.strip()}}


def execute(ctx: Context, order_doc: Any, scenario_doc: Any | None, *, simulated_actor: str | None = None,
            started_by: str | None = None) -> int:
    """Validate everything, then run; nothing is written if the inputs are wrong. The checks of the inputs alone
    come first, then the password, then the checks that read the store (the accession's runs, the run a repeat
    repeats, the LIS order): what they refuse tells of a patient's runs, so only to a user who signed in. The run
    is performed by the user of ``--as`` (default: the order's operator).
    ``simulated_actor``: the demo's simulated tech instead, with no password asked here (and the demo's
    fictitious lab when none is configured); ``started_by``: the user signed in who started it (the demo in a
    store that has users)."""
    args = ctx.args
    config = ctx.config if simulated_actor is None else ctx.config.for_demo()
    order = parse_order(order_doc, config.protocol_folder)
    repeat = repeat_of(args) if simulated_actor is None else None
    if simulated_actor is not None:
        order = replace(order, operator=simulated_actor)
    scenario = parse_scenario(scenario_doc, order.sites) if scenario_doc is not None else None
    clock = run_clock(args.speed, simulated=scenario is not None)
    run_id = new_run_id(clock)
    folder = out_dir(args.out, order.accession, run_id)  # checked before the 40-minute procedure, not after
    if simulated_actor is None:
        args.actor = args.actor or order.operator
        user = ctx.user
        if user.username != order.operator:
            print(f"sweattest: the order names {order.operator} as operator; {user.username} performs the run")
            order = replace(order, operator=user.username)
    store = ctx.store
    service = RunService(store, config)
    refused = False
    try:
        repeat = service.check(order, clock=clock, scenario=scenario, repeat=repeat,
                               ask_repeat=simulated_actor is None).repeat
    except OrderRefused as exc:
        if not exc.for_lis:
            raise
        refused = True  # an LIS order: closed, and the LIS told why, by the user who runs it (the start below)
    except NoInstruments as exc:
        raise NoInstruments(f"{exc}; or give --simulate SCENARIO.json for a simulated run") from None
    if simulated_actor is None:
        for warning in login_warnings(store, user.username, user.role, config.competency, store.clock.utcnow().date()):
            print(f"sweattest: warning: {warning}")
    extra = {}
    if scenario is None and not refused:  # a person at the bench: the bench screens' checklist, before any current
        extra["checklist"] = ConsoleOperator(order.operator).confirm_checklist()
    terminate_as_interrupt()
    reporter = ConsoleReporter()
    where = "simulated instruments" if scenario is not None else f"the instruments of {config.source}"

    def created(run_id: str) -> None:  # a run refused before it exists has no id to print
        print(f"sweattest: run {run_id} for accession {order.accession} ({order.protocol.title}), "
              f"sites: {', '.join(order.sites)}, on {where}")
        if order.cftr_modulator:  # the order's (or the LIS order's, as the lab maps it) CFTR modulator
            print(f"sweattest: CFTR modulator {order.cftr_modulator} since {order.modulator_start}: the result is a "
                  "monitoring value, without a diagnostic category")

    if scenario is None and simulated_actor is None:  # a person at the bench: the station performs the run
        return _at_the_station(ctx, service, order, run_id, folder, repeat=repeat, checklist=extra.get("checklist"),
                               reporter=reporter, created=created)
    active = _start(lambda: service.start(
        order, unverified_reason=getattr(args, "unverified_reason", None), clock=clock, scenario=scenario,
        reporter=reporter, run_id=run_id, repeat=repeat, ask_repeat=simulated_actor is None, created=created,
        extra=extra, started_by=started_by))
    result = service.finish(active, active.perform(), folder)
    return _results(store, result, reporter)


def _at_the_station(ctx: Context, service: RunService, order, run_id: str, folder: Path, *, repeat, checklist,
                    reporter: ConsoleReporter, created: Callable[[str], None]) -> int:
    """The bench station's process performs the run on the configured instruments; this terminal follows it
    (``sweattest.cli.at_station``): the same steps, prompts and results as at the console."""
    args = ctx.args
    speed = None if args.speed is None else parse_speed(args.speed) or "instant"
    terminal = StationTerminal(args.db, args.config, ctx.store, reporter, ConsoleOperator(order.operator))
    _start(lambda: terminal.start(
        order=order.as_dict(), scenario=None, operator=order.operator, station=None,
        repeat=asdict(repeat) if repeat is not None else None,
        unverified_reason=getattr(args, "unverified_reason", None), checklist=checklist, speed=speed, run_id=run_id))
    created(run_id)
    return _results(ctx.store, followed(ctx, service, terminal, folder), reporter)


def followed(ctx: Context, service: RunService, terminal: StationTerminal, folder: Path) -> RunResult:
    """The run the station performs, followed at this terminal to its results, and its files; a run left
    unfinished (input ended, an error, the station stopped) says where it stands and how to go on."""
    run_id = terminal.run_id
    try:
        live = terminal.follow()
    except InputEnded as exc:
        raise InputEnded(f"{exc}. {left_unfinished(load_run(ctx.store, run_id)[0], ctx.args)}") from None
    except StationGone as exc:
        raise StationGone(f"{exc}. {left_unfinished(load_run(ctx.store, run_id)[0], ctx.args, off=False)}") from None
    run, stored = load_run(ctx.store, run_id)
    if live.error or run_id in {r["run_id"] for r in service.unfinished()}:
        raise SweatTestError(f"{live.error or 'the bench station stopped the run'}. "
                             f"{left_unfinished(run, ctx.args)}")
    return service.files(run, stored, folder)


def _results(store, result, reporter: ConsoleReporter) -> int:
    """The summary, the files written and the last line, with the exit status."""
    alarms = inducer_alarms(store, result.run.run_id)
    summary(result.record, reporter.once)
    print(f"Files written to {result.out_dir}:")
    for kind, path in result.files.items():
        print(f"  {kind:<5} {path.name}")
    return _final_line(result.run, [reporter.once(a.reason) for a in alarms] + reporter.alarms)


def _start(start: Callable[[], Any]) -> Any:
    """A start (the run service's, or the station's); where a reason would let a patient run on an instrument not
    verified go ahead, the message says how to give it."""
    try:
        return start()
    except UnverifiedInstrument as exc:
        if exc.needs_reason:
            raise UnverifiedInstrument(f"{exc}. Give the reason with --unverified-reason TEXT") from None
        raise


def left_unfinished(run, args: argparse.Namespace, off: bool = True) -> str:
    """What the tech is told when the terminal stops answering: where the run stands and how to go on."""
    options = "".join(f" --{name} {value}" for name, value in (("config", args.config), ("db", args.db))
                      if value is not None)
    where = ", ".join(f"{s.site.replace('_', ' ')} {s.state.replace('_', ' ')}" for s in run.sites)
    return (f"{'Every output is off. ' if off else ''}Run {run.run_id} is left unfinished ({where}); recorded "
            f"readings and collection start times are kept. Continue it with `sweattest resume {run.run_id}{options} "
            f"--as {args.actor}` at this station")


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


def summary(record: RunRecord, once: Callable[[str], str] = str) -> None:
    """The run's results; ``once``: the screen's filter of what it has shown already (off checks)."""
    print("")
    print(f"Result of run {record.run_id} ({record.state}):")
    for s in record.sites:
        if s.state == "aborted":
            print(f"  {s.site:<14} ABORTED: {once(s.abort_reason)}")
            continue
        verdict = "adequate" if s.adequate else "QNS"
        chloride = s.chloride
        cl = (f"chloride {chloride.text} mmol/L" if s.reportable and chloride
              else f"chloride {chloride.text}" if chloride else "no chloride (QNS)")
        print(f"  {s.site:<14} sample {s.sample} ({verdict}), sweat rate "
              f"{s.sweat_rate_g_m2_min} g/m²/min, {cl}")
    interp = record.interpretation
    if interp.withheld:
        print(f"  interpretation: none; {interp.withheld}")
    else:
        print(f"  interpretation: {interp.wording or 'none (no reportable result)'}")
    for o in record.eligibility.get("overrides", []):
        print(f"  eligibility: proceeded despite {o['code']}: {o['reason']} ({o['by']})")
    if interp.repeat_recommended:
        print("  REPEAT RECOMMENDED")
    if record.repeat_of:
        link = record.repeat_of
        print(f"  repeat of run {link['run_id']} ({link['accession']}, {link['date']}): {link['reason_text']}")
