"""Session login, CSRF tokens, role checks and security headers for every page.

Each endpoint is declared with the roles allowed to call it (``guard``); the roles travel with the route so
a test can call every route as every role. POSTs need the session's CSRF token; patient data never goes
into URLs (runs are addressed by run id)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: Who may do what. The bench is for techs and reviewers (senior techs); QA for reviewers and admins.
VIEW = ("tech", "reviewer", "admin")
BENCH = ("tech", "reviewer")
QA = ("reviewer", "admin")
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


@dataclass(frozen=True)
class SessionUser:
    username: str
    full_name: str
    role: str


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


def login_session(request: Request, user: Any) -> None:
    """A fresh session for the user who just logged in (a new CSRF token too)."""
    request.session.clear()
    request.session.update({"user": user.username, "name": user.full_name, "role": user.role,
                            "csrf": secrets.token_urlsafe(32)})


def current_user(request: Request) -> SessionUser | None:
    s = request.session
    if not s.get("user"):
        return None
    return SessionUser(s["user"], s.get("name", s["user"]), s.get("role", ""))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: FormData) -> bool:
    expected = request.session.get("csrf")
    given = form.get("csrf")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


Endpoint = Callable[[Request, SessionUser, FormData | None], Response]


def guard(roles: tuple[str, ...], endpoint: Endpoint) -> Callable:
    """The endpoint behind login, role check and (for POST) the CSRF check. The view itself runs in a
    worker thread (it talks to the store)."""

    async def guarded(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            if request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            return PlainTextResponse("log in first", status_code=401)
        if user.role not in roles:
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
