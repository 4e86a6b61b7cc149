"""The run screen while the chloridometer's result is waited for, and a site aborted while the run goes on:
the screen says what is waited for and until when, and why the site was aborted (``sweattest.bench.station.screen``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sweattest.bench.station.screen import LiveState, analyzer_wait, screen
from sweattest.core.procedure import new_run
from sweattest.core.protocol import load_protocol


def _session(wait):
    return LiveState(active=True, wait=analyzer_wait(wait, lambda at: at.strftime("%H:%M:%S")))


def test_the_run_screen_says_what_the_analyzer_is_waited_for_until_when_and_why_a_site_was_aborted():
    run = new_run("R1", load_protocol("macroduct"), ("left_forearm", "right_forearm"))
    left, right = run.sites
    run = replace(run, sites=(replace(left, state="aborted", abort_reason="chloride analysis failed after 2 attempts "
                                      "and no result was typed from the analyzer's display: no result within 120 s."),
                              replace(right, state="collection_done")))
    since = datetime(2026, 12, 6, 10, 40, 10, tzinfo=UTC)
    wait = {"label": "sample R1-2 (right forearm)", "site": "right_forearm", "total_s": 120.0, "remaining_s": 80.0,
            "since": since}
    shown = screen(run, _session(wait))
    assert shown["name"] == "working"
    assert shown["wait"] == {"label": "sample R1-2 (right forearm)", "total_s": 120, "ends_at": "10:42:10",
                             "then": "the sample is then tried once more, and a sample the chloridometer does not "
                                     "measure is written off with the reason"}
    assert shown["aborted"] == [{"site": "left_forearm", "reason":
                                 "chloride analysis failed after 2 attempts and no result was typed from the "
                                 "analyzer's display: no result within 120 s."}]
    assert "sample R1-2 (right forearm)" in shown["key"]  # a new wait draws the screen again
    assert screen(run, _session(None))["wait"] is None
