"""Log-in, log-out and the home page."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.web.context import web
from sweattest.web.security import csrf_ok, csrf_token, current_user, login_session

log = logging.getLogger(__name__)


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
                                       str(form.get("password", "")))
    except SweatTestError:
        log.info("failed log-in for %r", username)
        return ctx.render(request, None, "login.html", status_code=401, username=username,
                          error="Wrong user name or password, or the account is disabled.")
    login_session(request, user)
    log.info("%s logged in", user.username)
    return RedirectResponse("/", status_code=303)


def home(request: Request, user, form) -> Response:
    return RedirectResponse("/bench" if user.role in ("tech", "reviewer") else "/qa/runs", status_code=303)


def logout(request: Request, user, form) -> Response:
    request.session.clear()
    csrf_token(request)
    return RedirectResponse("/login", status_code=303)
