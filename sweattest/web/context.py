"""What every view needs: the store, the clock, the services, the templates, the open drafts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.qa.audit_trail import lab_time
from sweattest.qa.audit_trail import person as person_of
from sweattest.qa.workspace import full_names
from sweattest.web.accounts import Accounts
from sweattest.web.drafts import Draft
from sweattest.web.limits import LiveStreams
from sweattest.web.pdf_process import PdfRenderer
from sweattest.web.security import csrf_token


@dataclass
class WebContext:
    store: Any
    clock: Clock
    accounts: Accounts
    #: the station's runs: ``StationLink`` to the station's process (``sweattest serve``), or the in-process
    #: ``BenchManager`` (tests on a virtual clock)
    bench: Any
    simulate: bool
    env: jinja2.Environment
    config: LabConfig = field(default_factory=LabConfig)
    order_book: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: dict[str, tuple[str, dict]] = field(default_factory=dict)
    drafts: dict[str, Draft] = field(default_factory=dict)
    pdf: PdfRenderer = field(default_factory=PdfRenderer)
    #: the run screens' live updates: seconds between heartbeats, and the longest life of one stream
    live_heartbeat_s: float = 2.0
    live_stream_s: float = 60.0
    #: the live run screens open per log-in session (``config.web_limits``)
    streams: LiveStreams = field(default_factory=LiveStreams)

    def render(self, request: Request, user, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("error", None)
        ctx.setdefault("next_step", None)
        ctx.setdefault("notices", request.scope.get("session", {}).pop("login_warnings", []))
        ctx.setdefault("person", self._people())
        ctx.setdefault("when", lambda at: lab_time(at, self.config.zone))
        ctx.setdefault("idle_s", int(self.config.access.idle_lock.total_seconds()))
        html = self.env.get_template(name).render(user=user, csrf=csrf_token(request), simulate=self.simulate,
                                                  **ctx)
        return HTMLResponse(html, status_code=status_code)

    def _people(self):
        """``person(username)``: the person's full name and user name (the users are read once per page, when
        the page names someone)."""
        names: dict[str, str] = {}

        def person(username: str | None) -> str:
            if username and not names:
                names.update(full_names(self.store))
            return person_of(username or "", names)
        return person


def web(request: Request) -> WebContext:
    return request.app.state.web
