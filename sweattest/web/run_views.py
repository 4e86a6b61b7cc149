"""A run at the bench: its current screen, live updates, the tech's confirmations, the emergency stop,
sign-off with e-signature, and the report."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.core.units import format_quantity
from sweattest.outputs.report import render_html
from sweattest.outputs.report.stored import stored_record
from sweattest.record.alarms import acknowledge, inducer_alarms
from sweattest.record.refusals import record_refusal
from sweattest.record.run_instruments import recorded_instruments
from sweattest.record.run_record import run_record
from sweattest.record.runs import load_run
from sweattest.web.accounts import field_of
from sweattest.web.context import web
from sweattest.web.screens import alarms, live_data, screen

log = logging.getLogger(__name__)

#: The report is a printable document with its own inline style sheet; nothing else is relaxed.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def _load(request: Request):
    ctx = web(request)
    run_id = request.path_params["run_id"]
    run, order = load_run(ctx.store, run_id)
    return ctx, run_id, run, order


def run_page(request: Request, user, form, error: str | None = None, status_code: int = 200) -> Response:
    try:
        ctx, run_id, run, order = _load(request)
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    session = ctx.bench.session(run_id)
    events = ctx.store.events(run_id)
    record = run_record(run, order, generated_at=ctx.clock.utcnow(), ranges=ctx.config.ranges,
                        instruments=recorded_instruments(ctx.store, run_id))
    return ctx.render(request, user, "run.html", status_code=status_code, run=run, order=order, record=record,
                      screen=screen(run, session), alarms=alarms(events), error=error,
                      inducer_alarms=inducer_alarms(ctx.store, run_id),
                      signatures=_signatures(ctx, run_id), fq=format_quantity,
                      target=format_quantity(run.protocol.current), duration_s=run.protocol.duration.to("s").magnitude)


def live(request: Request, user, form) -> Response:
    try:
        ctx, run_id, run, _ = _load(request)
    except SweatTestError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(live_data(run, ctx.bench.session(run_id)))


def confirm(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    session = ctx.bench.session(run_id)
    if session is None or not session.active:
        why = ("this step was already confirmed, or the run no longer waits for a confirmation at this station; "
               "the screen shows where it is now")
        record_refusal(ctx.store, run_id, who=user.username, station=user.station, what="confirm", why=why)
        return run_page(request, user, form, error=why, status_code=409)
    value = None
    if form.get("amount"):
        value = f"{str(form.get('amount')).strip()} {form.get('unit', 'uL')}"
    device_error = str(form.get("device_error", "")) if form.get("outcome") == "error" else None
    if form.get("outcome") == "error" and not (device_error or "").strip():
        return run_page(request, user, form, error="write the error the device showed", status_code=422)
    prompt = session.operator.prompt
    try:
        session.operator.confirm(int(form.get("prompt", "0") or 0), value, by=user.username,
                                 device_error=device_error, station=user.station)
    except (SweatTestError, ValueError) as exc:
        record_refusal(ctx.store, run_id, who=user.username, station=user.station, what="confirm", why=str(exc),
                       details={"step": prompt.kind if prompt else None, "site": prompt.site if prompt else None,
                                "operator": session.operator.name})
        return run_page(request, user, form, error=str(exc), status_code=422)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def emergency_stop(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    try:
        ctx.bench.stop(run_id, user.username, user.station)
    except SweatTestError as exc:
        return run_page(request, user, form, error=str(exc), status_code=409)
    log.warning("run %s: emergency stop by %s", run_id, user.username)
    session = ctx.bench.session(run_id)
    if session is not None:  # the loop stops at its next reading (0.1 s); show the outcome, not the chart
        _wait_stopped(ctx, session)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def _wait_stopped(ctx, session) -> None:
    """Give the loop a moment to switch off and record the abort, so the next screen shows it."""
    for _ in range(50):
        run, _ = load_run(ctx.store, session.run_id)
        if not any(s.state == "stimulating" for s in run.sites):
            return
        session.thread.join(timeout=0.05)  # waits for the runner thread, not for procedure time


def acknowledge_alarm(request: Request, user, form) -> Response:
    """The tech confirms the inducer was switched off at its power switch and the electrodes removed."""
    ctx = web(request)
    run_id = request.path_params["run_id"]
    try:
        acknowledge(ctx.store, run_id, int(request.path_params["seq"]), user.username, ctx.clock.utcnow())
    except (SweatTestError, ValueError) as exc:
        return run_page(request, user, form, error=str(exc), status_code=409)
    log.warning("run %s: inducer alarm %s acknowledged by %s", run_id, request.path_params["seq"], user.username)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def sign(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    meaning = str(form.get("meaning", ""))
    if meaning not in ("performed", "reviewed"):
        return run_page(request, user, form, error="choose what your signature means", status_code=422)
    try:
        ctx.accounts.signoff.sign(ctx.store, ctx.clock, run_id, user.username, str(form.get("password", "")),
                                  meaning, config=ctx.config, station=user.station)
    except SweatTestError as exc:
        return run_page(request, user, form, error=str(exc), status_code=422)
    log.info("run %s signed (%s) by %s", run_id, meaning, user.username)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def _record(request: Request):
    """The report record of the run's current result version: the service `sweattest report` uses."""
    ctx = web(request)
    return ctx, stored_record(ctx.store, request.path_params["run_id"], ctx.clock, ctx.config.ranges)


def report_html(request: Request, user, form) -> Response:
    try:
        ctx, record = _record(request)
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    return HTMLResponse(render_html(record, ctx.config), headers={"content-security-policy": REPORT_CSP})


def report_pdf(request: Request, user, form) -> Response:
    try:
        ctx, record = _record(request)
    except SweatTestError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    pdf = ctx.pdf.render(render_html(record, ctx.config))  # in a process of its own: never holds a stimulation
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="{record["run_id"]}.pdf"'})


def _signatures(ctx, run_id: str) -> list[dict]:
    try:
        items = ctx.accounts.signoff.signatures(ctx.store, run_id)
    except SweatTestError:
        return []
    return [{"username": field_of(s, "username"), "meaning": field_of(s, "meaning"), "at": field_of(s, "at")}
            for s in items]
