"""A proficiency-testing sample at the bench: run blinded through the normal flow, under its sample id as the
accession, with no patient identity (the order names the provider's sample, never a person), once.

The run's purpose is ``proficiency``: it counts in no patient QA figure, its report and LIMS files say
PROFICIENCY TEST, and its result is never sent to the LIS (``sweattest.outputs.lims.delivery``)."""

from __future__ import annotations

from typing import Any

from sweattest.core.errors import ValidationError
from sweattest.core.purpose import PROFICIENCY
from sweattest.record.proficiency import PTSample, find_sample, pt_runs

#: What a PT run's order carries in place of a patient: the sample, and a date of birth no person has.
BLINDED_FAMILY = "PROFICIENCY TEST"
BLINDED_DOB = "1900-01-01"


def pt_order(sample: PTSample, *, operator: str, method: str, sites: list[str], lot: str, expires: str,
             comment: str = "") -> dict[str, Any]:
    """The order document of a blinded run of ``sample``."""
    return {"accession": sample.sample_id, "method": method, "sites": list(sites), "operator": operator,
            "patient": {"mrn": sample.sample_id, "family": BLINDED_FAMILY,
                        "given": f"{sample.provider} {sample.event_code}", "dob": BLINDED_DOB, "sex": "U"},
            "ordering_provider": f"{sample.provider} {sample.scheme}",
            "pilocarpine_lot": {"lot": lot, "expires": expires}, "comment": comment}


def proficiency_of(store, order, purpose: str | None) -> dict[str, Any] | None:
    """The PT sample a run is about to perform (None: not a PT sample), checked: a registered sample runs blinded
    and only once (a run that was aborted may be run again); a run asked for as proficiency must name one."""
    sample = find_sample(store, order.accession)
    if sample is None:
        if purpose == PROFICIENCY:
            raise ValidationError(f"accession {order.accession}: not a registered PT sample; add it with "
                                  "`sweattest pt sample add` first. No run was created")
        return None
    if order.patient.family != BLINDED_FAMILY or order.patient.mrn != sample.sample_id:
        raise ValidationError(f"accession {order.accession} is a proficiency-testing sample of {sample.provider} "
                              f"event {sample.event_code}: run it blinded (`sweattest run --pt-sample "
                              f"{sample.sample_id}`), never under a patient's name. No run was created")
    earlier = pt_runs(store, sample.sample_id)
    if earlier:
        raise ValidationError(f"PT sample {sample.sample_id} was run already (run {earlier[0]}); a PT sample is "
                              "tested once, like a patient sample. No run was created")
    return sample.as_dict()

