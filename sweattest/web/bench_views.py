"""The bench steps before the run starts: one screen per step, one primary action each."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from sweattest.core.errors import SweatTestError
from sweattest.core.procedure.model import SITES
from sweattest.core.rules.findings import Severity
from sweattest.record.runs import load_run
from sweattest.web import drafts
from sweattest.web.context import web
from sweattest.web.training import scenario_for

log = logging.getLogger(__name__)

#: Screen titles, in the order the tech meets them.
TITLES = {"identify": "Patient identity", "eligibility": "Eligibility", "method": "Method and sites",
          "lot": "Pilocarpine lot", "checklist": "Electrode placement"}


def bench_home(request: Request, user, form) -> Response:
    ctx = web(request)
    active = []
    for run_id, session in list(ctx.bench.sessions.items()):
        if session.active:
            run, order = load_run(ctx.store, run_id)
            active.append({"run_id": run_id, "accession": order["accession"], "state": run.state})
    return ctx.render(request, user, "bench_home.html", active=active)


def new_test(request: Request, user, form) -> Response:
    ctx = web(request)
    if form is None:
        return ctx.render(request, user, "accession.html", error=None, accession="")
    accession = str(form.get("accession", ""))
    try:
        draft = drafts.open_draft(ctx.order_book, accession, user.username, ctx.config.protocol_folder)
    except SweatTestError as exc:
        return ctx.render(request, user, "accession.html", status_code=422, error=str(exc), accession=accession)
    ctx.drafts[draft.id] = draft
    return RedirectResponse(f"/bench/draft/{draft.id}/identify", status_code=303)


def draft_step(request: Request, user, form) -> Response:
    ctx = web(request)
    draft = ctx.drafts.get(request.path_params["draft_id"])
    step = request.path_params["step"]
    if draft is None or draft.owner != user.username or step not in drafts.STEPS:
        return PlainTextResponse("no such test in preparation: start again with the accession", status_code=404)
    if step != draft.next_step and step not in draft.done:
        return RedirectResponse(f"/bench/draft/{draft.id}/{draft.next_step}", status_code=303)
    error = None
    findings = draft.findings if step == "eligibility" else []
    if form is not None:
        try:
            findings = _submit(ctx, draft, step, form, user)
            if step in draft.done:
                return _after(ctx, draft, step, user)
        except SweatTestError as exc:
            error = str(exc)
    return ctx.render(request, user, f"step_{step}.html", status_code=200 if error is None else 422,
                      draft=draft, step=step, title=TITLES[step], steps=TITLES, error=error,
                      findings=findings, blocked=any(f.severity is Severity.BLOCK for f in findings),
                      conditions=drafts.CONDITIONS, checklist=drafts.CHECKLIST,
                      methods=drafts.methods(ctx.config.protocol_folder), sites=SITES, scenarios=ctx.scenarios,
                      form=form or {},
                      picked=form.getlist("condition") if form is not None else draft.ordered["conditions"],
                      reasons={o["code"]: o["reason"] for o in draft.order.get("overrides", [])})


def _submit(ctx, draft: drafts.Draft, step: str, form, user) -> list:
    if step == "identify":
        drafts.identify(draft, str(form.get("mrn", "")), str(form.get("dob", "")))
    elif step == "eligibility":
        reasons = {key.removeprefix("reason_"): str(form.get(key, "")) for key in form.keys()
                   if key.startswith("reason_")}
        return drafts.eligibility(draft, form.getlist("condition"), reasons, ctx.clock.utcnow(),
                                  ctx.config.eligibility)
    elif step == "method":
        drafts.choose_method(draft, str(form.get("method", "")), form.getlist("site"),
                             form.get("scenario") if ctx.simulate else None, ctx.scenarios)
    elif step == "lot":
        drafts.scan_lot(draft, str(form.get("lot", "")), str(form.get("expires", "")), ctx.clock.utcnow().date())
    elif step == "checklist":
        drafts.checklist(draft, form.getlist("item"))
    return []


def _after(ctx, draft: drafts.Draft, step: str, user) -> Response:
    if step != "checklist":
        return RedirectResponse(f"/bench/draft/{draft.id}/{draft.next_step}", status_code=303)
    order = draft.parsed()
    scenario = scenario_for(draft.scenario, order.sites) if ctx.simulate else None
    run_id = ctx.bench.start(order, scenario, user.username, user.station)
    ctx.drafts.pop(draft.id, None)
    log.info("run %s started by %s", run_id, user.username)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
