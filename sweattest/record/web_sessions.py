"""Server-side web sessions: one row per log-in, found by the SHA-256 of the random token in the browser's
cookie. A session ends at log-out, when its user is disabled, or when it is ended by its idle time; an idle
session first locks (the password is asked again) and stays attached to its person and station."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sweattest.record.store import schema
from sweattest.record.store.chain import append_audit

#: last_seen is written at most this often (every request would be a write otherwise)
TOUCH_EVERY = timedelta(seconds=5)


@dataclass(frozen=True)
class WebSession:
    token_sha256: str
    username: str
    station: str
    csrf: str
    last_seen: datetime
    locked: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(store, username: str, station: str) -> str:
    """A new session for ``username`` at ``station``; returns the token for the cookie (kept only hashed)."""
    token = secrets.token_urlsafe(32)
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(schema.web_sessions.insert().values(
            token_sha256=token_hash(token), username=username, station=station, csrf=secrets.token_urlsafe(32),
            created_at=now, last_seen=now, locked=False))
        append_audit(conn, who=username, what="log_in", at=now, new={"station": station})
    return token


def find_session(store, token: str | None) -> WebSession | None:
    """The open session of this cookie token, or None (unknown, ended)."""
    if not token:
        return None
    t = schema.web_sessions
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.token_sha256 == token_hash(token), t.c.ended_at.is_(None))).first()
    if row is None:
        return None
    return WebSession(row.token_sha256, row.username, row.station, row.csrf, row.last_seen, bool(row.locked))


def touch(store, session: WebSession, now: datetime) -> None:
    """The person used the session now (written at most every ``TOUCH_EVERY``)."""
    if now - session.last_seen < TOUCH_EVERY:
        return
    t = schema.web_sessions
    with store.writing() as conn:
        conn.execute(t.update().where(t.c.token_sha256 == session.token_sha256).values(last_seen=now))


def set_locked(store, session: WebSession, locked: bool, why: str) -> None:
    """Lock the session (idle) or unlock it (password given again); audited with the station."""
    t = schema.web_sessions
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(t.update().where(t.c.token_sha256 == session.token_sha256).values(locked=locked, last_seen=now))
        append_audit(conn, who=session.username, what="lock_session" if locked else "unlock_session", at=now,
                     why=why, new={"station": session.station})


def end_session(store, session: WebSession, reason: str) -> None:
    t = schema.web_sessions
    now = store.clock.utcnow()
    with store.writing() as conn:
        conn.execute(t.update().where(t.c.token_sha256 == session.token_sha256, t.c.ended_at.is_(None))
                     .values(ended_at=now, end_reason=reason))
        append_audit(conn, who=session.username, what="log_out", at=now, why=reason,
                     new={"station": session.station})


def end_sessions(conn: sa.Connection, username: str, now: datetime, reason: str) -> int:
    """End every open session of ``username`` inside the caller's transaction; returns how many."""
    t = schema.web_sessions
    return conn.execute(t.update().where(t.c.username == username, t.c.ended_at.is_(None))
                        .values(ended_at=now, end_reason=reason)).rowcount
