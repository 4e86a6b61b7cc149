"""In Debian's chromium: a real `sweattest serve` stopped by SIGTERM in the middle of a collection, started
again on the same store and port. The tech's screen reconnects by itself, says what happened and when, shows
the collection's timer going on from its recorded start, and the run is finished on the bench screens, by
keyboard, to its result. No command line in between."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.serving import Serve, add_users, end_all, free_port
from tests.web.conftest import CHROMIUM
from tests.web.test_e2e_browser import (
    BENCH,
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


def test_the_tech_finishes_on_the_bench_screen_a_run_whose_server_was_stopped_mid_collection(tmp_path, browser,
                                                                                            shots):
    db = str(tmp_path / "runs.db")
    add_users(db)
    port = free_port()
    servers = [Serve(db, port, speed=30.0)]  # a 30-minute collection lasts a minute: the stop comes in it
    try:
        base = servers[0].base
        page = new_page(browser, BENCH)
        log_in(page, base, "tech")
        prepare_by_keyboard(page, base)
        run_id = page.url.rsplit("/", 1)[1]
        wait_for(page, lambda: "Apply the collector" in page.inner_text("#prompt h1"), 60)
        keys(page, "")  # collector applied on the left forearm: its collection runs
        wait_for(page, lambda: page.query_selector("#rail-left_forearm.st-collecting"), 30)
        wait_for(page, lambda: "Check the skin" in page.inner_text("#prompt h1"), 30)
        assert servers[0].stop(signal.SIGTERM) == 0
        wait_for(page, lambda: page.is_visible("#conn"), 30)  # the screen says the connection is lost
        servers.append(Serve(db, port, speed=60.0))
        # the screen comes back by itself: the notice, the skin check asked again, the timer going on
        wait_for(page, lambda: not page.is_visible("#conn") and page.query_selector("#resumed"), 60)
        notice = page.inner_text("#resumed")
        assert re.match(r"This station was shut down at \d\d:\d\d:\d\d and started again at \d\d:\d\d:\d\d", notice)
        assert "Left forearm: collecting since" in notice
        wait_for(page, lambda: "Check the skin" in page.inner_text("#prompt h1"), 30)
        wait_for(page, lambda: re.search(r"ends \d\d:\d\d:\d\d", page.inner_text("#rail-left_forearm")), 30)
        photograph(page, shots, "08-resumed-after-restart")
        answered: set[str | None] = {None}
        while not page.query_selector("#result"):
            wait_for(page, lambda: page.query_selector("#result") or prompt_id(page) not in answered, 120)
            if page.query_selector("#result"):
                break
            pid = prompt_id(page)
            if page.query_selector("#amount"):
                keys(page, re.search(r"coil shows ([\d.]+)", page.inner_text("#prompt")).group(1))
            else:
                skin_chosen(page)
                page.focus("#actionbar #confirm")
                keys(page, "")
            answered.add(pid)
        assert "mmol/L" in page.inner_text("#result")
        assert run_id in page.url
        page.close()
    finally:
        end_all(servers)
