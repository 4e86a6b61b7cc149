"""Bench screens through a shift, in Debian's chromium: the idle lock of an open run screen while its own
updates flow (the server's clock moved on, no sleeping), and an open-circuit alarm that leaves the other
site's timer in view, asks for the faulted site's skin and keeps its chart with the stop mark. Each screen is
photographed at 1280x800 and 800x1280 (folder printed by the ``shots`` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweattest.record.audit import history
from sweattest.record.skin_reactions import run_skin_reactions
from tests.web.conftest import CHROMIUM, PASSWORD
from tests.web.test_e2e_browser import (
    BENCH,
    TABLET,
    Station,
    keys,
    log_in,
    new_page,
    photograph,
    prepare_by_keyboard,
    prompt_id,
    skin_chosen,
    wait_for,
)

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/setup-chromium")


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    s = Station(tmp_path_factory.mktemp("screens"))
    yield s
    s.stop()
    s.store.close()


def in_view(page, selector: str) -> bool:
    """The element is wholly inside the window (not below the fold, not under the action bar)."""
    box = page.query_selector(selector).bounding_box()
    bar = page.query_selector("#actionbar").bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= min(height, bar["y"])


def test_an_open_run_screen_locks_while_its_updates_flow(station, browser, shots):
    station.web.bench.pace = 60.0
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base)
    run_url = page.url
    page.wait_for_selector("#stim")  # the left forearm stimulates; nobody touches the screen from now on
    station.clock.advance(15 * 60 + 1)  # the idle time passes on the server's clock; the stream keeps beating
    wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "1", 10)
    assert page.is_visible("#chart") and page.is_visible("#actionbar #stop")  # the live stimulation stays
    photograph(page, shots, "09-run-locked-stimulating")
    page.goto(f"{base}/bench")  # any other page: the lock screen, with the station's runs and their stop
    page.wait_for_selector("h1:text('Screen locked')")
    runs = page.inner_text("#station-runs")
    assert run_url.rsplit("/", 1)[1] in runs and "Doe" not in runs  # no patient data
    assert page.evaluate("document.activeElement.id") == "unlock-password"
    photograph(page, shots, "08-lock-page")
    page.goto(run_url)
    wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "1", 10)
    # the stimulation ends and the next step comes while locked: the screen draws itself again (its own
    # ?swap=1 request, not use) and stays locked; the step waiting is named, not offered
    wait_for(page, lambda: "Collector applied" in page.inner_text("#lockcard"), 30)
    asked = "Collector applied: start the timer"
    card = page.inner_text("#lockcard")
    assert page.url == run_url and "Screen locked" in card and asked in card
    assert page.query_selector("#confirm") is None and page.query_selector("#step-form") is None
    assert page.is_visible("#actionbar #stop") and page.is_visible("#rail")  # the stop and the run's state stay
    assert page.evaluate("document.activeElement.id") == "unlock-password"
    photograph(page, shots, "10-run-locked")
    keys(page, "wrong password!")  # a wrong password: said on the run's screen, still locked
    assert "Wrong password." in page.inner_text("#error") and page.get_attribute("#run", "data-locked") == "1"
    keys(page, PASSWORD)
    wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "0" and prompt_id(page) is not None, 10)
    assert page.url == run_url and page.inner_text("#actionbar #confirm") == asked
    page.close()


def test_an_open_circuit_alarm_keeps_the_other_site_in_view_and_asks_the_faulted_sites_skin(station, browser, shots):
    station.web.bench.pace = 300.0
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base, scenario="open_circuit")
    run_id = page.url.rsplit("/", 1)[1]
    while not page.query_selector(".alarm"):  # the left forearm's steps, until the right one's fault
        wait_for(page, lambda: page.query_selector(".alarm") or page.query_selector("#actionbar #confirm"), 60)
        if page.query_selector("#actionbar #confirm") and not page.query_selector(".alarm"):
            skin_chosen(page)
            page.focus("#actionbar #confirm")
            keys(page, "")
    wait_for(page, lambda: page.query_selector("#chart-right_forearm .stopline"), 5)
    seq = page.get_attribute("#ack-primary", "form").rsplit("-", 1)[1]
    # the faulted site's skin is asked first: the choice has the focus, not the acknowledgment
    assert page.evaluate("document.activeElement.id") == f"ack-grade-{seq}-none"
    for size in (BENCH, TABLET):
        page.set_viewport_size(size)
        assert in_view(page, "#rail-left_forearm"), size  # the other site's collection timer stays in view
        assert "left" in page.inner_text("#rail-left_forearm .railtime")
        assert in_view(page, ".alarm h2"), size
    photograph(page, shots, "11-alarm-open-circuit")
    page.focus("#ack-primary")
    keys(page, "")  # no grade chosen: refused in words, nothing recorded
    assert "right forearm: choose how its skin looks" in page.inner_text("#error")
    station.clock.advance(15 * 60 + 1)  # nobody at the screen: it locks with the alarm up
    wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "1", 10)
    assert page.is_visible(".alarm h2") and page.evaluate("window.sweattestAlarmSounding === true")
    assert page.is_visible(f"#ack-password-{seq}") and page.is_visible("#actionbar #stop")
    assert in_view(page, "#rail-left_forearm")
    photograph(page, shots, "11b-alarm-on-a-locked-screen")
    page.check(f"#ack-grade-{seq}-erythema")
    page.fill(f"#ack-password-{seq}", PASSWORD)  # the acknowledgment is signed: the password with it
    page.focus("#ack-primary")
    keys(page, "")
    wait_for(page, lambda: page.query_selector(f"#stopped-{seq}") is not None, 10)
    assert "Acknowledged by Tess Tech (tech1)" in page.inner_text(f"#stopped-{seq}")
    wait_for(page, lambda: page.query_selector(f"#stopped-{seq} .stopline") is not None, 5)  # the chart stays
    photograph(page, shots, "12-alarm-acknowledged")
    assert run_skin_reactions(station.store, run_id)["right_forearm"].grade == "erythema"
    [ack] = [e for e in history(station.store, run_id) if e.what == "acknowledge_alarm"]
    assert ack.new["skin"] == "erythema"
    page.goto(f"{base}/qa/runs/{run_id}")  # the run's audit trail: what `sweattest audit show` shows, in words
    audit = page.inner_text("#audit")
    assert "alarm acknowledged" in audit and "skin checked" in audit and "erythema" in audit
    assert len(page.query_selector_all("#audit tbody tr")) == len(history(station.store, run_id))
    page.screenshot(path=str(shots / "16-qa-audit-trail-bench.png"), full_page=True)
    page.close()


def test_the_header_fits_one_line_at_1280_and_the_bench_home_says_who_and_whom(station, browser, shots):
    base = station.url()
    for role in ("reviewer", "admin"):  # the roles with the most links
        page = new_page(browser, BENCH)
        log_in(page, base, role)
        page.goto(f"{base}/qa/runs")
        tops = {round(a.bounding_box()["y"]) for a in page.query_selector_all("header nav a")}
        assert len(tops) == 1 and page.query_selector("header.top").bounding_box()["height"] < 70, (role, tops)
        assert page.evaluate("document.documentElement.scrollWidth") <= BENCH["width"]
        page.screenshot(path=str(shots / f"13-qa-header-{role}-bench.png"))
        page.close()
    station.web.bench.pace = 60.0
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    page.goto(f"{base}/bench")
    keys(page, "")
    keys(page, "ST-2026-000123")  # tested already in this module: the repeat step comes
    page.wait_for_selector("h1:text('Patient identity')")
    keys(page, "MRN0012345", "2025-06-01")
    page.wait_for_selector("h1:text('Earlier tests')")
    for size in (BENCH, TABLET):  # the whole step, Continue included, on the screen without scrolling
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        box = page.query_selector("button.primary").bounding_box()
        assert box["y"] + box["height"] <= size["height"], (size, box)
        page.screenshot(path=str(shots / f"15-repeat-step-{size['width']}.png"))
    page.set_viewport_size(BENCH)
    prepare_by_keyboard(page, base)
    run_id = page.url.rsplit("/", 1)[1]
    page.goto(f"{base}/bench")
    row = [r for r in page.query_selector_all("#active-runs tbody tr") if run_id in r.inner_text()][0].inner_text()
    assert "Doe, Jane" in row and "MRN0012345" in row and "Tess Tech (tech1)" in row and "left forearm" in row
    photograph(page, shots, "14-bench-home")
    page.close()


def test_a_page_left_alone_gives_way_to_the_lock_screen(station, browser, shots):
    from dataclasses import replace
    from datetime import timedelta

    config = station.web.config
    station.web.config = replace(config, access=replace(config.access, idle_lock=timedelta(seconds=2)))
    try:
        page = new_page(browser, BENCH)
        log_in(page, station.url(), "tech")
        page.goto(f"{station.url()}/bench")
        station.clock.advance(3)  # idle on the server's clock; the page notices after the idle time
        wait_for(page, lambda: page.query_selector("h1") and "Screen locked" in page.inner_text("h1"), 15)
        assert "/lock" in page.url
        wait_for(page, lambda: page.evaluate("document.activeElement.id") == "unlock-password", 5)
        keys(page, PASSWORD)
        wait_for(page, lambda: "/bench" in page.url, 10)
        page.close()
    finally:
        station.web.config = config


def test_a_finished_run_screen_left_alone_locks_too(station, browser, shots):
    """A run's screen whose updates have ended (stopped, reported) still locks after the idle time: its result
    and the patient's name are not left on an unattended screen."""
    from dataclasses import replace
    from datetime import timedelta

    station.web.bench.pace = 60.0
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base)
    page.wait_for_selector("#stim")
    with page.expect_navigation():
        page.click("#actionbar #stop")
    wait_for(page, lambda: page.get_attribute("#run", "data-final") == "1", 10)
    assert "Doe" in page.inner_text("#run .order")
    config = station.web.config
    station.web.config = replace(config, access=replace(config.access, idle_lock=timedelta(seconds=2)))
    try:
        page.reload()  # the screen as drawn with the shorter idle time
        page.wait_for_selector("#run")
        station.clock.advance(3)  # idle on the server's clock; the screen has no stream to be told by
        wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "1", 15)
        assert "Doe" not in page.inner_text("#run .order") and page.is_visible("#unlock-password")
        photograph(page, shots, "17-stopped-run-locked")
    finally:
        station.web.config = config
    page.close()


def test_a_person_working_at_a_run_screen_keeps_it_open_though_no_form_is_sent(station, browser, shots):
    """Keys and touches on a run's screen are the person's use even when they send nothing (typing a skin
    note, reading the screen with a tap): the session does not lock under someone at work; the page's own
    requests still never count."""
    from sweattest.record import web_sessions
    from sweattest.web.sessions import COOKIE, locked_now

    station.web.bench.pace = 60.0
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base)
    page.wait_for_selector("#stim")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    station.clock.advance(10 * 60)  # ten minutes of watching the run
    now = station.clock.utcnow()
    page.mouse.click(5, 400)  # a touch on the screen, away from any control
    wait_for(page, lambda: web_sessions.find_session(station.store, token).last_seen >= now, 10)
    station.clock.advance(10 * 60)  # twenty minutes since the last request, ten since the touch
    session = web_sessions.find_session(station.store, token)
    assert not locked_now(station.web, session) and page.get_attribute("#run", "data-locked") == "0"
    station.clock.advance(5 * 60 + 1)  # nobody at the screen for the idle time: it locks
    wait_for(page, lambda: page.get_attribute("#run", "data-locked") == "1", 10)
    page.close()


def test_a_skin_note_being_typed_on_an_alarm_survives_the_screen_drawing_itself_again(station, browser, shots):
    """The other site goes on while the faulted site's alarm waits: each change draws the screen again in place;
    the skin grade chosen and the note typed on the alarm's card stay."""
    station.web.bench.pace = 300.0
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base, scenario="open_circuit")
    while not page.query_selector(".alarm"):  # the left forearm's steps, until the right one's fault
        wait_for(page, lambda: page.query_selector(".alarm") or page.query_selector("#actionbar #confirm"), 60)
        if page.query_selector("#actionbar #confirm") and not page.query_selector(".alarm"):
            skin_chosen(page)
            page.focus("#actionbar #confirm")
            keys(page, "")
    seq = page.get_attribute("#ack-primary", "form").rsplit("-", 1)[1]
    page.check(f"#ack-grade-{seq}-blister")
    page.fill(f"#ack-note-{seq}", "3 mm blister, cooled")
    key = page.get_attribute("#run", "data-key")
    wait_for(page, lambda: page.get_attribute("#run", "data-key") != key, 90)  # the left forearm's next step
    assert page.is_checked(f"#ack-grade-{seq}-blister")
    assert page.input_value(f"#ack-note-{seq}") == "3 mm blister, cooled"
    page.close()
