"""The inducer alarm at the bench: an inducer whose output relay does not open is declared faulty, the tech
sees a red alarm telling them to switch it off at its power switch and remove the electrodes, and the alarm
stays on the run's screen until acknowledged; the acknowledgement is audited with who and when."""

from __future__ import annotations

from sweattest.record.audit import history
from sweattest.record.runs import load_run
from sweattest.record.skin_reactions import run_skin_reactions
from tests.web.conftest import csrf_of, log_in
from tests.web.test_bench_flow import start_run

ALARM = "INDUCER NOT CONFIRMED SAFE"


def test_a_stuck_relay_alarms_until_the_tech_acknowledges_it(client, web_app):
    log_in(client, "tech")
    tech = csrf_of(client)
    run_url = start_run(client, tech, scenario="stuck_relay")
    run_id = run_url.rsplit("/", 1)[1]
    session = web_app.state.web.bench.session(run_id)
    session.thread.join(timeout=30)  # both sites abort: nothing waits for the tech
    assert not session.active

    [raised] = session.view.alarms
    assert "output NOT confirmed off (OUTP1? read 1 twice)" in raised and "power switch" in raised
    live = client.get(f"{run_url}/live").json()
    assert [a["text"] for a in live["alarms"]] == [raised]
    run, _ = load_run(web_app.state.web.store, run_id)
    left, right = run.sites
    assert left.state == right.state == "aborted" and "declared faulty" in right.abort_reason
    assert "OUTP2 ON" not in session.bench.inducer.driver.port.simulator.received

    for _ in range(2):  # a reload shows it again: it stays until acknowledged
        page = client.get(run_url).text
        assert ALARM in page and "Switch the inducer off at its power switch now" in page
    seq = int(page.split("/alarms/", 1)[1].split("/", 1)[0])
    assert "Skin of the left forearm where the electrodes were" in page  # the faulted site was stimulated
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge", data={"csrf": tech})  # no grade chosen: refused
    assert "left forearm: choose how its skin looks" in r.text and ALARM in r.text
    assert not [e for e in history(web_app.state.web.store, run_id) if e.what == "acknowledge_alarm"]
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge", data={"csrf": tech, "grade": "blister"})
    assert "a blister is an adverse event" in r.text and f'id="ack-grade-{seq}-blister" checked' in r.text
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge", data={"csrf": tech, "grade": "erythema"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(run_url).text
    assert ALARM not in page and "acknowledged by Tess Tech (tech1) at 2026-" in page
    assert run_skin_reactions(web_app.state.web.store, run_id)["left_forearm"].grade == "erythema"
    [entry] = [e for e in history(web_app.state.web.store, run_id) if e.what == "acknowledge_alarm"]
    assert entry.who == "tech1" and entry.new["event"] == seq and entry.new["skin"] == "erythema"
    r = client.post(f"{run_url}/alarms/{seq}/acknowledge", data={"csrf": tech})
    assert r.url.path == f"/runs/{run_id}" and "already acknowledged by tech1" in r.text
    # the QA audit trail shows every entry `sweattest audit show` shows, in words
    entries = history(web_app.state.web.store, run_id)
    detail = client.get(f"/qa/runs/{run_id}").text
    table = detail.split('id="audit"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr class=") == len(entries) >= 8
    assert "alarm acknowledged" in table and "skin checked" in table and "confirmation refused" not in table
    assert "Tess Tech (tech1)" in table and "erythema" in table and "acknowledge_alarm" not in table
    assert table.index("run created") < table.index("check ready") < table.index("alarm acknowledged")  # chain order
