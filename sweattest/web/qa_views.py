"""QA pages: runs list with filters, run detail with the audit trail and the current trace, QC
Levey-Jennings charts, QNS rate, amendments, and the user list. The figures come from the QA services."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.core.procedure.table import SITE_STATES
from sweattest.qa import qns_rate
from sweattest.qa.qc_chart import chart_points, render_chart
from sweattest.record.amendable import fields
from sweattest.record.runs import load_run
from sweattest.web.accounts import field_of
from sweattest.web.context import web
from sweattest.web.plots import trace_svg

FILTERS = ("state", "method", "operator", "accession", "date_from", "date_to")


def runs_list(request: Request, user, form) -> Response:
    ctx = web(request)
    chosen = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    runs = [r for r in ctx.store.list_runs() if _matches(r, chosen)]
    runs.reverse()  # newest first
    return ctx.render(request, user, "qa_runs.html", runs=runs[:500], chosen=chosen,
                      states=SITE_STATES, total=len(runs))


def _matches(row: dict[str, Any], chosen: dict[str, str]) -> bool:
    day = row["created_at"].date().isoformat()
    return ((not chosen["state"] or row["state"] == chosen["state"])
            and (not chosen["method"] or row["method"] == chosen["method"])
            and (not chosen["operator"] or row["operator"] == chosen["operator"])
            and (not chosen["accession"] or chosen["accession"].lower() in row["accession"].lower())
            and (not chosen["date_from"] or day >= chosen["date_from"])
            and (not chosen["date_to"] or day <= chosen["date_to"]))


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
    events = ctx.store.events(run_id)
    return ctx.render(request, user, "qa_run.html", status_code=status_code, run=run, order=order,
                      row=ctx.store.get_run(run_id), events=events, traces=traces, error=error,
                      versions=ctx.accounts.signoff.versions(ctx.store, run_id),
                      signatures=ctx.accounts.signoff.signatures(ctx.store, run_id), field_of=field_of,
                      amendable=fields(run))


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
    ctx = web(request)
    analyzer = request.query_params.get("analyzer", "")
    level = request.query_params.get("level", "")
    return ctx.render(request, user, "qa_qc.html", analyzer=analyzer, level=level)


def qc_png(request: Request, user, form) -> Response:
    """The Levey-Jennings chart of one analyzer and control level (the service `sweattest qa qc-chart` uses)."""
    ctx = web(request)
    analyzer = request.query_params.get("analyzer", "")
    level = request.query_params.get("level", "")
    try:
        points, target = chart_points(ctx.store, analyzer, level)
        with tempfile.TemporaryDirectory() as folder:
            png = render_chart(points, target, f"{analyzer} level {level}", Path(folder) / "qc.png").read_bytes()
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    return Response(png, media_type="image/png")


def qns_page(request: Request, user, form) -> Response:
    ctx = web(request)
    table, error = None, None
    try:
        table = qns_rate(ctx.store)
    except SweatTestError as exc:
        error = str(exc)
    rows = [] if table is None else table.to_dict("records")
    columns = [] if table is None else [str(c) for c in table.columns]
    return ctx.render(request, user, "qa_qns.html", rows=rows, columns=columns, error=error)


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
