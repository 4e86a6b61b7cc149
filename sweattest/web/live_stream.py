"""The run's screens kept up to date by server-sent events: the snapshot of the run's read model first, then
each update as it happens, and a heartbeat so a screen notices a lost connection within seconds.

A stream lasts at most ``stream_s``; the browser's EventSource then reconnects by itself (with the last
update's id, so nothing is missed), and the reconnection checks the log-in again: a screen whose session
ended learns it within one stream's life. A log-in session holds at most ``[serve] live_streams_per_session``
streams at once (``sweattest.web.limits``); one more is refused (429).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sweattest.core.errors import SweatTestError
from sweattest.record.runs import load_run
from sweattest.web.context import web
from sweattest.web.screens import live_data
from sweattest.web.sessions import COOKIE, LockWatch

#: Screens of a run that has ended: nothing more is sent.
FINAL = ("result", "reported", "aborted")

#: Tells the browser how long to wait before reconnecting after the stream ends or breaks (milliseconds).
RETRY_MS = 1000


def frame(data: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {data}\n\n".encode()


def events(request: Request, user, form) -> Response:
    """``GET /runs/{run_id}/events``: the run's updates as ``text/event-stream``."""
    ctx = web(request)
    run_id = request.path_params["run_id"]
    session = ctx.bench.session(run_id)
    try:
        run, _ = load_run(ctx.store, run_id) if session is None else (None, None)
    except SweatTestError as exc:
        return Response(json.dumps({"error": str(exc)}), status_code=404, media_type="application/json")
    view = session.view if session is not None else None
    stored = live_data(run, None) if run is not None else None
    last = request.headers.get("last-event-id", "")
    watch = LockWatch(ctx, request.cookies.get(COOKIE), request.state.web_session, request.state.locked)
    stream = _stream(ctx, run_id, view, stored, last, watch)
    session = request.state.web_session.token_sha256
    refused = ctx.streams.grant(session, stream, ctx.config.web_limits.live_streams_per_session)
    if refused is not None:
        return refused  # the browser's EventSource does not retry after a refusal
    return StreamingResponse(_held(ctx, session, stream), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


async def _held(ctx, session: str, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream``, holding its place among the session's open streams until it ends or is closed."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        ctx.streams.release(session, stream)
        await stream.aclose()


def _lock_frame(locked: bool) -> bytes:
    return frame('{"type":"lock","locked":%s}' % ("true" if locked else "false"))


async def _lock_change(watch: LockWatch | None) -> bytes | None:
    """A frame telling the screen its session locked (idle) or was unlocked, if it did since the last look."""
    if watch is None or not watch.due():
        return None
    locked = await run_in_threadpool(watch.look)
    return None if locked is None else _lock_frame(locked)


async def _stream(ctx, run_id: str, view, stored, last_event_id: str,
                  watch: LockWatch | None = None) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:  # called from the runner's threads
        loop.call_soon_threadsafe(changed.set)

    yield f"retry: {RETRY_MS}\n\n".encode()
    if watch is not None and watch.locked:  # a screen drawn before its session locked
        yield _lock_frame(True)
    started = loop.time()
    if view is None:  # a stored run (finished, or performed elsewhere): its screen, then heartbeats
        yield frame(json.dumps(stored, separators=(",", ":"), default=str))
        if stored["screen"] in FINAL:
            return  # nothing more will happen to it; its screen does not reconnect
        while loop.time() - started < ctx.live_stream_s:
            await asyncio.sleep(ctx.live_heartbeat_s)  # wall time between heartbeats, not procedure time
            if ctx.bench.session(run_id) is not None:
                return  # the run came back under control here (start-up recovery): reconnect to its updates
            yield await _lock_change(watch) or frame('{"type":"beat"}')
        return
    view.subscribe(wake)
    try:
        epoch, _, seq_text = last_event_id.partition("-")
        seq = int(seq_text) if epoch == view.epoch and seq_text.isdigit() else -1
        backlog = view.since(seq) if seq >= 0 else None
        if backlog is None:
            snap = view.snapshot()
            seq = snap["seq"]
            yield frame(json.dumps(snap, separators=(",", ":"), default=str), f"{view.epoch}-{seq}")
        else:
            for seq, text in backlog:
                yield frame(text, f"{view.epoch}-{seq}")
        while True:
            left = ctx.live_stream_s - (loop.time() - started)
            if left <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=min(ctx.live_heartbeat_s, left))
            except TimeoutError:
                yield await _lock_change(watch) or frame('{"type":"beat"}')
                continue
            changed.clear()
            updates = view.since(seq)
            if updates is None:  # fell behind what is kept: start again from the snapshot
                snap = view.snapshot()
                seq = snap["seq"]
                yield frame(json.dumps(snap, separators=(",", ":"), default=str), f"{view.epoch}-{seq}")
                continue
            for seq, text in updates:
                yield frame(text, f"{view.epoch}-{seq}")
            lock = await _lock_change(watch)
            if lock is not None:
                yield lock
    finally:
        view.unsubscribe(wake)


__all__ = ["events", "frame"]
