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
from sweattest.core.purpose import PATIENT, PURPOSES, parse_purposes
from sweattest.qa import pt as pt_qa
from sweattest.qa.audit_trail import audit_rows, lab_time, person
from sweattest.qa.filters import parse_date
from sweattest.qa.pack import build_pack, default_name, pack_filter, render_html, tables_path, tables_zip
from sweattest.qa.qc_chart import chart_points, render_chart, rule_name
from sweattest.qa.qc_record import cumulative, qc_runs
from sweattest.qa.qns import QNS_TARGETS, qns_rate
from sweattest.qa.qns import SOURCE as QNS_SOURCE
from sweattest.qa.trend import qns_trend, turnaround_trend
from sweattest.qa.workspace import (
    FLAGS,
    awaiting_signature,
    desk_alerts,
    find_runs,
    full_names,
    patient_name,
    run_summary,
)
from sweattest.record import outbox
from sweattest.record.amendable import fields
from sweattest.record.analytical_qc import qc_choices
from sweattest.record.proficiency import add_corrective_action
from sweattest.record.reads import record_bulk_read
from sweattest.record.repeats import repeat_link, repeated_by
from sweattest.record.run_filter import RunFilter
from sweattest.record.runs import load_run, stored_order
from sweattest.record.users import QA_ROLES
from sweattest.record.validations import validations
from sweattest.web.accounts import field_of
from sweattest.web.context import web
from sweattest.web.plots import bars, trace_svg

FILTERS = ("state", "method", "date_from", "date_to", "purpose")
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
                          status=chosen["state"] or None, method=chosen["method"] or None,
                          purposes=_purposes(chosen["purpose"]))
        runs, total = find_runs(ctx.store, where, chosen["q"], names, SHOWN)
    except SweatTestError as exc:
        error = str(exc)
        where = RunFilter()
    shown = [r | run_summary(ctx.store, r, ctx.clock, ctx.config.ranges) for r in runs]
    queue = [(r | {"patient": patient_name(stored_order(r))}, meaning)
             for r, meaning in awaiting_signature(ctx.store, user.username, user.role)]
    alerts = desk_alerts(ctx.store) if user.role in QA_ROLES else []
    return ctx.render(request, user, "qa_runs.html", runs=shown, chosen=chosen, states=SITE_STATES, total=total,
                      purposes=PURPOSES, counted=where.counted, queue=queue, alerts=alerts,
                      person=_person(names), flags=FLAGS, local=_local(ctx), error=error)


def _purposes(value: str) -> tuple[str, ...]:
    """The purpose filter of a QA page: empty for patient runs, a purpose, or "all"."""
    return parse_purposes([value] if value else None, "Purpose")


def _where_purpose(request: Request) -> tuple[RunFilter, str, str | None]:
    """(the filter, the purpose chosen, an error) from a dashboard's ``?purpose=``."""
    chosen = request.query_params.get("purpose", "").strip()
    try:
        return RunFilter(purposes=_purposes(chosen)), chosen, None
    except SweatTestError as exc:
        return RunFilter(), "", str(exc)


def _person(names: dict[str, str]):
    return lambda username: person(username, names)


def _local(ctx):
    """A recorded time in the lab's time zone, to the second (``2026-12-06 17:40:39 CET``)."""
    return lambda at: lab_time(at, ctx.config.zone)


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
    purpose = _series(request)
    choices = qc_choices(ctx.store, purpose)
    analyzer = request.query_params.get("analyzer", "") or next(iter(choices), "")
    levels = choices.get(analyzer, [])
    level = request.query_params.get("level", "")
    if level not in levels:  # another analyzer's level, or none chosen: this analyzer's first
        level = levels[0] if levels else ""
    points, target, error = [], None, None
    if analyzer and level:
        try:
            points, target = chart_points(ctx.store, analyzer, level, purpose=purpose)
        except SweatTestError as exc:
            error = str(exc)

    stats = [r for r in cumulative(ctx.store, purpose=purpose) if r["analyzer"] == analyzer and r["level"] == level]
    held = [r for r in qc_runs(ctx.store, analyzer=analyzer, purpose=purpose) if r["verdict"] != "accepted"]
    return ctx.render(request, user, "qa_qc.html", analyzer=analyzer, level=level, choices=choices,
                      purpose=purpose, purposes=PURPOSES, stats=stats, held=held,
                      points=points, target=target, error=error, rule_name=rule_name, local=_local(ctx))


def _series(request: Request) -> str:
    """The QC series asked for (``purpose``): patient unless another known purpose is named."""
    purpose = request.query_params.get("purpose", PATIENT)
    return purpose if purpose in PURPOSES else PATIENT


def qc_png(request: Request, user, form) -> Response:
    """The Levey-Jennings chart of one analyzer and control level (the service `sweattest qa qc-chart` uses)."""
    ctx = web(request)
    analyzer = request.query_params.get("analyzer", "")
    level = request.query_params.get("level", "")
    try:
        points, target = chart_points(ctx.store, analyzer, level, purpose=_series(request))
        with tempfile.TemporaryDirectory() as folder:
            png = render_chart(points, target, f"{analyzer} level {level}", Path(folder) / "qc.png",
                               ctx.config.zone).read_bytes()
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    return Response(png, media_type="image/png")


def qns_page(request: Request, user, form) -> Response:
    """The QNS rate per month (all operators) with its trend, and per operator, month and age group."""
    ctx = web(request)
    where, chosen, error = _where_purpose(request)
    rows = qns_rate(ctx.store, where).to_dict("records")
    trend = qns_trend(ctx.store, where)
    chart = bars([(t["month"], t["rate_pct"]) for t in trend], "%", limits=sorted(set(QNS_TARGETS.values())))
    return ctx.render(request, user, "qa_qns.html", rows=rows, trend=trend, chart=chart, source=QNS_SOURCE,
                      purposes=PURPOSES, purpose=chosen, counted=where.counted, error=error)


def turnaround_page(request: Request, user, form) -> Response:
    """Hours from the start of a run to its report, per month: median and 90th percentile, with the trend."""
    ctx = web(request)
    where, chosen, error = _where_purpose(request)
    trend = turnaround_trend(ctx.store, where)
    chart = bars([(t["month"], t["median_h"]) for t in trend if t["median_h"] is not None], "h")
    return ctx.render(request, user, "qa_turnaround.html", trend=trend, chart=chart, purposes=PURPOSES,
                      purpose=chosen, counted=where.counted, error=error)


def pt_page(request: Request, user, form) -> Response:
    """Proficiency testing: each event with its samples, the lab's results from their blinded runs, the
    provider's ranges, the grades, the outcome and the corrective actions; a form records a corrective action."""
    ctx = web(request)
    error, status = None, 200
    if form is not None:
        try:
            add_corrective_action(ctx.store, event_code=str(form.get("event", "")), found=str(form.get("found", "")),
                                  done=str(form.get("done", "")), done_by=str(form.get("done_by", "")),
                                  done_on=str(form.get("done_on", "")), who=user.username)
            return RedirectResponse("/qa/pt", status_code=303)
        except SweatTestError as exc:
            error, status = str(exc), 422
    events = [(ev, pt_qa.samples_of(ctx.store, ev, ctx.clock)) for ev in reversed(pt_qa.events(ctx.store))]
    return ctx.render(request, user, "qa_pt.html", status_code=status, events=events, error=error,
                      source=pt_qa.SOURCE, chosen=form or {})


def records_page(request: Request, user, form) -> Response:
    """The index of the QA records (lots, calibrations, equipment, PT, competency, skin, LIS, validations)."""
    return web(request).render(request, user, "qa_records.html")


def pack_page(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    """The form for the evidence pack's period; the buttons download its PDF or its tables."""
    ctx = web(request)
    chosen = {k: request.query_params.get(k, "") for k in ("date_from", "date_to")}
    return ctx.render(request, user, "qa_pack.html", status_code=status_code, chosen=chosen, error=error)


def pack_pdf(request: Request, user, form) -> Response:
    """The evidence pack of the period as PDF, rendered in the PDF process (never beside a stimulation)."""
    return _pack_download(request, user, lambda pack, ctx: ctx.pdf.render(render_html(pack, ctx.config)),
                          "application/pdf", "pdf")


def pack_zip(request: Request, user, form) -> Response:
    """The evidence pack's tables: one CSV per section, in one zip."""
    return _pack_download(request, user, lambda pack, ctx: tables_zip(pack), "application/zip", "zip")


def _pack_download(request: Request, user, render, media_type: str, suffix: str) -> Response:
    ctx = web(request)
    given = request.query_params
    try:
        where = pack_filter(parse_date(given.get("date_from") or None, "From"),
                            parse_date(given.get("date_to") or None, "To"))
        pack = build_pack(ctx.store, where, generated_at=ctx.clock.utcnow(), generated_by=user.username,
                          config=ctx.config)
        body = render(pack, ctx)
    except SweatTestError as exc:
        return pack_page(request, user, None, error=str(exc), status_code=422)

    record_bulk_read(ctx.store, who=user.username, what="pack", rows=sum(len(s.rows) for s in pack.sections),
                     at=ctx.clock.utcnow(), station=user.station,
                     detail={"from": str(where.date_from), "to": str(where.date_to), "format": suffix})
    name = default_name(where.date_from, where.date_to)
    name = name if suffix == "pdf" else tables_path(name)
    return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{name}"'})


def validations_page(request: Request, user, form) -> Response:
    """The signed validation reports recorded in the audit trail: when, who, version, outcome, the report's hash."""
    ctx = web(request)
    return ctx.render(request, user, "qa_validations.html", rows=validations(ctx.store), local=_local(ctx),
                      person=_person(full_names(ctx.store)))


def lis_page(request: Request, user, form) -> Response:
    """Messages to the LIS that failed (refused with AR) or are still waiting after a failed attempt."""
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
