"""The bench steps before the run starts: one screen per step, one primary action each."""

from __future__ import annotations

import logging
from functools import partial

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sweattest.bench.service import tell_lis_not_eligible
from sweattest.core.errors import SweatTestError, ValidationError
from sweattest.core.procedure.model import SITES
from sweattest.core.rules.findings import Severity
from sweattest.qa.workspace import patient_name
from sweattest.record.proficiency import find_sample
from sweattest.record.refusals import record_cancelled_test
from sweattest.record.runs import load_run
from sweattest.web import drafts
from sweattest.web.context import web
from sweattest.web.training import scenario_for

log = logging.getLogger(__name__)

#: Screen titles, in the order the tech meets them.
TITLES = {"identify": "Patient identity", "repeat": "Earlier tests", "eligibility": "Eligibility",
          "method": "Method and sites", "lot": "Pilocarpine lot", "checklist": "Electrode placement"}


def bench_home(request: Request, user, form) -> Response:
    ctx = web(request)
    active = []
    for run_id, session in list(ctx.bench.sessions.items()):
        if session.active:
            run, order = load_run(ctx.store, run_id)
            snap = session.view.snapshot()
            active.append({"run_id": run_id, "accession": order["accession"], "state": run.state,
                           "operator": order.get("operator", ""), "patient": patient_name(order),
                           "mrn": (order.get("patient") or {}).get("mrn", ""),
                           "step": (snap.get("screen") or "").replace("_", " "),
                           "sites": [(s.site.replace("_", " "), s.state.replace("_", " ")) for s in run.sites]})
    return ctx.render(request, user, "bench_home.html", active=active)


def new_test(request: Request, user, form) -> Response:
    ctx = web(request)
    if form is None:
        flash = request.session.pop("bench_flash", None) or {}
        return ctx.render(request, user, "accession.html", error=flash.get("error"),
                          accession=flash.get("accession", ""))
    accession = str(form.get("accession", ""))
    try:
        draft = drafts.open_draft(ctx.order_book, accession, user.username, ctx.config.protocol_folder,
                                  pt_sample=partial(find_sample, ctx.store))
        drafts.find_earlier(draft, ctx.store, simulated=ctx.simulate)
    except SweatTestError as exc:
        request.session["bench_flash"] = {"error": str(exc), "accession": accession}
        return RedirectResponse("/bench/new", status_code=303)
    ctx.drafts[draft.id] = draft
    return RedirectResponse(f"/bench/draft/{draft.id}/{draft.next_step}", status_code=303)


def draft_step(request: Request, user, form) -> Response:
    """One step of the preparation. Post, redirect, get: a step that does not pass keeps its error and what
    was typed for the next GET, so Back and reload never send a form again."""
    ctx = web(request)
    draft = ctx.drafts.get(request.path_params["draft_id"])
    step = request.path_params["step"]
    if draft is None or draft.owner != user.username or step not in drafts.STEPS:
        return ctx.render(request, user, "missing.html", status_code=404,
                          next_step="This test is not in preparation any more (it was started, cancelled, or the "
                          "station restarted). Start again with the accession.")
    if draft.run_id is not None:  # Back from the run's screen: the run, never a second one
        return RedirectResponse(f"/runs/{draft.run_id}", status_code=303)
    here = f"/bench/draft/{draft.id}/{step}"
    if form is not None:
        try:
            draft.findings = _submit(ctx, draft, step, form, user)
        except drafts.CheckFailed as exc:
            return _cancel(request, ctx, draft, step, str(exc), user)
        except SweatTestError as exc:
            draft.flash = {"step": step, "error": str(exc), "form": {k: form.getlist(k) for k in form.keys()}}
            return RedirectResponse(here, status_code=303)
        if step in draft.done:
            try:
                return _after(ctx, draft, step, user)
            except SweatTestError as exc:  # the run service refused to start (a PT sample run already): no run
                return _cancel(request, ctx, draft, step, str(exc), user)
        draft.flash = {"step": step, "error": None, "form": {k: form.getlist(k) for k in form.keys()}}
        return RedirectResponse(here, status_code=303)
    if step != draft.next_step and step not in draft.done:
        return RedirectResponse(f"/bench/draft/{draft.id}/{draft.next_step}", status_code=303)
    flash = draft.flash if draft.flash and draft.flash["step"] == step else {"error": None, "form": {}}
    draft.flash = None
    sent = flash["form"]
    findings = draft.findings if step == "eligibility" else []
    return ctx.render(request, user, f"step_{step}.html", draft=draft, step=step, title=TITLES[step],
                      steps=TITLES, error=flash["error"], findings=findings,
                      blocked=any(f.severity is Severity.BLOCK for f in findings),
                      conditions=drafts.CONDITIONS, checklist=drafts.CHECKLIST, reasons_repeat=drafts.REASONS,
                      methods=drafts.methods(ctx.config.protocol_folder), sites=SITES, scenarios=ctx.scenarios,
                      form={k: v[0] for k, v in sent.items() if v},
                      ticked=sent.get("item", []),
                      picked=sent.get("condition", draft.ordered["conditions"]),
                      reasons={o["code"]: o["reason"] for o in draft.order.get("overrides", [])})


def _cancel(request: Request, ctx, draft: drafts.Draft, step: str, reason: str, user) -> Response:
    """A failed identity or eligibility check: the draft is cancelled and recorded, and the tech starts again
    from the accession."""
    ctx.drafts.pop(draft.id, None)
    blocks = [f.message for f in draft.findings if f.severity is Severity.BLOCK] if step == "eligibility" else []
    told = None
    if blocks:  # an LIS order that cannot be tested: the LIS is told (the order is closed)
        told = tell_lis_not_eligible(ctx.store, draft.order.get("accession", ""),
                                     (draft.order.get("patient") or {}).get("mrn", ""),
                                     "; ".join(blocks), user.username)
    record_cancelled_test(ctx.store, who=user.username, at=ctx.clock.utcnow(),
                          why=f"{TITLES[step].lower()} check failed: {reason}", accession=draft.order.get("accession"),
                          step=step)
    log.warning("test %s cancelled at %s by %s: %s", draft.order.get("accession"), step, user.username, reason)
    request.session["bench_flash"] = {"error": f"{reason}. The test was cancelled and recorded; " + (
        f"{told}." if told else "to test this patient, start again from the accession label.")}
    return RedirectResponse("/bench/new", status_code=303)


def _submit(ctx, draft: drafts.Draft, step: str, form, user) -> list:
    if step == "identify":
        drafts.identify(draft, str(form.get("mrn", "")), str(form.get("dob", "")))
        if not draft.earlier:
            draft.done.add("repeat")
    elif step == "repeat":
        drafts.declare_repeat(draft, form.get("repeat_of"), str(form.get("reason", "")),
                              str(form.get("note", "")))
    elif step == "eligibility":
        reasons = {key.removeprefix("reason_"): str(form.get(key, "")) for key in form.keys()
                   if key.startswith("reason_")}
        return drafts.eligibility(draft, form.getlist("condition"), reasons, ctx.clock.utcnow(),
                                  ctx.config.eligibility, ctx.config.zone,
                                  (str(form.get("cftr_modulator", "")), str(form.get("modulator_start", ""))))
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
    try:
        run_id = ctx.bench.start(order, scenario, user.username, user.station, repeat=draft.repeat)
    except ValidationError as exc:  # e.g. the accession was run at another station meanwhile: ask again
        drafts.find_earlier(draft, ctx.store, simulated=ctx.simulate)
        if draft.repeat_required and draft.repeat is None:
            draft.done.discard("repeat")
        draft.done.discard("checklist")
        draft.flash = {"step": draft.next_step, "error": str(exc), "form": {}}
        return RedirectResponse(f"/bench/draft/{draft.id}/{draft.next_step}", status_code=303)
    draft.run_id = run_id
    log.info("run %s started by %s", run_id, user.username)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
