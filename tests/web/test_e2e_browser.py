"""End to end in Debian's chromium (Playwright): a bilateral Macroduct run from log-in to the final report,
and an electrode coming loose during stimulation. Screenshots go to a temp folder (printed on failure)."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from sweattest.core.clock import VirtualClock
from sweattest.record.store import open_store
from sweattest.web.app import create_app
from tests.web.conftest import CHROMIUM, PASSWORD, USERS, accounts_for_tests

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/setup-chromium")


def base_url(server) -> str:
    return f"http://127.0.0.1:{server.config.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    folder = tmp_path_factory.mktemp("e2e")
    clock = VirtualClock()
    store = open_store(str(folder / "runs.db"), clock)
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=150.0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(timeout=0.05)
    server.app_state = app.state
    yield server
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def log_in(page, base, role):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USERS[role][0])
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(lambda url: "/login" not in url)


def prepare(page, base, scenario):
    page.click("#new-test")
    page.fill("input[name=accession]", "ST-2026-000123")
    page.keyboard.press("Enter")  # a barcode scanner ends with Enter
    page.fill("input[name=mrn]", "MRN0012345")
    page.keyboard.press("Enter")  # moves to the next identifier
    page.keyboard.type("2025-06-01")
    page.keyboard.press("Enter")
    page.click("button.primary")  # eligibility: nothing applies
    page.select_option("select[name=scenario]", scenario)
    page.click("button.primary")
    page.fill("input[name=lot]", "PG1234")
    page.keyboard.press("Enter")
    page.keyboard.type("2099-12-31")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Electrode placement")


def tick_and_start(page):
    for box in page.query_selector_all("input[name=item]"):
        box.check()
    page.click("button.primary")
    page.wait_for_selector("#run")


def test_a_bilateral_macroduct_run_from_log_in_to_the_final_report(server, browser, shots):
    server.app_state.web.bench.pace = 150.0  # slow enough to watch the live chart fill in
    server = base_url(server)
    page = browser.new_page()
    log_in(page, server, "tech")
    prepare(page, server, "normal")
    page.screenshot(path=str(shots / "01-checklist.png"))
    tick_and_start(page)
    page.wait_for_selector("#stim")
    for _ in range(100):  # the live chart fills in while the current flows
        if len((page.get_attribute("#cur", "points") or "").split()) > 150:
            break
        page.wait_for_timeout(50)
    page.screenshot(path=str(shots / "02-stimulation.png"))
    seen = set()
    for _ in range(200):  # confirm each prompt until the result shows
        try:
            page.wait_for_selector("#prompt, #result", timeout=60000)
            if page.query_selector("#result"):
                break
            text = page.inner_text("#prompt")
            if page.query_selector("input[name=amount]"):
                page.fill("input[name=amount]", re.search(r"coil shows ([\d.]+)", text).group(1))
                seen.add("volume")
                page.screenshot(path=str(shots / "03-volume.png"))
            page.click("#confirm", timeout=2000)
            page.wait_for_load_state()
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    assert "volume" in seen
    assert "45 mmol/L" in page.inner_text("#result") and "intermediate" in page.inner_text("#result")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign")
    page.wait_for_selector("#waiting")
    page.screenshot(path=str(shots / "04-result.png"), full_page=True)
    run_url = page.url
    log_in(page, server, "reviewer")
    page.goto(run_url)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign")
    page.wait_for_selector("text=Result · final")
    page.screenshot(path=str(shots / "05-final.png"), full_page=True)
    with page.expect_popup() as popup:
        page.click("#report-html")
    report = popup.value
    report.wait_for_load_state()
    assert "final" in report.inner_text("body").lower() and "Doe" in report.inner_text("body")
    report.screenshot(path=str(shots / "06-report.png"), full_page=True)
    page.goto(f"{server}/qa/runs/{run_url.rsplit('/', 1)[1]}")
    assert page.query_selector_all("svg.trace polyline.current")
    page.screenshot(path=str(shots / "07-audit.png"), full_page=True)
    page.close()


def test_an_electrode_coming_loose_shows_the_alarm_and_the_aborted_site(server, browser, shots):
    server.app_state.web.bench.pace = 600.0
    server = base_url(server)
    page = browser.new_page()
    log_in(page, server, "tech")
    prepare(page, server, "open_circuit")
    tick_and_start(page)
    for _ in range(200):  # confirm the left forearm's prompts until the right forearm's fault shows
        try:
            page.wait_for_selector("#prompt, .alarm", timeout=60000)
            if page.query_selector(".alarm"):
                break
            page.click("#confirm", timeout=2000)
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    alarm = page.inner_text(".alarm")
    assert "STIMULATION STOPPED" in alarm and "right forearm" in alarm
    assert "Output is OFF" in alarm and "open circuit" in alarm
    assert "aborted" in page.inner_text("table.sites")
    page.screenshot(path=str(shots / "08-alarm.png"), full_page=True)
    page.close()
