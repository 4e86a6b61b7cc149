"""The patient's sweat tests for QA and clinicians: every test of the patient with its results, the repeats
linked to the tests they repeat, and runs of the same MRN with another date of birth named as a possible
identity conflict. The same query as `sweattest patient history`.

Patient data never goes into a URL (``sweattest.web.security``): the page is reached from a run
(``/runs/<run>/history``: that run's patient, as its current result version names them) or by looking the
patient up with the MRN and date of birth sent in a form (``/history``, POST)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sweattest.core.errors import SweatTestError
from sweattest.qa.patients import history, site_text
from sweattest.record.signoff import current_result
from sweattest.web.context import web


def run_patient(request: Request, user, form) -> Response:
    ctx = web(request)
    run_id = request.path_params["run_id"]
    try:
        _, order, _ = current_result(ctx.store, run_id)
    except SweatTestError as exc:
        return ctx.render(request, user, "missing.html", status_code=404, error=str(exc))
    patient = order["patient"]
    return _page(request, user, str(patient["mrn"]), str(patient["dob"]))


def lookup(request: Request, user, form) -> Response:
    if form is None:
        return web(request).render(request, user, "history.html", mrn="", dob="", found=None, site_text=site_text)
    return _page(request, user, str(form.get("mrn", "")).strip(), str(form.get("dob", "")).strip())


def _page(request: Request, user, mrn: str, dob: str) -> Response:
    ctx = web(request)
    try:
        found = history(ctx.store, mrn, dob)
    except SweatTestError as exc:
        return ctx.render(request, user, "history.html", status_code=422, error=str(exc), mrn=mrn, dob=dob,
                          found=None, site_text=site_text)
    return ctx.render(request, user, "history.html", mrn=mrn, dob=found.dob, found=found, site_text=site_text)
