"""The patient's page (``/patients/<mrn>?dob=YYYY-MM-DD``): every sweat test of the patient with its results,
the repeats linked to the tests they repeat, and runs of the same MRN with another date of birth named as a
possible identity conflict. Read-only; the same query as `sweattest patient history`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sweattest.core.errors import SweatTestError
from sweattest.qa.patients import history, site_text
from sweattest.web.context import web


def patient_page(request: Request, user, form) -> Response:
    ctx = web(request)
    mrn = request.path_params["mrn"]
    dob = request.query_params.get("dob", "")
    try:
        found = history(ctx.store, mrn, dob)
    except SweatTestError as exc:
        return ctx.render(request, user, "patient.html", status_code=422, error=str(exc), mrn=mrn, dob=dob,
                          found=None, site_text=site_text)
    return ctx.render(request, user, "patient.html", mrn=mrn, dob=found.dob, found=found, site_text=site_text)
