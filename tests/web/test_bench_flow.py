"""The bench flow through the test client: each step's checks, prompts and sign-off."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from sweattest.record.runs import load_run
from sweattest.record.skin_reactions import run_skin_reactions
from tests.web.conftest import PASSWORD, csrf_of, log_in

GOOD = {"identify": {"mrn": "MRN0012345", "dob": "2025-06-01"}, "eligibility": {},
        "method": {"method": "macroduct", "site": ["left_forearm", "right_forearm"], "scenario": "normal"},
        "lot": {"lot": "PG1234", "expires": "2099-12-31"},
        "checklist": {"item": ["skin", "gel", "anode", "straps", "leads"]}}


def open_test(client, token, accession="ST-2026-000123") -> str:
    r = client.post("/bench/new", data={"csrf": token, "accession": accession}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[0]


def step(client, token, base, name, data):
    return client.post(f"{base}/{name}", data={"csrf": token, **data}, follow_redirects=False)


def start_run(client, token, scenario="normal") -> str:
    base = open_test(client, token)
    for name, data in GOOD.items():
        r = step(client, token, base, name, data | ({"scenario": scenario} if name == "method" else {}))
        assert r.status_code == 303, (name, r.text)
    return r.headers["location"]


def wait_for_prompt(client, run_url, web_app, kind=None, after: int = 0):
    """The prompt the run waits at (a newer one than prompt ``after``, already answered)."""
    session = web_app.state.web.bench.session(run_url.rsplit("/", 1)[1])
    for _ in range(2000):
        prompt = session.operator.prompt
        if prompt is not None and prompt.id > after and (kind is None or prompt.kind == kind):
            return prompt
        session.thread.join(timeout=0.01)
        if not session.active:
            return None
    raise AssertionError("no prompt")


@pytest.fixture
def tech(client):
    log_in(client, "tech")
    return csrf_of(client)


def test_unknown_accession_and_wrong_wristband_stop_the_test(client, tech, web_app):
    r = client.post("/bench/new", data={"csrf": tech, "accession": "ST-0000-999"})
    assert r.url.path == "/bench/new" and "no open order" in r.text and 'value="ST-0000-999"' in r.text
    base = open_test(client, tech)
    r = client.get(f"{base}/lot", follow_redirects=False)  # no skipping ahead
    assert r.headers["location"].endswith("/identify")
    r = step(client, tech, base, "identify", {"mrn": "MRN0012345", "dob": "2025-06-02"})
    assert r.headers["location"] == "/bench/new"  # cancelled: start again from the accession
    page = client.get("/bench/new").text
    assert "does not match the order" in page and "cancelled and recorded" in page
    assert "start again" in client.get(f"{base}/identify").text.lower()  # the draft is gone
    assert web_app.state.web.store.list_runs() == []


@pytest.mark.parametrize("typed", ["01/06/2025", "1.6.2025", "20250601", "2025-6-1", "2025-02-30", "2025-06-01T00:00"])
def test_a_malformed_date_of_birth_is_a_typing_error_to_correct_not_a_mismatch(client, tech, web_app, typed):
    base = open_test(client, tech)
    page = client.get(f"{base}/identify").text
    assert 'placeholder="YYYY-MM-DD"' in page and "2024-03-15" in page  # the expected form is shown
    r = step(client, tech, base, "identify", {"mrn": "MRN0012345", "dob": typed})
    assert r.headers["location"] == f"{base}/identify"  # the same step again: nothing cancelled
    page = client.get(r.headers["location"]).text
    assert f"date of birth: &#39;{typed}&#39; is not a date" in page and "2024-03-15" in page
    assert f'value="{typed}"' in page and "do NOT test" not in page  # what was typed stays to correct
    r = step(client, tech, base, "identify", {"mrn": "MRN0012345", "dob": "2025-06-01"})
    assert r.headers["location"] != "/bench/new"  # corrected: the test goes on
    store = web_app.state.web.store
    with store.engine.connect() as conn:
        import sqlalchemy as sa

        from sweattest.record.store import schema
        assert conn.execute(sa.select(schema.audit).where(schema.audit.c.what == "cancel_test")).all() == []


def test_a_wristband_mismatch_on_a_later_visit_cancels_the_earlier_pass(client, tech, web_app):
    import sqlalchemy as sa

    from sweattest.record.store import schema

    base = open_test(client, tech)
    for name in ("identify", "eligibility", "method", "lot"):
        assert step(client, tech, base, name, GOOD[name]).status_code == 303
    r = step(client, tech, base, "identify", {"mrn": "MRN0099999", "dob": "2025-06-01"})  # Back, other patient
    assert r.headers["location"] == "/bench/new"
    r = step(client, tech, base, "checklist", GOOD["checklist"])  # the checklist is not reachable any more
    assert r.status_code == 404 and "start again with the accession" in r.text.lower()
    assert web_app.state.web.store.list_runs() == []
    au = schema.audit
    with web_app.state.web.store.engine.connect() as conn:
        [entry] = conn.execute(sa.select(au).where(au.c.what == "cancel_test")).mappings().all()
    assert entry["who"] == "tech1" and "wristband does not match" in entry["why"] and '"identify"' in entry["new"]


def test_a_warning_needs_a_reason_and_the_reason_is_recorded(client, tech, web_app):
    base = open_test(client, tech)
    step(client, tech, base, "identify", GOOD["identify"])
    r = step(client, tech, base, "eligibility", {"condition": "eczema"})
    r = client.get(r.headers["location"])
    assert "contraindication: eczema" in r.text and 'name="reason_condition_eczema"' in r.text
    r = step(client, tech, base, "eligibility", {"condition": "eczema",
                                                 "reason_condition_eczema": "eczema on the legs only"})
    assert r.headers["location"].endswith("/method")
    for name in ("method", "lot", "checklist"):
        r = step(client, tech, base, name, GOOD[name])
    run_id = r.headers["location"].rsplit("/", 1)[1]
    verify = next(e for e in web_app.state.web.store.events(run_id) if e.kind == "verify_patient")
    assert verify.data["overrides"] == [{"code": "condition_eczema", "reason": "eczema on the legs only",
                                         "by": "tech1"}]


def test_an_expired_lot_blocks_and_an_unticked_checklist_holds(client, tech, web_app):
    base = open_test(client, tech)
    for name in ("identify", "eligibility", "method"):
        step(client, tech, base, name, GOOD[name])
    r = step(client, tech, base, "lot", {"lot": "PG9", "expires": "2020-01-31"})
    assert r.headers["location"] == f"{base}/lot"  # post, redirect, get: Back never meets a posted page
    page = client.get(r.headers["location"]).text
    assert "expired on 2020-01-31" in page and "blocked" in page and 'value="PG9"' in page
    r = step(client, tech, base, "lot", {"lot": "PG9", "expires": "31/01/2030"})
    page = client.get(r.headers["location"]).text
    assert "YYYY-MM-DD" in page and 'value="31/01/2030"' in page  # what was typed stays
    step(client, tech, base, "lot", GOOD["lot"])
    r = step(client, tech, base, "checklist", {"item": ["skin", "gel"]})
    page = client.get(r.headers["location"]).text
    assert "not yet ticked" in page and page.count("checked") == 2
    assert web_app.state.web.store.list_runs() == []


#: Volumes typed wrong, and how the refusal goes on after quoting exactly what was typed.
BAD_VOLUMES = (("fifty", " has no number"), ("9**9**9", " is not a number (only digits and one decimal point"),
               ("1e3", " is written with an exponent (it would mean 1000 µL)"),
               ("40 mg", " is a mass, not a volume"), ("35,5", ": use a decimal point (35.5), not a comma"),
               ("40 µL uL", " is not one number with its unit"),
               ("0.5 mL", ": sample volume 500.0 µL is above the 85 µL maximum"),
               ("-5", ": volume -5 µL: read the coil again; enter the volume above 0"))


def test_a_whole_run_from_the_browser_to_the_final_report(client, tech, web_app):
    run_url = start_run(client, tech)
    run_id = run_url.rsplit("/", 1)[1]
    answered, volumes = 0, {}
    while (prompt := wait_for_prompt(client, run_url, web_app, after=answered)) is not None:
        answered = prompt.id
        data = {"csrf": tech, "prompt": str(prompt.id)}
        if prompt.kind == "read_volume":
            for typed, said in BAD_VOLUMES:
                r = client.post(f"{run_url}/confirm", data=data | {"amount": typed}, follow_redirects=False)
                assert r.status_code == 303  # post, redirect, get: Back and reload never send the form again
                page = client.get(run_url).text  # the prompt stays, with the error and what was typed
                shown = page.split('id="error">')[1].split("</div>")[0] if 'id="error"' in page else None
                assert shown is not None and f"\u201c{escape(typed)}\u201d{said}" in shown, shown
                # an example in the field's unit
                assert "for example 35.5 µL" in shown and "uL" not in shown.replace(typed, "")
                assert f'value="{escape(typed)}"' in page and "QNS below 15 µL" in page
                assert "left_forearm" not in shown  # no site codes
            coil = re.search(r"coil shows ([\d.]+)", prompt.hint).group(1)
            # typed with its unit: read as typed when the unit fits the field (µL, or mL converted)
            data["amount"] = f"{coil} µL" if prompt.site == "left_forearm" else f"{float(coil) / 1000:.4f} mL"
            volumes[prompt.site] = float(coil)
        if prompt.kind == "check_skin":
            page = client.get(run_url).text  # nothing chosen for the tech, and Confirm does not have the focus
            assert 'name="grade"' in page and "checked" not in page.split('id="step-form"')[1].split("</form>")[0]
            assert 'id="grade-none" autofocus' in page and re.search(r'id="confirm"[^>]*autofocus', page) is None
            # a scanner's Enter, or a confirmation by habit: refused in words, nothing recorded, the step stays
            client.post(f"{run_url}/confirm", data=data | {"outcome": "ok"}, follow_redirects=False)
            page = client.get(run_url).text
            assert ("choose how its skin looks where the electrodes were (no reaction, redness, blister or burn); "
                    "nothing is chosen for you") in page
            assert prompt.site not in run_skin_reactions(web_app.state.web.store, run_id)
            assert web_app.state.web.bench.session(run_id).operator.prompt.id == prompt.id
            # a burn needs its note: refused, the step stays with what was chosen
            client.post(f"{run_url}/confirm", data=data | {"grade": "burn", "note": " "}, follow_redirects=False)
            page = client.get(run_url).text
            assert "a burn is an adverse event: write what you saw and did in the note" in page
            assert 'value="burn" id="grade-burn" checked' in page
            data["grade"] = "none"
        assert client.post(f"{run_url}/confirm", data=data, follow_redirects=False).status_code == 303
        r = client.post(f"{run_url}/confirm", data=data)  # the same confirmation again (second tab)
        assert "already confirmed" in r.text
    page = client.get(run_url).text
    assert 'data-screen="result"' in page and "45 mmol/L" in page and "intermediate" in page
    run, _ = load_run(web_app.state.web.store, run_id)
    assert {s.site: s.volume.to("uL").magnitude for s in run.sites} == pytest.approx(volumes)
    r = client.post(f"{run_url}/sign", data={"csrf": tech, "meaning": "performed", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    log_in(client, "reviewer")
    rev = csrf_of(client)
    r = client.post(f"{run_url}/sign", data={"csrf": rev, "meaning": "reviewed", "password": "nope"})
    assert r.url.path == f"/runs/{run_id}" and 'id="error"' in r.text  # shown on the run's own page
    r = client.post(f"{run_url}/sign", data={"csrf": rev, "meaning": "reviewed", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    run, _ = load_run(web_app.state.web.store, run_id)
    assert run.state == "reported"
    report = client.get(f"/runs/{run_id}/report")
    assert "final" in report.text.lower() and "Doe" in report.text
    detail = client.get(f"/qa/runs/{run_id}").text
    assert "verify patient" in detail and "review" in detail and "<polyline" in detail


def test_emergency_stop_aborts_the_stimulating_site_and_says_the_output_is_off(client, tech, web_app):
    web_app.state.web.bench.pace = 50.0  # slow enough to press the button during stimulation
    run_url = start_run(client, tech)
    run_id = run_url.rsplit("/", 1)[1]
    session = web_app.state.web.bench.session(run_id)
    for _ in range(500):
        if session.view.stimulating:
            break
        session.thread.join(timeout=0.01)
    r = client.post(f"{run_url}/stop", data={"csrf": tech}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(run_url).text
    assert "STIMULATION STOPPED" in page and "emergency stop by Tess Tech (tech1)" in page and "Output is OFF" in page
    session.thread.join(timeout=20)
    run, _ = load_run(web_app.state.web.store, run_id)
    assert [s.state for s in run.sites] == ["aborted", "aborted"]
    simulator = session.bench.inducer.driver.port.simulator
    assert not any(simulator.output_state(ch) for ch in (1, 2))
