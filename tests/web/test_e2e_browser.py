"""End to end in Debian's chromium (Playwright), on one server for the module: a bilateral run driven only by
the keyboard (a scanner's Enter and a foot pedal), Back at every step, an electrode coming loose with the
alarm acknowledged by a second user, the session ending mid-collection and the server restarted
mid-collection. Each screen is photographed at 1280x800 and 800x1280 (folder printed by the ``shots``
fixture), and the action bar must be on screen in both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.record.audit import history
from sweattest.record.store.store import open_store
from sweattest.web.accounts import default_accounts
from sweattest.web.app import create_app
from tests.web.conftest import CHROMIUM, PASSWORD, SHOT_TIMEOUT_MS, USERS, Served, accounts_for_tests

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/setup-chromium")

BENCH, TABLET = {"width": 1280, "height": 800}, {"width": 800, "height": 1280}
BEAT_S, STREAM_S = 0.5, 1.5  # short, so a lost session or server shows within seconds


def base_url(server) -> str:
    """The address of a uvicorn server (used by the instrument tests too)."""
    return f"http://127.0.0.1:{server.config.port}"


class Station:
    """The web app under uvicorn on a port of its own; ``restart`` stops it and starts a new process's app on the
    same store and port, recovering unfinished runs as ``sweattest serve`` does at start-up."""

    def __init__(self, folder: Path):
        self.clock = VirtualClock()
        self.store = open_store(str(folder / "runs.db"), self.clock)
        self.port = 0  # the system picks it at the first start
        self.start(accounts_for_tests(self.store))

    def start(self, accounts) -> None:
        self.app = create_app(self.store, self.clock, accounts, simulate=True, pace=300.0,
                              live_heartbeat_s=BEAT_S, live_stream_s=STREAM_S)
        self.served = Served(self.app, port=self.port, timeout_graceful_shutdown=1)
        self.server, self.port = self.served.server, self.served.port

    def stop(self) -> None:
        self.served.stop()

    def restart(self) -> list[str]:
        self.stop()
        self.start(default_accounts())
        return self.app.state.web.bench.resume_unfinished()

    @property
    def web(self):
        return self.app.state.web

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    s = Station(tmp_path_factory.mktemp("e2e"))
    yield s
    s.stop()
    s.store.close()


def new_page(browser, size):
    page = browser.new_page()
    page.set_viewport_size(size)
    return page


def keys(page, *typed: str) -> None:
    """Type each text and end it with Enter, as a barcode scanner does (an empty text: Enter alone). The last
    Enter sends the form: wait for the next page."""
    for i, text in enumerate(typed):
        if text:
            page.keyboard.type(text)
        if i < len(typed) - 1:
            page.keyboard.press("Enter")
        else:
            with page.expect_navigation():
                page.keyboard.press("Enter")


def skin_chosen(page, grade: str = "none") -> None:
    """A skin check preselects nothing: the tech chooses ``grade`` (nothing to do on any other step)."""
    if page.query_selector("#prompt #grade-none"):
        page.check(f"#prompt #grade-{grade}")


def log_in(page, base, role):
    page.goto(f"{base}/login")
    page.keyboard.type(USERS[role][0])
    page.keyboard.press("Tab")
    keys(page, PASSWORD)
    page.wait_for_url(lambda url: "/login" not in url)


def bar_on_screen(page) -> None:
    """The primary action and the emergency stop are inside the window, not below the fold."""
    size = page.viewport_size
    for sel in ("#actionbar #confirm", "#actionbar #stop", "#actionbar #ack-primary"):
        el = box = None
        for _ in range(3):  # no box: the screen redrew itself in place meanwhile; look again
            el = page.query_selector(sel)
            box = el.bounding_box() if el is not None else None
            if el is None or box is not None:
                break
        if el is not None:
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (sel, size, box)


def photograph(page, shots, name: str) -> None:
    for tag, size in (("bench", BENCH), ("tablet", TABLET)):
        page.set_viewport_size(size)
        bar_on_screen(page)
        page.screenshot(path=str(shots / f"{name}-{tag}.png"), timeout=SHOT_TIMEOUT_MS)
    page.set_viewport_size(BENCH)


def prepare_by_keyboard(page, base, shots=None, scenario: str | None = None) -> None:
    """From the bench page to the checklist with the keyboard only, going Back at each step."""
    page.goto(f"{base}/bench")
    keys(page, "")  # "Start a new sweat test" has the focus
    keys(page, "ST-2026-000123")
    page.wait_for_selector("text=Patient identity")
    keys(page, "MRN0012345", "2025-06-01")  # Enter after the MRN moves to the date of birth
    page.wait_for_selector("h1:text('Eligibility'), h1:text('Earlier tests')")
    page.go_back()  # Back: the identity step again, drawn fresh; confirming it again goes on
    page.wait_for_selector("h1:text('Patient identity')")
    keys(page, "MRN0012345", "2025-06-01")
    page.wait_for_selector("h1:text('Eligibility'), h1:text('Earlier tests')")
    if "Earlier tests" in page.inner_text("h1"):  # an earlier test of the module ran this accession
        page.check("input[name=repeat_of] >> nth=-1")
        page.select_option("select[name=reason]", "technical_failure")
        page.focus("button.primary")
        keys(page, "")
        page.wait_for_selector("h1:text('Eligibility')")
    keys(page, "")  # "Patient is eligible" has the focus
    page.wait_for_selector("h1:text('Method and sites')")
    if scenario:
        page.select_option("select[name=scenario]", scenario)
        page.focus("button.primary")
    keys(page, "")
    page.wait_for_selector("h1:text('Pilocarpine lot')")
    keys(page, "PG1234", "31/12/2099")  # a wrong date: the error, and the typed values kept
    assert "YYYY-MM-DD" in page.inner_text("#error") and page.input_value("input[name=lot]") == "PG1234"
    page.go_back()  # Back after an error: a page, never ERR_CACHE_MISS
    assert page.query_selector("h1") is not None and "Pilocarpine lot" in page.inner_text("h1")
    page.fill("input[name=lot]", "")
    page.fill("input[name=expires]", "")
    page.focus("input[name=lot]")
    keys(page, "PG1234", "2099-12-31")
    page.wait_for_selector("h1:text('Electrode placement')")
    if shots:
        photograph(page, shots, "01-checklist")
    for _ in range(5):  # the first box has the focus: tick it, Tab to the next
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
    page.focus("button.primary")
    keys(page, "")
    page.wait_for_selector("#run")


def prompt_id(page) -> str | None:
    el = page.query_selector("#step-form input[name=prompt]")
    return el.get_attribute("value") if el else None


def wait_for(page, predicate, timeout_s: float = 30.0) -> None:
    """Poll the page (the screen updates itself) until ``predicate`` holds; waits on the browser, in steps."""
    for _ in range(int(timeout_s / 0.05)):
        try:
            if predicate():
                return
        except playwright_api.Error:
            pass  # the screen was being drawn again
        page.wait_for_timeout(50)
    raise AssertionError("the screen did not get there")


def test_a_bilateral_run_driven_only_by_the_keyboard(station, browser, shots):
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base, shots)
    run_url = page.url
    page.go_back()  # Back during the run: the run's screen again, not a second run
    wait_for(page, lambda: page.url == run_url and page.query_selector("#run") is not None)
    seen, answered = set(), set()
    while True:
        wait_for(page, lambda: page.query_selector("#result") or (prompt_id(page) not in answered | {None}), 60)
        if page.query_selector("#result"):
            break
        pid = prompt_id(page)
        kind = page.inner_text("#prompt h1")
        if kind not in seen:
            seen.add(kind)
            photograph(page, shots, f"02-prompt-{len(seen)}")
        if page.query_selector("#amount"):
            assert page.evaluate("document.activeElement.id") == "amount"
            assert "QNS below 15 µL" in page.inner_text("#prompt") and "µL" in page.inner_text("#amount-unit")
            if "typo" not in answered:  # a wrong entry once: the error in words, the typed value kept
                answered.add("typo")
                keys(page, "35,5")
                assert "decimal point" in page.inner_text("#error") and page.input_value("#amount") == "35,5"
                assert "_" not in page.inner_text("#error")
                page.fill("#amount", "")
            keys(page, re.search(r"coil shows ([\d.]+)", page.inner_text("#prompt")).group(1))
        elif page.query_selector("#grade-none"):  # the skin: nothing chosen for the tech, the choice has the focus
            assert page.evaluate("document.activeElement.id") == "grade-none"
            assert not any(page.is_checked(f"#grade-{g}") for g in ("none", "erythema", "blister", "burn"))
            if "skin-enter" not in answered:  # a scanner's Enter on Confirm records nothing: the tech must look
                answered.add("skin-enter")
                page.focus("#actionbar #confirm")
                keys(page, "")
                assert "choose how its skin looks where the electrodes were" in page.inner_text("#error")
                assert "Check the skin" in page.inner_text("#prompt h1")
                photograph(page, shots, "02-skin-not-chosen")
            assert page.evaluate("document.activeElement.id") == "grade-none"
            page.keyboard.press("Space")  # no reaction, chosen by the tech
            page.focus("#actionbar #confirm")
            keys(page, "")
        else:
            assert page.evaluate("document.activeElement.id") == "confirm"  # Enter from a pedal confirms
            keys(page, "")
        answered.add(pid)
        if page.query_selector("#rail .railsite.st-collecting") and "collecting" not in seen:
            seen.add("collecting")
            wait_for(page, lambda: re.search(r"ends \d\d:\d\d:\d\d", page.inner_text("#rail")), 5)
            photograph(page, shots, "03-collecting")
    assert {"Read the volume"} <= {k.split(": ", 1)[-1] for k in seen}
    assert "45 mmol/L" in page.inner_text("#result") and "intermediate" in page.inner_text("#result")
    assert page.evaluate("sessionStorage.getItem('sweattestChimes')") == "2"  # one per collection, none false
    photograph(page, shots, "04-result")
    assert page.evaluate("document.activeElement.id") == "password"
    keys(page, PASSWORD)
    page.wait_for_selector("#waiting")
    page.close()


def test_an_electrode_coming_loose_alarms_until_a_second_user_acknowledges(station, browser, shots):
    station.web.bench.pace = 300.0
    base = station.url()
    tech = new_page(browser, BENCH)
    errors: list = []
    tech.on("pageerror", lambda e: errors.append(e))  # the screen's script runs without an error
    log_in(tech, base, "tech")
    prepare_by_keyboard(tech, base, scenario="open_circuit")
    run_url = tech.url
    while not tech.query_selector(".alarm"):  # confirm the left forearm's prompts until the right one's fault
        wait_for(tech, lambda: tech.query_selector(".alarm") or tech.query_selector("#actionbar #confirm"), 60)
        if tech.query_selector("#actionbar #confirm") and not tech.query_selector(".alarm"):
            skin_chosen(tech)
            tech.focus("#actionbar #confirm")
            keys(tech, "")
    wait_for(tech, lambda: tech.evaluate("window.sweattestAlarmSounding === true"))
    alarm = tech.inner_text(".alarm")
    assert "STIMULATION STOPPED" in alarm and "right forearm" in alarm and "Output is OFF" in alarm
    assert tech.evaluate("document.body.classList.contains('alarming')")  # the whole screen changes colour
    wait_for(tech, lambda: tech.query_selector("#chart-right_forearm .stopline"), 5)  # where it stopped, marked
    photograph(tech, shots, "05-alarm")
    assert errors == []
    # the reviewer, at another screen (another host name: another log-in), acknowledges it with Enter
    other = new_page(browser, TABLET)
    log_in(other, station.url("localhost"), "reviewer")
    other.goto(run_url.replace("127.0.0.1", "localhost"))
    seq = other.get_attribute("#ack-primary", "form").rsplit("-", 1)[1]
    assert other.evaluate("document.activeElement.id") == f"ack-grade-{seq}-none"  # the faulted site's skin first
    other.keyboard.press("Space")  # no reaction
    other.focus("#ack-primary")
    keys(other, "")
    assert "Acknowledged by Rita Reviewer (rev1)" in other.inner_text("#alarms")
    # pushed to the tech
    wait_for(tech, lambda: "Acknowledged by Rita Reviewer (rev1)" in tech.inner_text("#alarms"), 10)
    wait_for(tech, lambda: tech.evaluate("window.sweattestAlarmSounding === false"), 5)
    run_id = run_url.rsplit("/", 1)[1]
    [ack] = [e for e in history(station.store, run_id) if e.what == "acknowledge_alarm"]
    assert ack.who == "rev1"
    other.close()
    tech.close()


def test_session_lost_and_server_restarted_mid_collection(station, browser, shots):
    station.web.bench.pace = 60.0  # a 30-minute collection lasts 30 s: time to lose things during it
    base = station.url()
    page = new_page(browser, BENCH)
    log_in(page, base, "tech")
    prepare_by_keyboard(page, base)
    run_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#stim")
    points = "(document.querySelector('#chart .current') || {getAttribute: () => ''}).getAttribute('points') || ''"
    wait_for(page, lambda: len(page.evaluate(points).split()) > 20, 10)  # the chart fills in as readings arrive
    assert page.query_selector_all("#chart .grid text") and page.query_selector("#chart .band").get_attribute("points")
    photograph(page, shots, "06-stimulation")
    wait_for(page, lambda: prompt_id(page) is not None)
    keys(page, "")  # collector applied on the left forearm: its collection runs
    wait_for(page, lambda: page.query_selector("#rail-left_forearm.st-collecting"))
    wait_for(page, lambda: "Check the skin" in page.inner_text("#prompt h1"), 10)
    page.keyboard.press("Space")  # the skin where the electrodes were: no reaction, chosen (the focus is on it)
    page.focus("#actionbar #confirm")
    keys(page, "")
    page.context.clear_cookies()  # the session ends
    wait_for(page, lambda: page.is_visible("#conn") and "SESSION ENDED" in page.inner_text("#conn"), 5)
    photograph(page, shots, "07-session-ended")
    session = station.web.bench.session(run_id)
    wait_for(page, lambda: session.view.screen.get("name") == "apply_collector", 30)  # the run went on
    assert session.active
    login = page.context.new_page()
    log_in(login, base, "tech")  # logged in again: the screen recovers by itself
    login.close()
    wait_for(page, lambda: not page.is_visible("#conn"), 10)
    wait_for(page, lambda: prompt_id(page) is not None, 10)
    resumed = station.restart()  # the server stops and comes back while the left forearm collects
    assert run_id in resumed
    wait_for(page, lambda: not page.is_visible("#conn") and prompt_id(page) is not None, 15)
    assert "Apply the collector" in page.inner_text("#prompt h1")
    assert "collecting" in page.inner_text("#rail-left_forearm")
    page.close()
