"""Log-in and idle-lock checks (the sessions themselves: sweattest.web.sessions), CSRF tokens, role checks and
security headers for every page.

Each endpoint is declared with the roles allowed to call it (``guard``); the roles travel with the route so
a test can call every route as every role. POSTs need the session's CSRF token; patient data never goes
into URLs (runs are addressed by run id)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sweattest.record.refusals import record_refusal
from sweattest.record.users import record_wrong_role
from sweattest.web.sessions import SessionUser, active_or_locked, page_request

#: Who may do what. The bench is for techs and reviewers (senior techs); QA for reviewers, the QA desk and
#: admins; releasing results (REVIEW) for reviewers alone.
VIEW = ("tech", "reviewer", "qa", "admin")
BENCH = ("tech", "reviewer")
QA = ("reviewer", "qa", "admin")
REVIEW = ("reviewer",)
ADMIN = ("admin",)

HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode().lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def current_user(request: Request) -> SessionUser | None:
    """The person of the request's open server-side session (``sweattest.web.sessions``), or None."""
    return getattr(request.state, "user", None)


def csrf_token(request: Request) -> str:
    """The CSRF token: the session's, or before log-in the log-in form's own (its cookie)."""
    session = getattr(request.state, "web_session", None)
    return session.csrf if session is not None else request.state.login_csrf


def csrf_ok(request: Request, form: FormData) -> bool:
    expected = csrf_token(request)
    given = form.get("csrf")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


Endpoint = Callable[[Request, SessionUser, FormData | None], Response]


def guard(roles: tuple[str, ...], endpoint: Endpoint, *, passive: bool = False, when_locked: bool = False) -> Callable:
    """The endpoint behind the session check (log-in, idle lock), the role check and (for POST) the CSRF
    check. ``passive``: a request the page makes by itself (live updates): allowed while the screen is
    locked, and not counted as the person's activity; a page drawing itself again (``?swap=1``) is not counted
    either. ``when_locked``: the endpoint serves a locked screen too (the run's screen, drawn locked; the
    emergency stop; an alarm's acknowledgment with the password), told by ``request.state.locked``. Any other
    request of a locked screen leads to the lock screen, and a form sent from a run's screen back to that
    screen, drawn locked, with what happened. The view itself runs in a worker thread."""

    async def guarded(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            if request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            return PlainTextResponse("log in first", status_code=401)
        by_page = passive or page_request(request)
        request.state.locked = await run_in_threadpool(active_or_locked, request, by_page) == "locked"
        if request.state.locked and not (passive or when_locked):
            return await run_in_threadpool(_locked_out, request, user)
        if user.role not in roles:
            await run_in_threadpool(_wrong_role, request, user, roles)
            return PlainTextResponse(f"forbidden: the {user.role} role cannot open this page", status_code=403)
        form = None
        if request.method == "POST":
            form = await request.form()
            if not csrf_ok(request, form):
                return PlainTextResponse("the form expired (security token missing or wrong): reload the page "
                                         "and try again", status_code=403)
        return await run_in_threadpool(endpoint, request, user, form)

    guarded.roles = roles  # type: ignore[attr-defined]
    guarded.__name__ = endpoint.__name__
    return guarded


def _wrong_role(request: Request, user: SessionUser, roles: tuple[str, ...]) -> None:
    """A page or form refused for the person's role: audited with the request (method and path, which carry no
    patient data) and the station."""
    action = f"{request.method} {request.url.path[:200]}"
    record_wrong_role(request.app.state.web.store, user, roles, action, where=f"web, station {user.station}")


#: Said on a run's screen when a form was sent from it after it locked.
LOCKED_FORM = "The screen locked before this was sent: nothing was done. Give your password, then do it again."


def _locked_out(request: Request, user: SessionUser) -> Response:
    """A locked screen's request for anything but what a locked screen may do: the lock screen; a form sent
    from a run's screen goes back to that screen (drawn locked) with what happened, a confirmation recorded as
    refused."""
    run_id = request.path_params.get("run_id")
    if request.method == "GET":
        return RedirectResponse("/lock", status_code=303)
    if run_id is None:  # a form of a page (a test in preparation, a QA record): the lock screen, not a bare refusal
        if request.url.path == "/activity":  # the page's note of the person's use: said, never followed
            return PlainTextResponse("the screen is locked: give your password again", status_code=401)
        return RedirectResponse("/lock", status_code=303)
    if request.url.path.endswith("/confirm"):
        record_refusal(request.app.state.web.store, run_id, who=user.username, station=user.station,
                       what="confirm", why="the screen was locked (idle time); the password was not given again")
    request.session["flash"] = {"run": run_id, "error": LOCKED_FORM}
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
