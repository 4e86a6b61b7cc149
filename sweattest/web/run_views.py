"""A run at the bench: its current screen, live updates, the tech's confirmations, the emergency stop,
sign-off with e-signature, and the report."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.core.rules.skin import ADVICE
from sweattest.core.units import format_quantity
from sweattest.outputs.report import render_html
from sweattest.qa.audit_trail import lab_time
from sweattest.record import web_sessions
from sweattest.record.alarms import acknowledge, acknowledge_timing, inducer_alarms, stimulated_sites
from sweattest.record.refusals import record_refusal
from sweattest.record.runs import load_run
from sweattest.record.stored_record import stored_record
from sweattest.record.users import AUTH_FAILED
from sweattest.web.accounts import field_of
from sweattest.web.context import web
from sweattest.web.entry import device_unit, entry_message, qns_note, refused_value, typed_quantity
from sweattest.web.screens import alarms, live_data, screen

log = logging.getLogger(__name__)

#: The report is a printable document with its own inline style sheet; nothing else is relaxed.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def _load(request: Request):
    ctx = web(request)
    run_id = request.path_params["run_id"]
    run, order = load_run(ctx.store, run_id)
    return ctx, run_id, run, order


def run_page(request: Request, user, form) -> Response:
    """The run's screen. An error of the last form sent comes from the session (post, redirect, get), with
    what the tech typed, so Back and reload never post a form again."""
    try:
        ctx, run_id, run, order = _load(request)
    except SweatTestError as exc:
        return web(request).render(request, user, "missing.html", status_code=404, error=str(exc))
    session = ctx.bench.session(run_id)
    record = stored_record(ctx.store, run_id, ctx.clock, ctx.config.ranges)  # amendments applied
    offer = ctx.accounts.signoff.offered(ctx.store, run_id, user.username, user.role)
    # a screen drawing itself again in place (?swap=1) leaves the error for the page the browser loads next
    flash = request.session.get("flash") if request.query_params.get("swap") else request.session.pop("flash", None)
    flash = flash if flash and flash.get("run") == run_id else {}
    current = screen(run, session.live_state() if session is not None else None)
    view = session.view if session is not None else None
    key = view.key_for(current["key"]) if view else current["key"]
    timers = dict(view.timers) if view else {}
    return ctx.render(request, user, "run.html", run=run, order=record.order, record=record, offer=offer,
                      locked=getattr(request.state, "locked", False), stimulated=stimulated_sites(ctx.store, run_id),
                      screen=current, key=key, alarms=alarms(ctx.store, run_id), error=flash.get("error"),
                      typed=flash.get("typed", {}), timers=timers,
                      timing_alarms=view.alarm_list() if view else [],
                      inducer_alarms=inducer_alarms(ctx.store, run_id),
                      signatures=_signatures(ctx, run_id), fq=format_quantity, qns_note=qns_note,
                      left_alone=ctx.bench.left_alone.get(run_id),
                      station_lost=_station_lost(view),
                      device_unit=device_unit, beat_s=ctx.live_heartbeat_s,
                      target=format_quantity(run.protocol.current), duration_s=run.protocol.duration.to("s").magnitude)


def _station_lost(view) -> dict[str, str] | None:
    """The alarm of this run's screens while the station's process performing it is gone or does not answer
    (its ``title`` and ``text``), or None."""
    return next((a for a in (view.alarm_list() if view else []) if a["id"] == "station"), None)


def _back(request: Request, run_id: str, error: str | None = None, typed: dict | None = None) -> Response:
    """Post, redirect, get: the run's screen again, with the error and what was typed kept for it."""
    if error is not None:
        request.session["flash"] = {"run": run_id, "error": error, "typed": typed or {}}
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def live(request: Request, user, form) -> Response:
    try:
        ctx, run_id, run, _ = _load(request)
    except SweatTestError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    data = live_data(run, ctx.bench.session(run_id))
    full = ctx.streams.refusal(request.state.web_session.token_sha256, ctx.config.web_limits.live_streams_per_session)
    return JSONResponse(data | ({"screens_full": full} if full else {}))


def confirm(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    session = ctx.bench.session(run_id)
    if session is None or not session.active:
        why = ("this step was already confirmed, or the run no longer waits for a confirmation at this station; "
               "the screen shows where it is now")
        record_refusal(ctx.store, run_id, who=user.username, station=user.station, what="confirm", why=why)
        return _back(request, run_id, why)
    typed = {k: str(form.get(k, "")) for k in ("amount", "device_error", "prompt", "grade", "note")}
    prompt = session.prompt
    device_error = str(form.get("device_error", "")) if form.get("outcome") == "error" else None
    if form.get("outcome") == "error" and not (device_error or "").strip():
        return _back(request, run_id, "write the error the device showed", typed)
    value = None
    try:
        value = typed_quantity(typed["amount"], prompt.kind, prompt.dimension, _field_words(prompt)) \
            if prompt is not None and int(form.get("prompt", "0") or 0) == prompt.id else None
        session.confirm(int(form.get("prompt", "0") or 0), value, by=user.username, device_error=device_error,
                        station=user.station, skin=(typed["grade"], typed["note"]),
                        write_off=form.get("outcome") == "write_off")
    except (SweatTestError, ValueError) as exc:
        record_refusal(ctx.store, run_id, who=user.username, station=user.station, what="confirm", why=str(exc),
                       details={"step": prompt.kind if prompt else None, "site": prompt.site if prompt else None,
                                "operator": session.live_state().operator})
        why = str(exc)
        if value is not None and not why.startswith(NOT_ABOUT_THE_VALUE):  # well written, refused by the method
            why = refused_value(typed["amount"], prompt.kind, prompt.dimension, _field_words(prompt), why)
        return _back(request, run_id, entry_message(why), typed)
    return _back(request, run_id)


#: Refusals of a confirmation that are not about the value typed (the screen was behind, another person's entry).
NOT_ABOUT_THE_VALUE = ("this step was already confirmed", "only the run's operator")


def _field_words(prompt) -> str:
    """The number field as the screen names it, with its site: said first in a refusal of what was typed."""
    field = ("Volume on the coil" if prompt.kind == "read_volume" else "Sodium" if prompt.kind == "enter_sodium" else
             "Weight on the balance" if prompt.dimension == "mass" else "Chloride on the chloridometer")
    return f"{field} ({prompt.site.replace('_', ' ')})" if prompt.site else field


def emergency_stop(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    try:  # returns once the loop has stopped (its next reading, 0.1 s): the screen shows the outcome
        ctx.bench.stop(run_id, user.username, user.station, name=user.full_name)
    except SweatTestError as exc:
        return _back(request, run_id, str(exc))
    log.warning("run %s: emergency stop by %s", run_id, user.username)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def acknowledge_alarm(request: Request, user, form) -> Response:
    """The tech confirms the inducer was switched off at its power switch and the electrodes removed."""
    ctx = web(request)
    run_id = request.path_params["run_id"]
    typed = {"ack": request.path_params["seq"], "grade": str(form.get("grade", "")), "note": str(form.get("note", ""))}
    if request.state.locked:  # an acknowledgment is a confirmation: the password first, at a locked screen
        try:
            ctx.accounts.users.authenticate(ctx.store, user.username, str(form.get("password", "")),
                                            policy=ctx.config.access, where="unlock")
        except SweatTestError as exc:  # the skin grade and note typed stay, to send again with the password
            why = "Wrong password." if str(exc) == AUTH_FAILED else str(exc)
            return _back(request, run_id, f"{why} The alarm is not acknowledged: give your password with it.", typed)
        web_sessions.set_locked(ctx.store, request.state.web_session, False, "password given again")
    if not request.path_params["seq"].isdigit():
        return _acknowledge_timing(request, ctx, run_id, request.path_params["seq"], user)
    try:
        alarm = acknowledge(ctx.store, run_id, int(request.path_params["seq"]), user.username, ctx.clock.utcnow(),
                            skin=(typed["grade"], typed["note"]))
    except (SweatTestError, ValueError) as exc:
        return _back(request, run_id, str(exc), typed)
    log.warning("run %s: inducer alarm %s acknowledged by %s", run_id, request.path_params["seq"], user.username)
    session = ctx.bench.session(run_id)
    if session is not None:
        session.acknowledged()
    if typed["grade"] in ("blister", "burn") and alarm.site is not None:
        return _back(request, run_id, f"{alarm.site.replace('_', ' ')}: {typed['grade']}. {ADVICE}")
    return _back(request, run_id)


def _acknowledge_timing(request: Request, ctx, run_id: str, alarm: str, user) -> Response:
    """A timing alarm of the screens (a collection about to run past its maximum, a collector waiting): who
    acknowledged it and when is recorded; it stays shown, silent, until its cause is gone."""
    session = ctx.bench.session(run_id)
    text = session.live_state().timing_alarms.get(alarm) if session is not None else None
    if text is None:
        return _back(request, run_id, "this alarm has ended; the screen shows what is happening now")
    at = ctx.clock.utcnow()
    acknowledge_timing(ctx.store, run_id, alarm, text, user.username, at)
    session.silence(alarm, f"{user.full_name} ({user.username}) at {lab_time(at, ctx.config.zone)}")
    log.warning("run %s: alarm %s acknowledged by %s", run_id, alarm, user.username)
    return _back(request, run_id)


def sign(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    meaning = str(form.get("meaning", ""))
    if meaning not in ("performed", "reviewed"):
        return _back(request, run_id, "choose what your signature means")
    try:
        ctx.accounts.signoff.sign(ctx.store, ctx.clock, run_id, user.username, str(form.get("password", "")),
                                  meaning, config=ctx.config, station=user.station)
    except SweatTestError as exc:
        return _back(request, run_id, str(exc))
    log.info("run %s signed (%s) by %s", run_id, meaning, user.username)
    return _back(request, run_id)


def _record(request: Request):
    """The report record of the run's current result version: the service `sweattest report` uses."""
    ctx = web(request)
    return ctx, stored_record(ctx.store, request.path_params["run_id"], ctx.clock, ctx.config.ranges)


def report_html(request: Request, user, form) -> Response:
    try:
        ctx, record = _record(request)
    except SweatTestError as exc:
        return web(request).render(request, user, "missing.html", status_code=404, error=str(exc))
    return HTMLResponse(render_html(record, ctx.config), headers={"content-security-policy": REPORT_CSP})


def report_pdf(request: Request, user, form) -> Response:
    try:
        ctx, record = _record(request)
    except SweatTestError as exc:
        return web(request).render(request, user, "missing.html", status_code=404, error=str(exc))
    pdf = ctx.pdf.render(render_html(record, ctx.config))  # in a process of its own: never holds a stimulation
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="{record.run_id}.pdf"'})


def _signatures(ctx, run_id: str) -> list[dict]:
    try:
        items = ctx.accounts.signoff.signatures(ctx.store, run_id)
    except SweatTestError:
        return []
    return [{"username": field_of(s, "username"), "meaning": field_of(s, "meaning"), "at": field_of(s, "at")}
            for s in items]
