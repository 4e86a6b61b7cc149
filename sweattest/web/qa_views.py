"""QA pages: the review queue and the runs list with a free search, run detail with the audit trail and the
current trace, QC Levey-Jennings charts by date, QNS and turnaround dashboards, amendments, and the user
list. The figures come from the QA services (sweattest.qa)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.core.procedure.table import SITE_STATES
from sweattest.qa import QNS_TARGETS, qns_rate
from sweattest.qa.audit_trail import audit_rows, person
from sweattest.qa.filters import RunFilter, parse_date
from sweattest.qa.qc_chart import chart_points, qc_choices, render_chart, rule_name
from sweattest.qa.qns import SOURCE as QNS_SOURCE
from sweattest.qa.trend import qns_trend, turnaround_trend
from sweattest.qa.workspace import FLAGS, awaiting_signature, find_runs, full_names, patient_name, run_summary
from sweattest.record.amendable import fields
from sweattest.record.repeats import repeat_link, repeated_by
from sweattest.record.runs import load_run, stored_order
from sweattest.web.accounts import field_of
from sweattest.web.context import web
from sweattest.web.plots import bars, trace_svg

FILTERS = ("state", "method", "date_from", "date_to")
#: Rows a runs list shows (newest first); each row's result is replayed from its events.
SHOWN = 50


def runs_list(request: Request, user, form) -> Response:
    """The review queue (runs awaiting the user's signature) and the runs, newest first, filtered. The free
    search (patient name, MRN) comes only in the posted form, never in the URL."""
    ctx = web(request)
    given = form if form is not None else request.query_params
    chosen = {k: str(given.get(k, "")).strip() for k in FILTERS}
    chosen["q"] = str(form.get("q", "")).strip() if form is not None else ""
    names = full_names(ctx.store)
    runs, total, error = [], 0, None
    try:
        where = RunFilter(date_from=parse_date(chosen["date_from"] or None, "From"),
                          date_to=parse_date(chosen["date_to"] or None, "To"),
                          status=chosen["state"] or None, method=chosen["method"] or None)
        runs, total = find_runs(ctx.store, where, chosen["q"], names, SHOWN)
    except SweatTestError as exc:
        error = str(exc)
    shown = [r | run_summary(ctx.store, r, ctx.clock, ctx.config.ranges) for r in runs]
    queue = [(r | {"patient": patient_name(stored_order(r))}, meaning)
             for r, meaning in awaiting_signature(ctx.store, user.username, user.role)]
    return ctx.render(request, user, "qa_runs.html", runs=shown, chosen=chosen, states=SITE_STATES, total=total,
                      queue=queue, person=_person(names), flags=FLAGS, local=_local(ctx), error=error)


def _person(names: dict[str, str]):
    return lambda username: person(username, names)


def _local(ctx):
    zone = ctx.config.zone
    return lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def run_detail(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    try:
        run, order = load_run(ctx.store, run_id)
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    target = run.protocol.current.to("mA").magnitude
    duration = run.protocol.duration.to("s").magnitude
    traces = {s.site: trace_svg([r["data"] for r in ctx.store.readings(run_id, site=s.site, kind="stimulation_sample")],
                                target,
                                duration) for s in run.sites}
    names = full_names(ctx.store)
    audit = audit_rows(ctx.store, run_id, ctx.store.events(run_id), ctx.config.zone, names)
    return ctx.render(request, user, "qa_run.html", status_code=status_code, run=run, order=order,
                      row=ctx.store.get_run(run_id), audit=audit, traces=traces, error=error,
                      person=_person(names), local=_local(ctx), zone_name=ctx.config.lab.timezone,
                      versions=ctx.accounts.signoff.versions(ctx.store, run_id),
                      signatures=ctx.accounts.signoff.signatures(ctx.store, run_id), field_of=field_of,
                      amendable=fields(run), repeat=repeat_link(ctx.store, run_id),
                      repeated_by=repeated_by(ctx.store, run_id))


def amend(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    changes = {str(form.get("field", "")): str(form.get("value", ""))}
    try:
        ctx.accounts.signoff.amend(ctx.store, ctx.clock, run_id, user.username, str(form.get("password", "")),
                                   changes=changes, reason=str(form.get("reason", "")), config=ctx.config)
    except SweatTestError as exc:
        return run_detail(request, user, form, error=str(exc), status_code=422)
    return RedirectResponse(f"/qa/runs/{run_id}", status_code=303)


def qc_page(request: Request, user, form) -> Response:
    """Analyzer and level chosen from the recorded QC (the first by default), the chart, and its points with
    the Westgard rules each analytical run broke."""
    ctx = web(request)
    choices = qc_choices(ctx.store)
    analyzer = request.query_params.get("analyzer", "") or next(iter(choices), "")
    levels = choices.get(analyzer, [])
    level = request.query_params.get("level", "")
    if level not in levels:  # another analyzer's level, or none chosen: this analyzer's first
        level = levels[0] if levels else ""
    points, target, error = [], None, None
    if analyzer and level:
        try:
            points, target = chart_points(ctx.store, analyzer, level)
        except SweatTestError as exc:
            error = str(exc)
    return ctx.render(request, user, "qa_qc.html", analyzer=analyzer, level=level, choices=choices,
                      points=points, target=target, error=error, rule_name=rule_name, local=_local(ctx))


def qc_png(request: Request, user, form) -> Response:
    """The Levey-Jennings chart of one analyzer and control level (the service `sweattest qa qc-chart` uses)."""
    ctx = web(request)
    analyzer = request.query_params.get("analyzer", "")
    level = request.query_params.get("level", "")
    try:
        points, target = chart_points(ctx.store, analyzer, level)
        with tempfile.TemporaryDirectory() as folder:
            png = render_chart(points, target, f"{analyzer} level {level}", Path(folder) / "qc.png",
                               ctx.config.zone).read_bytes()
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    return Response(png, media_type="image/png")


def qns_page(request: Request, user, form) -> Response:
    """The QNS rate per month (all operators) with its trend, and per operator, month and age group."""
    ctx = web(request)
    rows = qns_rate(ctx.store).to_dict("records")
    trend = qns_trend(ctx.store)
    chart = bars([(t["month"], t["rate_pct"]) for t in trend], "%", limits=sorted(set(QNS_TARGETS.values())))
    return ctx.render(request, user, "qa_qns.html", rows=rows, trend=trend, chart=chart, source=QNS_SOURCE)


def turnaround_page(request: Request, user, form) -> Response:
    """Hours from the start of a run to its report, per month: median and 90th percentile, with the trend."""
    ctx = web(request)
    trend = turnaround_trend(ctx.store)
    chart = bars([(t["month"], t["median_h"]) for t in trend if t["median_h"] is not None], "h")
    return ctx.render(request, user, "qa_turnaround.html", trend=trend, chart=chart)


def lis_page(request: Request, user, form) -> Response:
    """Messages to the LIS that failed (refused with AR) or are still waiting after a failed attempt."""
    from sweattest.record import outbox

    ctx = web(request)
    rows = [m.summary() for m in outbox.messages(ctx.store) if m.state == outbox.FAILED
            or (m.state == outbox.PENDING and m.attempts > 0)]
    return ctx.render(request, user, "qa_lis.html", rows=rows)


def users_page(request: Request, user, form) -> Response:
    ctx = web(request)
    users = [{"username": field_of(u, "username"), "full_name": field_of(u, "full_name"),
              "role": field_of(u, "role"), "active": field_of(u, "active")}
             for u in ctx.accounts.users.list_users(ctx.store)]
    return ctx.render(request, user, "admin_users.html", users=users)
