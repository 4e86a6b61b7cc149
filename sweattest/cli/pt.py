"""`sweattest pt event add|sample add|targets|list|grade|corrective-action`: proficiency testing (docs/pt.md).
The samples themselves are run blinded at the bench: `sweattest run --pt-sample SAMPLE ...`."""

from __future__ import annotations

import argparse
import json

from sweattest.cli.context import Context, SignIn, command
from sweattest.qa import pt as pt_qa
from sweattest.record import proficiency as pt
from sweattest.record.users import QA_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pt", help="proficiency testing: events, samples, provider targets, grades, corrective actions",
                       description="Proficiency testing (CAP SW survey, UK NEQAS sweat scheme). Samples run blinded "
                                   "at the bench with `sweattest run --pt-sample SAMPLE`; see docs/pt.md.")
    actions = p.add_subparsers(dest="pt_command", metavar="ACTION")
    actions.required = True

    event = actions.add_parser("event", help="PT events").add_subparsers(dest="pt_event", metavar="add")
    event.required = True
    e = event.add_parser("add", help="record a PT event as received")
    e.add_argument("--provider", required=True, help=f"e.g. {' or '.join(pt.PROVIDERS)}")
    e.add_argument("--scheme", required=True, help="e.g. SW (CAP sweat chloride survey) or Sweat")
    e.add_argument("--event", required=True, metavar="CODE", help="the provider's event code, e.g. SW-A-2026")
    e.add_argument("--received", required=True, metavar="YYYY-MM-DD")
    e.add_argument("--due", required=True, metavar="YYYY-MM-DD", help="results due at the provider")
    command(e, _event_add, user=SignIn(QA_ROLES, "record PT events", "records the event"))

    sample = actions.add_parser("sample", help="PT samples").add_subparsers(dest="pt_sample", metavar="add")
    sample.required = True
    s = sample.add_parser("add", help="record the samples of an event, by the provider's sample ids")
    s.add_argument("--event", required=True, metavar="CODE")
    s.add_argument("samples", nargs="+", metavar="SAMPLE")
    command(s, _sample_add, user=SignIn(QA_ROLES, "record PT samples", "records the samples"))

    t = actions.add_parser("targets", help="the provider's target and acceptable range of a sample (mmol/L)")
    t.add_argument("sample", metavar="SAMPLE")
    t.add_argument("--target", required=True, metavar="MMOL_L")
    t.add_argument("--low", required=True, metavar="MMOL_L", help="lowest acceptable result")
    t.add_argument("--high", required=True, metavar="MMOL_L", help="highest acceptable result")
    t.add_argument("--reason", help="why targets already entered are corrected")
    command(t, _targets, user=SignIn(QA_ROLES, "enter PT targets", "enters the targets"))

    g = actions.add_parser("grade", help="grade every sample of an event against the provider's ranges")
    g.add_argument("event", metavar="EVENT")
    command(g, _grade, user=SignIn(QA_ROLES, "grade PT events", "grades the event"))

    c = actions.add_parser("corrective-action", help="the corrective action of a failed event")
    c.add_argument("event", metavar="EVENT")
    c.add_argument("--found", required=True, help="what the investigation found")
    c.add_argument("--done", required=True, help="what was done")
    c.add_argument("--by", required=True, metavar="NAME", help="who did it")
    c.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="when it was done")
    command(c, _corrective_action, user=SignIn(QA_ROLES, "record corrective actions", "records the corrective action"))

    ls = actions.add_parser("list", help="PT events with their samples, results, grades and outcome")
    ls.add_argument("--format", default="table", choices=("table", "json"))
    command(ls, _list, store=True)


def _event_add(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    pt.add_event(store, provider=args.provider, scheme=args.scheme, event_code=args.event,
                 received_on=args.received, due_on=args.due, who=user.username)
    print(f"PT event {args.event.strip()} recorded ({args.provider.strip()} {args.scheme.strip()}, due {args.due})")
    return 0


def _sample_add(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    for sample_id in args.samples:
        pt.add_sample(store, event_code=args.event, sample_id=sample_id, who=user.username)
        print(f"PT sample {sample_id.strip()} recorded for event {args.event.strip()}")
    return 0


def _targets(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    pt.set_targets(store, sample_id=args.sample, target=args.target, low=args.low, high=args.high,
                   who=user.username, reason=args.reason)
    print(f"PT sample {args.sample.strip()}: target {args.target} mmol/L, acceptable {args.low}-{args.high} mmol/L")
    return 0


def _grade(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    grades = pt_qa.grade_event(store, args.event, store.clock, who=user.username)
    for g in grades:
        result = "no result" if g["result"] is None else f"{g['result']:g} mmol/L"
        print(f"{g['sample_id']}: {result}, acceptable {g['low']:g}-{g['high']:g} mmol/L: {g['grade']}")
    passed = all(g["grade"] == pt.ACCEPTABLE for g in grades)
    print(f"event {args.event.strip()}: {'passed' if passed else 'FAILED: record its corrective action'}")
    return 0


def _corrective_action(ctx: Context) -> int:
    args = ctx.args
    store, user = ctx.store, ctx.user
    pt.add_corrective_action(store, event_code=args.event, found=args.found, done=args.done, done_by=args.by,
                             done_on=args.on, who=user.username)
    print(f"corrective action recorded for PT event {args.event.strip()}")
    return 0


def _list(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store
    rows = [(ev, pt_qa.samples_of(store, ev, store.clock)) for ev in pt_qa.events(store)]
    if args.format == "json":
        for ev, samples in rows:
            print(json.dumps({"provider": ev["provider"], "scheme": ev["scheme"], "event": ev["event_code"],
                              "received": ev["received_on"], "due": ev["due_on"], "outcome": ev["outcome"],
                              "needs_corrective_action": ev["needs_action"],
                              "samples": [_sample_json(s) for s in samples]}))
        return 0
    if not rows:
        print("no PT events recorded")
    for ev, samples in rows:
        flag = "  CORRECTIVE ACTION DUE" if ev["needs_action"] else ""
        print(f"{ev['provider']} {ev['scheme']} event {ev['event_code']}: received {ev['received_on']}, due "
              f"{ev['due_on']}, {ev['outcome']}{flag}")
        for s in samples:
            t = s["targets"]
            target = "-" if t is None else f"{t['target']:g} ({t['low']:g}-{t['high']:g})"
            print(f"  {s['sample_id']:<16} result {s['result'].note:<32} target {target:<20} "
                  f"{s['grade']['grade'] if s['grade'] else 'not graded'}")
        for a in ev["actions"]:
            print(f"  corrective action {a['done_on']} by {a['done_by']}: found {a['found']}; done {a['done']}")
    return 0


def _sample_json(s: dict) -> dict:
    t, g = s["targets"], s["grade"]
    return {"sample": s["sample_id"], "run_id": s["result"].run_id, "result_mmol_l": s["result"].value,
            "target_mmol_l": None if t is None else t["target"], "low_mmol_l": None if t is None else t["low"],
            "high_mmol_l": None if t is None else t["high"], "grade": None if g is None else g["grade"]}
