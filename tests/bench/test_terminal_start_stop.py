"""A stop signal (SIGTERM, Ctrl-C) that comes while the bench station starts a run for `sweattest run`: the
terminal does not go away leaving the run to begin its stimulation with nobody following it; it leaves the run
as soon as the station has answered (the station stops it by the off sequence and records why)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from sweattest.cli import at_station
from sweattest.cli.at_station import StationTerminal
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.operator import ConsoleOperator
from sweattest.cli.options import terminate_as_interrupt


class StartingStation:
    """The station's link: a stop signal arrives while its start is on the way."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.lost = self.silent_since = None
        self.on_run = lambda message: None

    def request(self, op: str, **args: Any) -> Any:
        self.asked.append((op, args))
        if op == "start":
            os.kill(os.getpid(), signal.SIGTERM)  # the tech's stop, while the station opens the instruments
            return "R1"
        if op == "leave":
            self.on_run({"run_id": args["run_id"], "session": 1, "live": {"active": False}, "feed": []})
        return None


@pytest.fixture
def terminal(monkeypatch):
    link = StartingStation()
    monkeypatch.setattr(at_station, "station_for", lambda db, config: link)
    before = signal.getsignal(signal.SIGTERM)
    terminate_as_interrupt()
    yield StationTerminal(None, None, None, ConsoleReporter(), ConsoleOperator("tech1")), link
    signal.signal(signal.SIGTERM, before)


def test_a_stop_signal_during_the_start_leaves_the_run_once_the_station_has_started_it(terminal, capsys):
    term, link = terminal
    with pytest.raises(KeyboardInterrupt):
        term.start(order={}, operator="tech1")
    assert [op for op, _ in link.asked] == ["start", "leave"]
    assert link.asked[1][1] == {"run_id": "R1", "reason": "the run was interrupted (Ctrl-C or a stop signal)"}
    assert "the run is left as soon as the bench station has answered its start" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN  # the command's own handler is back
