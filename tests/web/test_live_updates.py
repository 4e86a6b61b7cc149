"""The run screens' live updates: the in-memory read model (small numbered updates, kept for a screen that
reconnects, never a replay of the run) and the server-sent events endpoint."""

from __future__ import annotations

import asyncio
import json
import threading
from types import SimpleNamespace

from sweattest.bench.live_view import READING_GAP_S, RunView, timing_alarms
from sweattest.web.live_stream import _stream
from tests.web.conftest import log_in
from tests.web.test_bench_flow import start_run, wait_for_prompt


def frames(body: str) -> list[dict]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def test_readings_are_small_constant_updates_merged_to_what_a_screen_can_show():
    view = RunView("R1", 1.5)
    sizes = []
    for n in range(200):  # 10 readings a second for 20 s of stimulation, sent as they come (0.1 s apart)
        before = view.seq
        view.reading("left_forearm", {"t": n / 10, "sp": 1.5, "i": 1.4993 + n * 1e-5, "v": 7.25, "q": n / 400,
                                      "duration_s": 300.0}, now=n * 0.1)
        assert view.seq == before + 1
        sizes.append(len(view.since(before)[0][1]))
    # bytes per update do not grow with the run (an update that adds a chart point, once a second, is that point
    # bigger: the screens of another process draw the same chart from it)
    first, last = sizes[:100], sizes[100:]
    assert max(sizes) < 160 and abs(max(last) - max(first)) <= 8 and abs(min(last) - min(first)) <= 8
    assert len(view.trace["left_forearm"]) == 20  # one chart point per second of stimulation
    burst = view.seq
    for k in range(50):  # a fast loop (training speed): readings closer than READING_GAP_S are merged
        view.reading("left_forearm", {"t": 20 + k / 100, "sp": 1.5, "i": 1.5, "v": 7.0, "q": 0.1,
                                      "duration_s": 300.0}, now=100 + k * READING_GAP_S / 10)
    assert view.seq - burst == 5  # 50 readings within 5 gaps: 5 updates
    view.flush(now=100 + READING_GAP_S)  # the ticker sends the latest one
    assert json.loads(view.since(view.seq - 1)[0][1])["t"] == 20.49


def test_a_screen_that_reconnects_gets_what_it_missed_or_the_snapshot():
    view = RunView("R1", 1.5)
    woken = []
    view.subscribe(lambda: woken.append(1))
    for n in range(5):
        view.publish("timers", timers={"left_forearm": {"remaining_s": 100 - n}})
    assert len(woken) == 5 and [seq for seq, _ in view.since(2)] == [3, 4, 5] and view.since(5) == []
    for _ in range(600):  # more than is kept
        view.publish("beat")
    assert view.since(2) is None  # too old: the screen gets the snapshot instead
    assert view.snapshot()["seq"] == view.seq

    def closed():
        raise RuntimeError("Event loop is closed")

    view.subscribe(closed)  # a screen whose server loop has gone: the runner's reading is not disturbed
    view.reading("left_forearm", {"t": 1.0, "sp": 1.5, "i": 1.5, "v": 7.0, "q": 0.0, "duration_s": 300.0}, now=0.0)
    assert view.screens == 1


def test_timing_alarms_before_a_collection_runs_past_its_maximum():
    timers = {"left_forearm": {"remaining_s": 90.0, "total_s": 1800.0, "ends_at": "10:42:00"}}
    busy = timing_alarms(timers, "right_forearm", "apply_collector", 5.0, None)
    assert busy == {"collect-left_forearm": "Left forearm: the collection reaches its maximum time at 10:42:00. "
                                             "Finish this step, then remove the collector from left forearm."}
    assert timing_alarms(timers, None, None, 0.0, "right_forearm")  # stimulating the other arm
    assert timing_alarms(timers, None, None, 0.0, None) == {}  # nothing else to do: the chime is enough
    assert timing_alarms({"left_forearm": timers["left_forearm"] | {"remaining_s": 600.0}}, "right_forearm",
                         "apply_collector", 5.0, None) == {}
    overdue = timing_alarms({}, "left_forearm", "read_volume", 75.0, None)
    assert overdue["prompt-left_forearm"].startswith("Left forearm: the collection time is over and the "
                                                     "collector is still waiting for 1 min 15 s. Remove it now")


def test_the_stream_pushes_each_update_without_reading_the_store():
    view = RunView("R1", 1.5)
    view.set_screen({"key": "stimulation||left_forearm:stimulating", "name": "stimulation", "sites": []})
    ctx = SimpleNamespace(store=None, live_stream_s=30.0, live_heartbeat_s=5.0)  # no store to read from

    async def watch():
        stream = _stream(ctx, "R1", view, None, "")
        assert (await anext(stream)).startswith(b"retry: ")
        first = await anext(stream)
        assert json.loads(first.split(b"data: ")[1])["type"] == "snapshot"
        got = []
        for n in range(3):  # each change reaches the open screen as it happens
            view.reading("left_forearm", {"t": n, "sp": 1.5, "i": 1.5, "v": 7.0, "q": 0.0, "duration_s": 300.0},
                         now=float(n))
            got.append(json.loads((await asyncio.wait_for(anext(stream), 5)).split(b"data: ")[1]))
        view.set_screen({"key": "apply_collector|1|left_forearm:stimulation_done", "name": "apply_collector",
                         "sites": []})
        got.append(json.loads((await asyncio.wait_for(anext(stream), 5)).split(b"data: ")[1]))
        await stream.aclose()
        return got

    result: list = []  # on an event loop of its own (a browser test may hold this thread's)
    watcher = threading.Thread(target=lambda: result.append(asyncio.run(watch())))
    watcher.start()
    watcher.join(timeout=30)
    [got] = result
    assert [g["type"] for g in got] == ["stim", "stim", "stim", "screen"] and [g["t"] for g in got[:3]] == [0, 1, 2]
    assert got[3]["screen"] == "apply_collector" and got[3]["key"].startswith("apply_collector|1|")
    assert view.screens == 0  # the closed screen unsubscribed


def test_the_events_endpoint_for_a_live_run_and_a_reconnection(client, web_app):
    log_in(client, "tech")
    from tests.web.conftest import csrf_of

    run_url = start_run(client, csrf_of(client))
    prompt = wait_for_prompt(client, run_url, web_app)
    web_app.state.web.live_stream_s = 0.3  # the stream ends soon; the browser would reconnect
    r = client.get(f"{run_url}/events")
    assert r.headers["content-type"].startswith("text/event-stream") and r.headers["cache-control"] == "no-store"
    [snapshot, *rest] = frames(r.text)
    assert snapshot["type"] == "snapshot" and snapshot["screen"] == prompt.kind
    assert [s["state"] for s in snapshot["sites"]] == ["stimulation_done", "ready"]
    assert snapshot["trace"]["left_forearm"] and snapshot["key"] == client.get(f"{run_url}/live").json()["key"]
    session = web_app.state.web.bench.session(run_url.rsplit("/", 1)[1])
    last = r.text.split("id: ")[1].split("\n")[0]
    session.view.acknowledged()  # something happens while the screen is away
    again = client.get(f"{run_url}/events", headers={"last-event-id": last})
    missed = [f["type"] for f in frames(again.text) if f["type"] not in ("beat", "stim")]
    assert missed == ["screen"]  # only what it missed, no snapshot
    stale = client.get(f"{run_url}/events", headers={"last-event-id": "0000-1"})  # another server's numbers
    assert frames(stale.text)[0]["type"] == "snapshot"
    client.cookies.clear()  # logged out: refused, the screen says so
    assert client.get(f"{run_url}/events", follow_redirects=False).status_code == 303


def test_a_timing_alarm_sounds_until_acknowledged_and_the_acknowledgement_is_recorded(client, web_app,
                                                                                       monkeypatch):
    from sweattest.record.audit import history
    from tests.web.conftest import csrf_of

    text = ("Left forearm: the collection reaches its maximum time at 10:42:00. Finish this step, then remove "
            "the collector from left forearm.")
    monkeypatch.setattr("sweattest.bench.station.session.timing_alarms", lambda *args: {"collect-left_forearm": text})
    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    wait_for_prompt(client, run_url, web_app)
    session = web_app.state.web.bench.session(run_url.rsplit("/", 1)[1])
    for _ in range(200):  # the station's ticker raises it within a quarter of a second
        if session.view.timing_alarms:
            break
        session.thread.join(timeout=0.01)
    page = client.get(run_url).text
    assert text in page and 'id="timing-collect-left_forearm" data-sound="alarm"' in page
    assert 'form="ack-form-collect-left_forearm"' in page  # the bar's focused primary action acknowledges it
    r = client.post(f"{run_url}/alarms/collect-left_forearm/acknowledge", data={"csrf": token})
    assert "Acknowledged by Tess Tech (tech1) at 2026-" in r.text and 'data-sound="alarm"' not in r.text
    [ack] = [e for e in history(web_app.state.web.store, session.run_id) if e.what == "acknowledge_alarm"]
    assert ack.who == "tech1" and ack.why == text and ack.new == {"alarm": "collect-left_forearm"}
    r = client.post(f"{run_url}/alarms/prompt-right_forearm/acknowledge", data={"csrf": token})
    assert "this alarm has ended" in r.text


def test_a_training_runs_timers_say_their_clock_waits_while_a_step_waits(client, web_app):
    from tests.web.conftest import csrf_of

    log_in(client, "tech")
    token = csrf_of(client)
    run_url = start_run(client, token)
    prompt = wait_for_prompt(client, run_url, web_app, kind="apply_collector")
    client.post(f"{run_url}/confirm", data={"csrf": token, "prompt": str(prompt.id), "outcome": "ok"})
    wait_for_prompt(client, run_url, web_app, kind="check_skin")  # the left forearm collects meanwhile
    session = web_app.state.web.bench.session(run_url.rsplit("/", 1)[1])
    session.tick()
    left = session.view.snapshot()["timers"]["left_forearm"]
    assert left["training"] is True and left["paused"] is True
    rail = client.get(run_url).text.split('id="rail-left_forearm"', 1)[1].split("</div>\n    </div>", 1)[0]
    assert "PAUSED: the training clock waits for this step" in rail


def test_a_sites_chart_points_are_never_sent_as_another_sites():
    """The last reading of the left forearm, not yet sent, and the first of the right one within the same gap: each
    update carries its own site's chart points, so a mirror of the view draws each site's curve from its start."""
    view = RunView("R1", 1.5)
    view.reading("left_forearm", {"t": 290.1, "sp": 1.5, "i": 1.5, "v": 7.0, "q": 0.3, "duration_s": 300.0}, now=0.0)
    view.reading("left_forearm", {"t": 300.0, "sp": 0.0, "i": 0.0, "v": 0.0, "q": 0.3, "duration_s": 300.0},
                 now=READING_GAP_S / 10)
    view.reading("right_forearm", {"t": 0.1, "sp": 1.5, "i": 1.5, "v": 7.0, "q": 0.0, "duration_s": 300.0},
                 now=READING_GAP_S / 5)
    view.flush(now=READING_GAP_S * 2)
    sent = [json.loads(body) for _, body in view.since(0) if json.loads(body).get("kind", "stim") == "stim"]
    points = {}
    for update in sent:
        if "site" in update:
            points.setdefault(update["site"], []).extend(p[0] for p in update.get("points", []))
    assert points["right_forearm"][0] == 0.1 and all(t >= 290 for t in points["left_forearm"])
