"""Limits that keep one web client from starving the others (``[serve]``, ``sweattest.core.access.WebLimits``):
the largest request body, and the live run screens (server-sent event streams) one log-in session holds open.
Each is refused at once with a status and a sentence that says what to do; nothing is saved from a refused
request."""

from __future__ import annotations

import threading
import weakref

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit_kb: int) -> PlainTextResponse:
    return PlainTextResponse(f"the request is larger than this server accepts ({limit_kb} kB, [serve] "
                             "max_request_kb); nothing was saved. Send less at once, or ask the administrator",
                             status_code=413)


class RequestSizeLimit:
    """Refuses a request whose body is over the lab's limit (413) before any view reads it: by its
    Content-Length, else while it is received (the body is kept until complete, then handed on)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit_kb = scope["app"].state.web.config.web_limits.max_request_kb
        limit = limit_kb * 1024
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await too_large(limit_kb)(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await too_large(limit_kb)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _full(held: int, limit: int) -> str:
    return (f"this log-in already has {held} live run screen{'s' if held != 1 else ''} open, the most this "
            "server allows ([serve] "
            f"live_streams_per_session = {limit}); close a tab or window showing a run, then reload this one")


class LiveStreams:
    """The live run screens open per log-in session. A stream counts from the moment it is granted until its
    generator is closed or dropped (weak references: a response never started does not hold its place)."""

    def __init__(self) -> None:
        self._open: dict[str, weakref.WeakSet] = {}
        self._lock = threading.Lock()

    def grant(self, session: str, stream, limit: int) -> PlainTextResponse | None:
        """Hold a place for ``stream`` (an async generator) in ``session``, or the refusal (429)."""
        with self._lock:
            held = self._open.setdefault(session, weakref.WeakSet())
            if len(held) >= limit:
                return PlainTextResponse(_full(len(held), limit), status_code=429)
            held.add(stream)
            return None

    def refusal(self, session: str, limit: int) -> str | None:
        """What a screen refused for ``session`` is told (the page asks after its stream was refused)."""
        held = self.count(session)
        return _full(held, limit) if held >= limit else None

    def release(self, session: str, stream) -> None:
        with self._lock:
            self._open.get(session, weakref.WeakSet()).discard(stream)

    def count(self, session: str) -> int:
        with self._lock:
            return len(self._open.get(session, ()))
