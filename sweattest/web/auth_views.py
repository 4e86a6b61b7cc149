"""Log-in, log-out, the lock screen and the home page."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sweattest.core.errors import AuthError
from sweattest.qa.competency import login_warnings
from sweattest.record import web_sessions
from sweattest.record.users import AUTH_FAILED
from sweattest.web import sessions
from sweattest.web.context import web
from sweattest.web.screens import station_runs
from sweattest.web.security import csrf_ok, current_user

log = logging.getLogger(__name__)
#: The session note holding the log-in warnings, shown (once) by the first page after log-in.
NOTICES = "login_warnings"


async def login(request: Request) -> Response:
    ctx = web(request)
    if request.method == "GET":
        return ctx.render(request, current_user(request), "login.html", error=None, username="")
    form = await request.form()
    username = str(form.get("username", "")).strip()
    if not csrf_ok(request, form):
        return ctx.render(request, None, "login.html", status_code=403, username=username,
                          error="The page expired. Log in again.")
    try:
        user = await run_in_threadpool(ctx.accounts.users.authenticate, ctx.store, username,
                                       str(form.get("password", "")), policy=ctx.config.access)
    except AuthError as exc:
        log.info("failed log-in for %r", username)
        message = "Wrong user name or password, or the account is disabled." if str(exc) == AUTH_FAILED \
            else str(exc)
        return ctx.render(request, None, "login.html", status_code=401, username=username, error=message)
    if request.state.web_session is not None:
        await run_in_threadpool(sessions.log_out, request, "another log-in at this browser")
    await run_in_threadpool(sessions.log_in, request, user.username)
    log.info("%s logged in", user.username)
    warnings = await run_in_threadpool(login_warnings, ctx.store, user.username, user.role, ctx.config.competency,
                                       ctx.clock.utcnow().date())
    if warnings:
        sessions.note_for_new_session(request, NOTICES, warnings)
    return RedirectResponse("/", status_code=303)


def home(request: Request, user, form) -> Response:
    return RedirectResponse("/bench" if user.role in ("tech", "reviewer") else "/qa/runs", status_code=303)


def activity(request: Request, user, form) -> Response:
    """A key, a touch or a click of the person on a page that sent nothing else (typing a note, looking at a run's
    screen with a tap): their use of the session, noted by the guard like any request of theirs. The page sends
    it only for the person's own input events, never by itself."""
    return Response(status_code=204)


def logout(request: Request, user, form) -> Response:
    sessions.log_out(request)
    return RedirectResponse("/login", status_code=303)


async def lock(request: Request) -> Response:
    """The locked screen: the password of the person it belongs to unlocks it; runs at the station stay
    visible (step, no patient data) and keep running. Another person logs out and in as themselves."""
    ctx = web(request)
    session, user = request.state.web_session, current_user(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    if request.method == "GET":
        if not await run_in_threadpool(sessions.locked_now, ctx, session):  # not idle after all: back to the page
            back = str(request.query_params.get("from", ""))
            local = back.startswith("/") and not back.startswith("//") and "\\" not in back
            return RedirectResponse(back if local else "/", status_code=303)
        return ctx.render(request, user, "lock.html", runs=await run_in_threadpool(station_runs, ctx))
    form = await request.form()
    back = _run_screen(str(form.get("next", "")))
    if not csrf_ok(request, form):
        return RedirectResponse(back or "/lock", status_code=303)
    try:
        await run_in_threadpool(ctx.accounts.users.authenticate, ctx.store, user.username,
                                str(form.get("password", "")), policy=ctx.config.access, where="unlock")
    except AuthError as exc:
        message = "Wrong password." if str(exc) == AUTH_FAILED else str(exc)
        if back:  # unlocking from a run's screen: that screen again, still locked, with what happened
            request.session["flash"] = {"run": back.rsplit("/", 1)[1], "error": message}
            return RedirectResponse(back, status_code=303)
        return ctx.render(request, user, "lock.html", status_code=401, error=message,
                          runs=await run_in_threadpool(station_runs, ctx))
    if await run_in_threadpool(sessions.locked_now, ctx, session):
        await run_in_threadpool(web_sessions.set_locked, ctx.store, session, False, "password given again")
    return RedirectResponse(back or "/", status_code=303)


def _run_screen(path: str) -> str | None:
    """``path`` if it is a run's screen of this site (where an unlock from a run's screen returns), else None."""
    parts = path.split("/")
    return path if len(parts) == 3 and parts[:2] == ["", "runs"] and parts[2].replace("-", "").isalnum() else None
