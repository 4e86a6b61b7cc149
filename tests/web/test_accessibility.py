"""WCAG 2.2 AA on every screen, in Debian's chromium at 1280x800 (desktop) and 800x1280 (tablet, portrait):
axe-core (vendored in tests/web/axe) finds no serious or critical violation, nothing scrolls sideways, every
control is at least 44x44 px, and the keyboard focus is visible. Screenshots go to a temp folder (printed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweattest.bench.demo import DEMO_ORDER, DEMO_SCENARIO
from sweattest.bench.order import parse_order
from sweattest.bench.service import perform_simulated_run
from sweattest.bench.simulation.scenario import parse_scenario
from sweattest.core.clock import VirtualClock
from tests.store.backends import START, make_run
from tests.web.conftest import CHROMIUM, PASSWORD, SHOT_TIMEOUT_MS, USERS, Served, accounts_for_tests
from tests.web.test_e2e_browser import skin_chosen

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/setup-chromium")

AXE = Path(__file__).parent / "axe" / "axe.min.js"
#: Served to the page as one of its own scripts, so the page's content security policy stays as it is.
AXE_URL = "/static/axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FOCUS_STOPS = 4
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "tablet": {"width": 800, "height": 1280}}
#: Interactive controls that must be 44x44 px (WCAG 2.5.5 AAA size, the lab's rule for gloved hands); links
#: inside a sentence or a table cell are exempt, as WCAG exempts inline targets.
CONTROLS = "button, input:not([type=hidden]), select, textarea, header a, a.button, nav a"


def _failed_pt_event(store, clock) -> None:
    """A graded PT event whose sample was never run: failed, its corrective action due (desk and /qa/pt)."""
    from sweattest.qa.pt import grade_event
    from sweattest.record import proficiency as pt

    pt.add_event(store, provider="CAP", scheme="SW", event_code="SW-A-2026", received_on="2026-11-02",
                 due_on="2026-11-30", who="rev1")
    pt.add_sample(store, event_code="SW-A-2026", sample_id="SW-01", who="rev1")
    pt.set_targets(store, sample_id="SW-01", target="40", low="35", high="45", who="rev1")
    grade_event(store, "SW-A-2026", clock, who="rev1")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app with a finished demo run (result to sign), an amended reported run and QC with violations."""
    from sweattest.record.store.store import open_store
    from sweattest.web.app import create_app

    folder = tmp_path_factory.mktemp("a11y")
    clock = VirtualClock(start=START)
    store = open_store(str(folder / "runs.db"), clock)
    accounts = accounts_for_tests(store)
    make_run(store, clock, "QA1", volumes=(5, 40))
    make_run(store, clock, "QA2", chlorides=(65, 70), qc="rejected")
    accounts.signoff.sign(store, clock, "QA1", "tech1", PASSWORD, "performed")
    accounts.signoff.sign(store, clock, "QA1", "rev1", PASSWORD, "reviewed")
    accounts.signoff.amend(store, clock, "QA1", "rev1", PASSWORD, changes={"comment": "checked"}, reason="typo")
    from sweattest.record.validations import record_validation

    record_validation(store, at=clock.utcnow(), who="rev1", version="0.1.0", outcome="PASS", report_sha256="ab" * 32,
                      report_name="sweattest-validation-2026-11-20.pdf", failed=[])
    _failed_pt_event(store, clock)
    order = parse_order(DEMO_ORDER)
    done = perform_simulated_run(order, parse_scenario(DEMO_SCENARIO, order.sites), store=store, clock=clock,
                                 out_dir=folder / "out").run.run_id
    app = create_app(store, VirtualClock(), accounts, simulate=True, pace=None)
    served = Served(app, timeout_graceful_shutdown=1)
    yield {"base": served.base, "done": done, "amended": "QA1", "app": app}
    bench = app.state.web.bench
    for session in bench.sessions.values():  # the runs left collecting after their alarm: no waiting them out
        session.runner.clock.speed = None
    bench.close()
    served.stop(timeout_s=10)
    store.close()


@pytest.fixture
def page(browser, site):
    page = browser.new_page()
    page.route(f"{site['base']}{AXE_URL}", lambda route: route.fulfill(path=str(AXE),
                                                                       content_type="text/javascript"))
    yield page
    page.close()


def inject_axe(page) -> None:
    """axe as one of the page's own scripts; a page allowing no script at all (the report, ``default-src
    'none'``) gets it evaluated through the browser's debugging protocol instead."""
    try:
        page.add_script_tag(url=AXE_URL)
    except playwright_api.Error as exc:
        if "Content Security Policy" not in str(exc):
            raise
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")


def check(page, name: str, shots: Path) -> list[str]:
    """The problems of the screen shown now (empty: none), at each window size in turn; saves a screenshot at
    each. The keyboard's first stop is where the page put the focus when it loaded, at every size."""
    page.wait_for_load_state()
    page.evaluate("window.a11yFirstFocus = document.activeElement")
    problems = []
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.evaluate("(e => e && e !== document.body ? e.focus() : document.activeElement.blur())"
                      "(window.a11yFirstFocus)")
        problems += [f"{name} ({viewport}): {problem}" for problem in check_at_size(page, name, shots, viewport)]
    return problems


def check_at_size(page, name: str, shots: Path, viewport: str) -> list[str]:
    """The problems of the screen shown now at the window's present size."""
    page.screenshot(path=str(shots / f"a11y-{viewport}-{name}.png"), full_page=True, timeout=SHOT_TIMEOUT_MS)
    problems = []
    if not page.evaluate("typeof axe !== 'undefined'"):  # loaded once per page
        inject_axe(page)
    found = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        if (r.passes.length < 5) return ["did not run its rules"];
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""", WCAG_AA)
    problems += [f"axe {v}" for v in found]
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if wide > 0:
        problems.append(f"scrolls sideways by {wide} px")
    small = page.evaluate("""(sel) => [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length)
        .map(e => [e, ((e.type === 'checkbox' || e.type === 'radio') && e.closest('label') || e)
                      .getBoundingClientRect()])
        .filter(([e, r]) => r.width < 44 || r.height < 44)
        .map(([e, r]) => `${e.tagName.toLowerCase()} ${e.name || e.id || e.textContent.trim().slice(0, 20)} `
                         + `${Math.round(r.width)}x${Math.round(r.height)}`)""", CONTROLS)
    problems += [f"target under 44x44 px: {s}" for s in small]
    controls = page.evaluate("!!document.querySelector('a[href], button, input:not([type=hidden]), select')")
    # a step's primary action has the focus when the page loads (a scanner's Enter confirms it): that is the
    # first stop; the others follow it (Shift+Tab, since the action bar is the last thing on the page)
    focused = page.evaluate("document.activeElement && document.activeElement !== document.body")
    for stop in range(FOCUS_STOPS):  # the first few keyboard stops each show where the focus is
        if stop or not focused:
            page.keyboard.press("Shift+Tab" if focused else "Tab")
        unfocused = page.evaluate("""() => { const e = document.activeElement;
            if (!e || e === document.body) return 'end';  // past the last control, or none (the report)
            const s = getComputedStyle(e);
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'
                ? '' : (e.tagName + ' ' + (e.name || e.textContent.trim().slice(0, 20))); }""")
        if unfocused == "end":
            if stop == 0 and controls:
                problems.append("the keyboard reaches no control")
            break
        if unfocused:
            problems.append(f"keyboard focus not visible on {unfocused}")
    return problems


def log_in(page, base, role):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USERS[role][0])
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(lambda url: "/login" not in url)


def tick_and_start(page):
    for box in page.query_selector_all("input[name=item]"):
        box.check()
    page.click("button.primary")
    page.wait_for_selector("#run")


def live_screens(page, visit) -> None:
    """The screens of a run under way, each checked once: stimulation, the prompts the tech confirms, and the
    alarm when the right forearm's electrode comes loose (the training scenario ``open_circuit``)."""
    seen = set()
    for _ in range(100):
        try:
            page.wait_for_selector("#stim, #prompt, .alarm", timeout=30000)
            name = ("alarm" if page.query_selector(".alarm") else "stimulation" if page.query_selector("#stim")
                    else "prompt-" + page.inner_text("#prompt h1").split()[0].lower())
            if name not in seen:
                seen.add(name)
                visit(f"run-{name}")
            if name == "alarm":
                break
            if page.query_selector("#prompt") and page.query_selector("#confirm"):
                skin_chosen(page)
                page.click("#confirm", timeout=2000)
            else:
                page.wait_for_selector("#prompt, .alarm", timeout=30000)  # stimulation: until its screen moves on
        except playwright_api.Error:
            pass  # the page reloaded itself on the next step: look again
    assert {"stimulation", "alarm"} <= seen, seen


def test_every_screen_meets_wcag_aa_without_sideways_scrolling(page, site, shots):
    base = site["base"]
    page.context.clear_cookies()
    problems = []

    def visit(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(base + path)
        for attempt in range(3):  # a bench screen may reload itself when its step changes: check it again
            try:
                problems.extend(check(page, name, shots))
                return
            except playwright_api.Error as exc:
                if "context was destroyed" not in str(exc) or attempt == 2:
                    raise

    visit("login", "/login")
    log_in(page, base, "tech")
    visit("bench", "/bench")
    for name, path in (("run-result", f"/runs/{site['done']}"), ("report", f"/runs/{site['done']}/report"),
                       ("qa-runs", "/qa/runs"), ("qa-run", f"/qa/runs/{site['done']}")):
        visit(name, path)
    page.goto(f"{base}/bench")  # a new test, step by step, as test_e2e_browser.prepare takes it
    page.click("#new-test")
    visit("step-accession")
    page.fill("input[name=accession]", "ST-2026-000123")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=mrn]")
    visit("step-identify")
    page.fill("input[name=mrn]", "MRN0012345")  # field by field: the scanner's keyboard flow is test_e2e_browser's
    page.fill("input[name=dob]", "2025-06-01")
    page.press("input[name=dob]", "Enter")
    page.wait_for_selector("#repeat-question")  # the demo run of this accession is done: is this a repeat?
    visit("step-repeat")
    page.check(f"input[name=repeat_of][value='{site['done']}']")
    page.select_option("select[name=reason]", "technical_failure")
    page.click("button.primary")
    page.wait_for_selector("h1:text('Eligibility')")
    visit("step-eligibility")
    page.click("button.primary")
    page.wait_for_selector("select[name=scenario]")
    visit("step-method")
    page.select_option("select[name=scenario]", "open_circuit")
    page.click("button.primary")
    page.wait_for_selector("input[name=lot]")
    visit("step-lot")
    page.fill("input[name=lot]", "PG1234")
    page.fill("input[name=expires]", "2099-12-31")
    page.press("input[name=expires]", "Enter")
    page.wait_for_selector("text=Electrode placement")
    visit("run-checklist")
    site["app"].state.web.bench.pace = 100.0  # 3 s of stimulation per site: time to check the screen
    tick_and_start(page)
    live_screens(page, visit)
    log_in(page, base, "reviewer")
    for name, path in (("qa-queue", "/qa/runs"), ("qa-amended", f"/qa/runs/{site['amended']}"),
                       ("qa-qc", "/qa/qc"), ("qa-qns", "/qa/qns"), ("qa-turnaround", "/qa/turnaround"),
                       ("qa-lis", "/qa/lis"), ("qa-pack", "/qa/pack"),
                       ("qa-validations", "/qa/validations"), ("qa-pt", "/qa/pt"), ("qa-records", "/qa/records"),
                       ("qa-qc-lots", "/qa/qc-lots"), ("qa-calibrations", "/qa/calibrations"),
                       ("qa-equipment", "/qa/equipment"),
                       ("patient-history", "/runs/QA1/history"),
                       ("qa-skin-reactions", "/qa/skin-reactions"), ("qa-competency", "/qa/competency")):
        visit(name, path)
    log_in(page, base, "admin")
    visit("admin-users", "/admin/users")
    assert problems == [], "\n".join(problems)
