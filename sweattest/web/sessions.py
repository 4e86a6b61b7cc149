"""The web shell's side of the server-side sessions (``sweattest.record.web_sessions``): the cookie, the
person and station of each request, the idle lock.

The cookie holds only a random token; the store keeps the session, so log-out, disabling the user and the
idle time end or lock it wherever the cookie was copied to."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from sweattest.record import web_sessions
from sweattest.record.users import get_user


@dataclass(frozen=True)
class SessionUser:
    username: str
    full_name: str
    role: str
    #: where the person works: the web client's address (recorded with what they do)
    station: str = ""


COOKIE = "sweattest_session"
#: before log-in: the log-in form's CSRF token
LOGIN_COOKIE = "sweattest_login"


def station_of(request: Request) -> str:
    """The web client a person works at, as recorded with what they do."""
    host = request.client.host if request.client else "unknown"
    return f"web {host}"


#: What a page leaves for the next page the same person loads (an error and what was typed: post, redirect,
#: get), by session, in the server's memory only: never in a cookie, since it may hold patient data. Views
#: use it as ``request.session``. The oldest are dropped beyond ``_NOTES_KEPT`` sessions.
_NOTES: dict[str, dict] = {}
_NOTES_KEPT = 500


def _notes_of(key: str) -> dict:
    notes = _NOTES.pop(key, None)
    if notes is None:
        notes = {}
        while len(_NOTES) >= _NOTES_KEPT:
            _NOTES.pop(next(iter(_NOTES)))
    _NOTES[key] = notes  # the most recently used last
    return notes


class ServerSessions(BaseHTTPMiddleware):
    """Finds the request's open session and its person (``request.state``), and sets or clears the cookie a
    view asked for (``request.state.cookie``: a token, or "" to clear it)."""

    def __init__(self, app, *, secure: bool = False):
        super().__init__(app)
        self.secure = secure

    async def dispatch(self, request: Request, call_next) -> Response:
        if request.url.path.startswith("/static/"):  # style sheets and scripts: no session looked up
            return await call_next(request)
        request.state.web_session, request.state.user = await run_in_threadpool(_resolve, request)
        request.state.cookie = None
        login = request.cookies.get(LOGIN_COOKIE)
        request.state.login_csrf = login or secrets.token_urlsafe(32)
        session = request.state.web_session
        request.scope["session"] = _notes_of(session.token_sha256 if session is not None
                                             else "login:" + request.state.login_csrf)
        response = await call_next(request)
        flags = {"httponly": True, "samesite": "strict", "secure": self.secure, "path": "/"}
        if request.state.cookie is not None:
            if request.state.cookie:
                response.set_cookie(COOKIE, request.state.cookie, **flags)
            else:
                response.delete_cookie(COOKIE, **flags)
        if login is None and request.state.web_session is None:
            response.set_cookie(LOGIN_COOKIE, request.state.login_csrf, **flags)
        return response


def _resolve(request: Request):
    store = request.app.state.web.store
    session = web_sessions.find_session(store, request.cookies.get(COOKIE))
    if session is None:
        return None, None
    user = get_user(store, session.username)
    if user is None or not user.active:  # disabled since: its sessions were ended; be sure anyway
        web_sessions.end_session(store, session, "user disabled")
        return None, None
    return session, SessionUser(user.username, user.full_name, user.role, session.station)


def log_in(request: Request, username: str) -> None:
    """A new server-side session for the person who just gave their password at this station."""
    store = request.app.state.web.store
    request.state.cookie = web_sessions.open_session(store, username, station_of(request))


def note_for_new_session(request: Request, key: str, value) -> None:
    """Leave ``value`` for the first page the session just opened by ``log_in`` loads (e.g. log-in warnings)."""
    _notes_of(web_sessions.token_hash(request.state.cookie))[key] = value


def log_out(request: Request, reason: str = "log-out") -> None:
    session = request.state.web_session
    if session is not None:
        web_sessions.end_session(request.app.state.web.store, session, reason)
    request.state.cookie = ""


def page_request(request: Request) -> bool:
    """A request the page makes by itself, not the person: a screen drawing itself again in place (``?swap=1``)."""
    return request.method == "GET" and request.query_params.get("swap") == "1"


def active_or_locked(request: Request, passive: bool) -> str:
    """"locked" if the session is locked, or idle for longer than the lab allows (it is locked now);
    else "active" (and, unless ``passive``, the person's activity is noted)."""
    ctx = request.app.state.web
    session = request.state.web_session
    if locked_now(ctx, session):
        return "locked"
    if not passive:
        web_sessions.touch(ctx.store, session, ctx.clock.utcnow())
    return "active"


def locked_now(ctx, session: web_sessions.WebSession) -> bool:
    """Whether ``session`` is locked, locking it first if it has been idle for the lab's ``idle_lock``."""
    if session.locked:
        return True
    idle = ctx.config.access.idle_lock
    if ctx.clock.utcnow() - session.last_seen >= idle:
        web_sessions.set_locked(ctx.store, session, True, f"idle for {int(idle.total_seconds() // 60)} min")
        return True
    return False


class LockWatch:
    """Tells a live screen when its session locks or unlocks, by the server's clock: the screen's own requests
    (live updates, drawing itself again) never count as the person's use, so an open run screen locks after
    the idle time like any page. Cheap while the session is open: the store is read only once the idle time
    may have passed (another screen of the session may have been used meanwhile), and at each look while it
    is locked (it may be unlocked at another screen)."""

    def __init__(self, ctx, token: str | None, session: web_sessions.WebSession, locked: bool):
        self.ctx, self.token, self.session, self.locked = ctx, token, session, locked

    def due(self) -> bool:
        """Whether ``look`` may find a change (no store read)."""
        return self.locked or self.ctx.clock.utcnow() - self.session.last_seen >= self.ctx.config.access.idle_lock

    def look(self) -> bool | None:
        """The session's lock state if it changed since the last look (locking it if idle), else None."""
        session = web_sessions.find_session(self.ctx.store, self.token)
        if session is None:
            return None  # ended: the stream's next reconnection says so
        self.session = session
        locked = locked_now(self.ctx, session)
        if locked == self.locked:
            return None
        self.locked = locked
        return locked
