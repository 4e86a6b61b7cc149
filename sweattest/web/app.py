"""The bench and QA web application (Starlette): routes, roles, templates, and the shared services."""

from __future__ import annotations

import contextlib
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sweattest.bench.station.manager import BenchManager
from sweattest.core.clock import Clock
from sweattest.core.config import LabConfig
from sweattest.core.resources import data_dir
from sweattest.web import (
    auth_views,
    bench_views,
    live_stream,
    patient_views,
    qa_people_views,
    qa_records,
    qa_views,
    run_views,
)
from sweattest.web.accounts import Accounts
from sweattest.web.context import WebContext
from sweattest.web.limits import RequestSizeLimit
from sweattest.web.security import ADMIN, BENCH, QA, REVIEW, VIEW, SecurityHeaders, guard
from sweattest.web.sessions import ServerSessions
from sweattest.web.training import TRAINING_ORDERS, TRAINING_SCENARIOS

#: (path, methods, roles, view). Every route but log-in, the lock screen and static files is guarded.
ROUTES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], Any], ...] = (
    ("/", ("GET",), VIEW, auth_views.home),
    ("/logout", ("POST",), VIEW, auth_views.logout),
    ("/activity", ("POST",), VIEW, auth_views.activity),
    ("/bench", ("GET",), BENCH, bench_views.bench_home),
    ("/bench/new", ("GET", "POST"), BENCH, bench_views.new_test),
    ("/bench/draft/{draft_id}/{step}", ("GET", "POST"), BENCH, bench_views.draft_step),
    ("/runs/{run_id}", ("GET",), VIEW, run_views.run_page),
    ("/runs/{run_id}/live", ("GET",), VIEW, run_views.live),
    ("/runs/{run_id}/events", ("GET",), VIEW, live_stream.events),
    ("/runs/{run_id}/confirm", ("POST",), BENCH, run_views.confirm),
    ("/runs/{run_id}/stop", ("POST",), BENCH, run_views.emergency_stop),
    ("/runs/{run_id}/alarms/{seq}/acknowledge", ("POST",), BENCH, run_views.acknowledge_alarm),
    ("/runs/{run_id}/sign", ("POST",), BENCH, run_views.sign),
    ("/runs/{run_id}/report", ("GET",), VIEW, run_views.report_html),
    ("/runs/{run_id}/report.pdf", ("GET",), VIEW, run_views.report_pdf),
    ("/qa/runs", ("GET", "POST"), VIEW, qa_views.runs_list),
    ("/qa/runs/{run_id}", ("GET",), VIEW, qa_views.run_detail),
    ("/qa/runs/{run_id}/amend", ("POST",), REVIEW, qa_views.amend),
    ("/runs/{run_id}/history", ("GET",), VIEW, patient_views.run_patient),
    ("/history", ("GET", "POST"), VIEW, patient_views.lookup),
    ("/qa/qc", ("GET",), QA, qa_views.qc_page),
    ("/qa/qc.png", ("GET",), QA, qa_views.qc_png),
    ("/qa/qns", ("GET",), QA, qa_views.qns_page),
    ("/qa/turnaround", ("GET",), QA, qa_views.turnaround_page),
    ("/qa/records", ("GET",), QA, qa_views.records_page),
    ("/qa/pack", ("GET",), QA, qa_views.pack_page),
    ("/qa/pack.pdf", ("GET",), QA, qa_views.pack_pdf),
    ("/qa/pack.zip", ("GET",), QA, qa_views.pack_zip),
    ("/qa/validations", ("GET",), QA, qa_views.validations_page),
    ("/qa/lis", ("GET",), QA, qa_views.lis_page),
    ("/qa/pt", ("GET", "POST"), QA, qa_views.pt_page),
    ("/qa/qc-lots", ("GET",), QA, qa_records.qc_lots_page),
    ("/qa/qc-lots", ("POST",), QA, qa_records.qc_lots_post),
    ("/qa/calibrations", ("GET",), QA, qa_records.calibrations_page),
    ("/qa/calibrations", ("POST",), QA, qa_records.calibrations_post),
    ("/qa/equipment", ("GET",), QA, qa_records.equipment_page),
    ("/qa/equipment", ("POST",), QA, qa_records.equipment_post),
    ("/qa/skin-reactions", ("GET",), QA, qa_people_views.skin_page),
    ("/qa/competency", ("GET",), QA, qa_people_views.competency_page),
    ("/admin/users", ("GET",), ADMIN, qa_views.users_page),
)

#: Requests a page makes by itself: allowed on a locked screen (a live run stays visible), and not counted as
#: the person's activity (they would keep the screen from ever locking).
PASSIVE = frozenset({"/runs/{run_id}/live", "/runs/{run_id}/events"})
#: What a locked screen may still do without the password: see the run's screen (drawn locked: its state,
#: alarms and the emergency stop) and stop a stimulation; an alarm is acknowledged with the password.
WHEN_LOCKED = frozenset({"/runs/{run_id}", "/runs/{run_id}/stop", "/runs/{run_id}/alarms/{seq}/acknowledge"})


def create_app(store, clock: Clock, accounts: Accounts, *, simulate: bool = False, pace: float | None = 30.0,
               secure_cookies: bool = False, config: LabConfig | None = None, order_book=None,
               live_heartbeat_s: float = 2.0, live_stream_s: float = 60.0, bench=None) -> Starlette:
    """``secure_cookies``: the app is served over HTTPS (``sweattest serve`` with the lab's certificate); the
    session cookie is then sent only over HTTPS. ``live_heartbeat_s``: seconds between the heartbeats of a run
    screen's updates; ``live_stream_s``: the longest life of one update stream (the screen reconnects and its
    log-in is checked again). ``bench``: the station's runs (a ``StationLink`` to the station's process); by
    default a ``BenchManager`` in this process."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("templates") / "web")),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    context = WebContext(store=store, clock=clock, accounts=accounts, simulate=simulate, env=env,
                         config=config or LabConfig(),
                         bench=bench if bench is not None else BenchManager(store, clock, simulate=simulate,
                                                                            pace=pace, config=config),
                         order_book=order_book if order_book is not None else (TRAINING_ORDERS if simulate else {}),
                         scenarios=TRAINING_SCENARIOS if simulate else {},
                         live_heartbeat_s=live_heartbeat_s, live_stream_s=live_stream_s)
    routes = [Route(path, guard(roles, view, passive=path in PASSIVE, when_locked=path in WHEN_LOCKED),
                    methods=list(methods)) for path, methods, roles, view in ROUTES]
    routes += [Route("/login", auth_views.login, methods=["GET", "POST"]),
               Route("/lock", auth_views.lock, methods=["GET", "POST"]),
               Mount("/static", StaticFiles(directory=str(data_dir("templates") / "web" / "static")),
                     name="static")]
    app = Starlette(routes=routes, middleware=[
        Middleware(SecurityHeaders), Middleware(RequestSizeLimit), Middleware(ServerSessions, secure=secure_cookies)],
        lifespan=_lifespan)
    app.state.web = context
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):
    yield
    app.state.web.bench.close()
    app.state.web.pdf.close()


__all__ = ["ROUTES", "WebContext", "create_app"]
