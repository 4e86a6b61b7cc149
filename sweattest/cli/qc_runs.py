"""`sweattest qc record|correct|override|runs|days|stats`: controls measured outside a run, the acts on a held
analytical run, and the QC record by run, by day and by lot and month (docs/qc.md)."""

from __future__ import annotations

import argparse

from sweattest.cli.context import Context, SignIn, command
from sweattest.cli.listing import print_listing
from sweattest.core.errors import ValidationError
from sweattest.core.purpose import PATIENT, PURPOSES, check_purpose
from sweattest.core.units import parse_quantity
from sweattest.qa.filters import parse_date
from sweattest.qa.qc_record import cumulative, qc_days, qc_runs
from sweattest.record.analytical_qc import current_run, judge_and_record
from sweattest.record.qc_lots import LEVELS, record_control
from sweattest.record.qc_verdicts import ACCEPTED, ACT_ROLES, CORRECTIVE_ACTION, OVERRIDE, add_action, state_of
from sweattest.record.users import QA_ROLES

#: Who measures controls: whoever performs runs, and the QA desk.
MEASURERS = ("tech", *QA_ROLES)
#: A chloride control result a person enters is 0 to this (mmol/L); more is a typing error, not a measurement.
MAX_CONTROL = 1000.0


def register(groups: argparse._SubParsersAction) -> None:
    r = groups.add_parser("record", help="record a control measured outside a run (manual analyzer, daily QC)",
                          description="Records one control result on an analyzer, lot and level, in the "
                                      "analyzer's analytical run of the day (a new one after a held run's "
                                      "corrective action), and records the run's Westgard verdict on every "
                                      "control measured in it so far, by the lab's [qc] rules.")
    r.add_argument("--analyzer", required=True, metavar="SERIAL", help="the analyzer's serial number")
    r.add_argument("--lot", required=True)
    r.add_argument("--level", required=True, choices=LEVELS)
    r.add_argument("--value", required=True, metavar="QUANTITY", help="the result, e.g. '41.2 mmol/L'")
    r.add_argument("--purpose", default=PATIENT, choices=PURPOSES,
                   help="the series (default patient; training and proficiency controls are kept apart)")
    command(r, _record, user=SignIn(MEASURERS, "record a control", "measured the control"))
    for name, kind, text, what, helptext in (
            ("correct", CORRECTIVE_ACTION, "--action", "record a corrective action",
             "record the corrective action of a held analytical run"),
            ("override", OVERRIDE, "--reason", "override a QC hold",
             "override the hold of an analytical run (signed, with a reason)")):
        a = groups.add_parser(name, help=helptext, description=helptext.capitalize() + ". Asks the password: "
                              "a signed act, recorded under the audit chain with who and when.")
        a.add_argument("qc_run", metavar="QC_RUN", help="the analytical run, as `sweattest qc runs` lists it")
        a.add_argument(text, dest="text", required=True)
        command(a, _act, user=SignIn(ACT_ROLES, what, "signs the act"))
        a.set_defaults(kind=kind)
    ls = groups.add_parser("runs", help="analytical runs with their recorded verdicts and corrective actions",
                           description="Each analytical run of the period: its verdict as recorded when it was "
                                       "made, the rules it broke, and the corrective actions and override of a "
                                       "held run.")
    _period(ls)
    ls.add_argument("--analyzer", metavar="SERIAL")
    ls.add_argument("--purpose", default=PATIENT, choices=PURPOSES)
    command(ls, _runs, store=True)
    d = groups.add_parser("days", help="each day with patient tests: were both control levels run",
                          description="Each day (UTC) with patient tests and the control levels each analyzer "
                                      "ran that day (CLSI C34; CLIA: two levels each day of testing).")
    _period(d)
    command(d, _days, store=True)
    s = groups.add_parser("stats", help="cumulative QC statistics per lot and month (n, mean, SD, CV)",
                          description="n, mean, SD and CV of each control lot per month and for the period "
                                      "(patient series; CLSI C24).")
    _period(s)
    command(s, _stats, store=True)


def _period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (UTC), inclusive")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    p.add_argument("--format", default="table", choices=("table", "json"))


def _record(ctx: Context) -> int:
    args = ctx.args
    config = ctx.config
    value = parse_quantity(args.value, "concentration", "--value").to("mmol/L").magnitude
    if value < 0:
        raise ValidationError(f"--value: {value:g} mmol/L is below 0; check the value; nothing was recorded")
    if value > MAX_CONTROL:
        raise ValidationError(f"--value: {value:g} mmol/L is not a chloride control result (0 to {MAX_CONTROL:g} "
                              "mmol/L); check the value; nothing was recorded")
    purpose = check_purpose(args.purpose)
    store, user = ctx.store, ctx.user
    at = store.clock.utcnow()
    qc_run, _ = current_run(store, args.analyzer, at.date(), purpose, control=True)
    record_control(store, analyzer=args.analyzer, level=args.level, lot=args.lot, value=value, qc_run=qc_run,
                   at=at, who=user.username)
    found = judge_and_record(store, qc_run, rules=config.qc_rules, who=user.username)
    rules = "; ".join(f.message for f in found.findings) or "no rule broken"
    print(f"{args.level} control {args.lot}: {value:g} mmol/L recorded in analytical run {qc_run}")
    state = state_of(found)
    print(f"verdict of {qc_run}: {state.upper() if state != ACCEPTED else state} ({rules})")
    return 0


def _act(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    act = add_action(store, args.qc_run, args.kind, args.text, who=user.username)
    name = "corrective action" if act.kind == CORRECTIVE_ACTION else "override"
    print(f"{name} of analytical run {act.qc_run} recorded by {user.full_name} ({user.username}) at "
          f"{act.at:%Y-%m-%d %H:%M:%S}Z")
    return 0


def _runs(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = qc_runs(store, parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"),
                   analyzer=args.analyzer, purpose=args.purpose)
    print_listing(rows, args.format, empty="no analytical run in the period",
                  header=f"{'ANALYTICAL RUN':<34} {'VERDICT':<10} {'JUDGED (UTC)':<17} RULES / ACTIONS",
                  line=lambda r: f"{r['qc_run']:<34} {r['verdict']:<10} {r['judged_at']:<17} "
                                 + " | ".join(x for x in (r["rules"], r["corrective_action"] and "corrective "
                                              f"action {r['corrective_action']}", r["override"] and
                                              f"override {r['override']}") if x))
    return 0


def _days(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = qc_days(store, parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"))
    print_listing(rows, args.format, empty="no day with patient tests in the period",
                  header=f"{'DAY':<10} {'TESTS':>5} {'BOTH LEVELS':<11} CONTROLS RUN",
                  line=lambda r: f"{r['day']:<10} {r['patient_tests']:>5} {r['both_levels']:<11} "
                                 f"{r['controls_run']}")
    return 0


def _stats(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = cumulative(store, parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to"))

    def num(value, fmt="g"):
        return "-" if value is None else format(value, fmt)

    print_listing(rows, args.format, empty="no control result in the period",
                  header=f"{'ANALYZER':<18} {'LEVEL':<9} {'LOT':<14} {'MONTH':<7} {'N':>4} {'MEAN':>7} {'SD':>6} "
                         f"{'CV %':>5}",
                  line=lambda r: f"{r['analyzer']:<18} {r['level']:<9} {r['lot']:<14} {r['month']:<7} {r['n']:>4} "
                                 f"{r['mean']:>7g} {num(r['sd']):>6} {num(r['cv_pct']):>5}")
    return 0
