"""The bench screens in Debian's chromium on the instruments of a lab configuration (no simulation): a
stand-alone inducer the tech starts by its own button and a manual analyzer whose results are typed twice.
Time is a virtual clock paced 600 times faster than real time, so the method's minutes pass in seconds."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from sweattest.bench.demo import DEMO_ORDER
from sweattest.core.access import AccessPolicy
from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.instruments import InstrumentConfig
from sweattest.record.calibrations import add_calibration
from sweattest.record.qc_lots import add_lot
from sweattest.record.runs import load_run
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.bench.test_run_on_instruments import CHLORIDE, Tech, short_method  # noqa: F401
from tests.web.conftest import CHROMIUM, PASSWORD, SHOT_TIMEOUT_MS, Served, accounts_for_tests
from tests.web.test_e2e_browser import BENCH, TABLET, base_url, log_in, playwright_api, skin_chosen

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/setup-chromium")

TYPED = {"normal control": "40", "abnormal control": "100", "-1 (left forearm)": "45", "-2 (right forearm)": "48"}


def serve(folder, config: LabConfig, order: dict):
    """The bench app on 127.0.0.1 for ``config``'s instruments, on a clock paced 600 times real time."""
    clock = VirtualClock(speed=600.0)
    store = open_store(str(folder / "runs.db"), clock)
    for instrument in config.instruments:  # verified: a patient run needs a calibration on record
        if instrument.serial_number:
            add_calibration(store, instrument=instrument.serial_number, role=instrument.role, kind="verification",
                            outcome="pass", performed_on=clock.utcnow().date(), interval_days=365, who="qa1")
        if instrument.role == "analyzer" and instrument.serial_number:  # the lab's control lots of this analyzer
            for level, lot, mean in (("normal", "QCN-5", 40.0), ("abnormal", "QCA-5", 100.0)):
                add_lot(store, analyzer=instrument.serial_number, level=level, lot=lot, material="control",
                        expires=date(2099, 1, 1), mean=mean, sd=2.0, provisional=False, who="qa1")
    # the run's waits move this clock 600 times faster than the tech's hands: no idle lock in between
    config = replace(config, access=AccessPolicy(idle_lock=timedelta(days=365)))
    app = create_app(store, clock, accounts_for_tests(store), simulate=False, config=config,
                     order_book={order["accession"]: order})
    served = Served(app)
    served.server.app_state = app.state
    yield served.server
    served.stop(timeout_s=10)
    store.close()


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory):
    config = LabConfig(instruments=(InstrumentConfig("inducer", "standalone", serial_number="WS-3700-17"),
                                    InstrumentConfig("analyzer", "manual", serial_number="CC3400-5")))
    yield from serve(tmp_path_factory.mktemp("bench"), config, DEMO_ORDER)


@pytest.fixture
def wired_server(tmp_path, simulators):
    """An SCPI inducer and a line analyzer, simulators in their own processes on pseudo-terminals, and the
    lab's short method from its methods folder."""
    inducer = simulators.start("inducer", "--baud", "115200", "--seed", "3")
    analyzer = simulators.start("chloridometer", "--option", "analysis=0.2s")
    methods = tmp_path / "methods"
    methods.mkdir()
    short_method(methods)
    config = LabConfig(protocol_folder=methods, instruments=(
        InstrumentConfig("inducer", "scpi", port=inducer, baudrate=115200, serial_number="000003"),
        InstrumentConfig("analyzer", "line", port=analyzer)))
    server = serve(tmp_path, config, dict(DEMO_ORDER, method="macroduct_short"))
    yield next(server), analyzer
    next(server, None)


def shown(page, selector: str, what: str, timeout_ms: float = 30000) -> None:
    """Wait for ``selector``; if it does not come, say what the screen shows instead."""
    try:
        page.wait_for_selector(selector, timeout=timeout_ms)
    except playwright_api.TimeoutError:
        raise AssertionError(f"no {what}: {page.url} shows {page.inner_text('body')[-900:]!r}") from None


def step(page, heading: str) -> None:
    shown(page, f"h1:text('{heading}')", f"{heading!r} step")


def prepare(page):
    page.click("#new-test")
    page.fill("input[name=accession]", "ST-2026-000123")
    page.keyboard.press("Enter")
    step(page, "Patient identity")
    page.fill("input[name=mrn]", "MRN0012345")  # field by field: the scanner's keyboard flow is test_e2e_browser's
    page.fill("input[name=dob]", "2025-06-01")
    page.press("input[name=dob]", "Enter")
    # each click waits for its step's page: a click before the page has loaded would answer the previous step
    step(page, "Eligibility")
    page.click("button.primary")  # eligibility: nothing applies
    step(page, "Method and sites")
    page.click("button.primary")  # method and sites as ordered
    step(page, "Pilocarpine lot")
    page.fill("input[name=lot]", "PG1234")
    page.fill("input[name=expires]", "2099-12-31")
    page.press("input[name=expires]", "Enter")
    step(page, "Electrode placement")
    for box in page.query_selector_all("input[name=item]"):
        box.check()
    reason = page.query_selector("[name=unverified_reason]")  # an instrument with no calibration on record
    if reason is not None:
        reason.fill("rehearsal on the analyzer's simulator before its verification")
    page.click("button.primary")
    shown(page, "#run, #error", "run started", timeout_ms=60000)
    assert page.query_selector("#error") is None, page.inner_text("#error")  # e.g. an instrument that did not answer


def test_a_run_on_a_standalone_inducer_and_a_manual_analyzer_through_the_bench_screens(bench_server, browser, shots):
    base = base_url(bench_server)
    page = browser.new_page()
    log_in(page, base, "tech")
    prepare(page)
    prompts: dict[str, str] = {}  # prompt id -> its heading, each prompt once however often it is drawn
    for _ in range(300):
        try:
            page.wait_for_selector("#prompt, #result", timeout=60000)
            if page.query_selector("#result"):
                break
            # everything below is scoped to the prompt read here: a click meant for a page that is being
            # replaced must not land on the next prompt's button unseen
            pid = page.get_attribute("#prompt input[name=prompt]", "value", timeout=2000)
            here = f"#prompt:has(input[name=prompt][value='{pid}'])"
            confirm = f"#run:has(#step-form input[name=prompt][value='{pid}']) #actionbar #confirm"
            heading = page.inner_text(f"{here} h1", timeout=2000)
            text = page.inner_text(f"{here} .todo", timeout=2000)
            first = not any("Start the inducer" in s for s in prompts.values())
            prompts[pid] = heading
            if "Start the inducer" in heading and first:
                page.screenshot(path=str(shots / "11-standalone-start.png"), timeout=SHOT_TIMEOUT_MS)
            if page.query_selector(f"{here} input[name=amount]"):
                value = "35" if "volume" in heading.lower() else next(v for k, v in TYPED.items() if k in text)
                page.fill(f"{here} input[name=amount]", value, timeout=2000)
                if "Enter the reading" in heading and not (shots / "13-typed-entry.png").exists():
                    page.screenshot(path=str(shots / "13-typed-entry.png"), timeout=SHOT_TIMEOUT_MS)
            skin_chosen(page)
            page.click(confirm, timeout=2000)  # the action bar's button of the prompt read here, not the next
            page.wait_for_load_state()
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    seen = list(prompts.values())
    assert "45 mmol/L" in page.inner_text("#result") and "48 mmol/L" in page.inner_text("#result")
    assert sum("Start the inducer" in s for s in seen) == 2
    assert sum("Inducer finished" in s for s in seen) == 2
    assert sum(s.startswith("Enter the reading") for s in seen) == 8  # two controls and two samples, twice each
    page.screenshot(path=str(shots / "14-result.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign")
    page.wait_for_selector("#waiting")
    store = bench_server.app_state.web.store
    [row] = store.list_runs()
    run, _ = load_run(store, row["run_id"])
    assert all(s.charge is None and s.state == "result_ready" for s in run.sites)
    left = next(e for e in store.events(row["run_id"]) if e.kind == "analyze" and e.site == "left_forearm")
    assert left.data["entries"] == [{"value": "45 mmol/L", "by": "tech1"}, {"value": "45 mmol/L", "by": "tech1"}]
    page.close()


@pytest.mark.realtime  # instruments on pseudo-terminals answer within their real-time timeouts: run alone
def test_a_run_on_an_scpi_inducer_and_a_line_analyzer_through_the_bench_screens(wired_server, browser, shots):
    server, analyzer = wired_server
    page = browser.new_page()
    log_in(page, base_url(server), "tech")
    prepare(page)
    seen: list[str] = []
    for _ in range(300):
        try:
            page.wait_for_selector("#prompt, #result", timeout=60000)
            if page.query_selector("#result"):
                break
            text = page.inner_text("#prompt .todo")
            seen.append(text)
            if page.query_selector("input[name=amount]"):
                page.fill("input[name=amount]", "35")
            # a control or a sample "loaded": the simulator is told over its line and measures it by itself
            skin_chosen(page)
            page.click("#confirm", timeout=2000)
            page.wait_for_load_state()
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    result = page.inner_text("#result")
    assert f"{CHLORIDE['1'].split()[0]} mmol/L" in result or "mmol/L" in result
    page.screenshot(path=str(shots / "15-wired-result.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
    store = server.app_state.web.store
    [row] = store.list_runs()
    run, _ = load_run(store, row["run_id"])
    assert [s.state for s in run.sites] == ["result_ready", "result_ready"]
    assert all(s.charge is not None for s in run.sites)
    assert len(store.readings(row["run_id"])) >= 2 * 890  # every reading over the serial line, both sites
    page.close()


#: The clock of the silent chloridometer below: slow while the browser is to see a wait, else instant.
SILENT_CLOCK = "web-silent-analyzer"


@pytest.fixture
def silent_analyzer_server(tmp_path):
    """A stand-alone inducer and a chloridometer on its line that never answers, in this process: the analyzer's
    waits pass on its own virtual clock (``silent_clock``), paced by the test, the run's on the server's."""
    from drivers.simulators.clocks import set_clock

    analyzer_clock = VirtualClock(speed=None)
    set_clock(analyzer_clock, SILENT_CLOCK)
    methods = tmp_path / "methods"
    methods.mkdir()
    short_method(methods)
    config = LabConfig(protocol_folder=methods, instruments=(
        InstrumentConfig("inducer", "standalone", serial_number="WS-3700-17"),
        InstrumentConfig("analyzer", "line", port=f"sim://chloridometer?fault=silent&clock={SILENT_CLOCK}")))
    server = serve(tmp_path, config, dict(DEMO_ORDER, method="macroduct_short"))
    yield next(server), analyzer_clock
    next(server, None)
    set_clock(None, SILENT_CLOCK)


def test_a_silent_chloridometer_is_waited_for_on_screen_and_the_result_on_its_display_can_be_typed_twice(
        silent_analyzer_server, browser, shots):
    """The wait is shown with the clock time it gives up; a sample the chloridometer does not measure is offered
    for typing from its display, twice, the second entry blind, before it is written off; a sample written off
    says why."""
    server, analyzer_clock = silent_analyzer_server
    page = browser.new_page()
    page.set_viewport_size(BENCH)
    log_in(page, base_url(server), "tech")
    analyzer_clock.speed = 30.0  # the control's wait lasts 4 s: the screen shows it, then the waits pass at once
    prepare(page)
    waits: list[str] = []
    offers: list[str] = []
    second_entry_seen = False
    for _ in range(300):
        try:
            page.wait_for_selector("#prompt, #analyzer-wait, #result, h1:text('Run aborted')", timeout=30000)
            if page.query_selector("#analyzer-wait"):
                waits.append(page.inner_text("#analyzer-wait"))
                if len(waits) == 1:
                    page.screenshot(path=str(shots / "16-analyzer-wait.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
                analyzer_clock.speed = None
                page.wait_for_selector("#prompt", timeout=30000)
                continue
            if page.query_selector("#result, h1:text('Run aborted')"):
                break
            pid = page.get_attribute("#prompt input[name=prompt]", "value", timeout=2000)
            here = f"#prompt:has(input[name=prompt][value='{pid}'])"
            confirm = f"#run:has(#step-form input[name=prompt][value='{pid}']) #actionbar #confirm"
            heading = page.inner_text(f"{here} h1", timeout=2000)
            if "No result from the chloridometer" in heading:
                offers.append(page.inner_text(f"{here} .todo", timeout=2000))
                if len(offers) == 1:  # the left forearm: typed from the display
                    for size, name in ((BENCH, "18-manual-entry-offer"), (TABLET, "18-manual-entry-offer-portrait")):
                        page.set_viewport_size(size)
                        page.screenshot(path=str(shots / f"{name}.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
                    page.set_viewport_size(BENCH)
                    assert page.is_visible(confirm) and page.is_visible(f"{here} #write-off")
                    page.click(confirm, timeout=2000)
                else:  # the right forearm: nothing on the display, written off
                    page.click(f"{here} #write-off", timeout=2000)
                page.wait_for_load_state()
                continue
            if page.query_selector(f"{here} input[name=amount]"):
                label = page.inner_text(f"{here} .todo", timeout=2000)
                if "Enter the reading again" in heading:  # blind: the first entry is nowhere on the screen
                    assert page.input_value(f"{here} input[name=amount]") == ""
                    assert "46 mmol/L" not in page.inner_text("body")
                    if not second_entry_seen:
                        second_entry_seen = True
                        page.screenshot(path=str(shots / "19-manual-entry-second.png"), full_page=True,
                                        timeout=SHOT_TIMEOUT_MS)
                page.fill(f"{here} input[name=amount]", "46" if "sample" in label else "35", timeout=2000)
            skin_chosen(page)
            page.click(confirm, timeout=2000)
            page.wait_for_load_state()
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    assert any("Waiting for the result of the normal control" in w for w in waits), (waits, page.inner_text("body"))
    assert re.search(r"gives up at \d\d:\d\d:\d\d", waits[0]), waits
    assert len(offers) == 2 and second_entry_seen, offers
    assert re.match(r"The chloridometer gave no usable result for sample \S+-1 \(left forearm\): chloridometer: no "
                    r"result for sample \S+-1 \(left forearm\) within 120 s\. Check that the device is switched on "
                    r"and its cable is plugged in, then retry\. If the chloridometer shows a result on its display, "
                    r"type it, twice: the second entry does not show the first", offers[0]), offers[0]
    body = page.inner_text("body")
    assert "46 mmol/L" in body
    assert ("right forearm aborted: chloride analysis failed after 2 attempts and no result was typed from the "
            "analyzer's display: chloridometer: no result for sample") in body.lower()
    page.screenshot(path=str(shots / "17-analyzer-write-off.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
    store = server.app_state.web.store
    [row] = store.list_runs()
    run, _ = load_run(store, row["run_id"])
    left, right = run.sites
    assert left.state == "result_ready" and left.analyzer_chloride.magnitude == 46
    typed = next(e for e in store.events(row["run_id"]) if e.kind == "analyze" and e.site == "left_forearm")
    assert typed.data["entry"] == "manual, entered twice"
    assert typed.data["entries"] == [{"value": "46 mmol/L", "by": "tech1"}, {"value": "46 mmol/L", "by": "tech1"}]
    assert "no result for sample" in typed.data["analyzer_failed"]
    assert right.state == "aborted" and "no result was typed from the analyzer's display" in right.abort_reason
    page.close()
