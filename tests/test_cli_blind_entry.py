"""The double entry of a typed reading at a real terminal (tmux): neither entry is ever shown, so the second tech
reads the instrument's display, not the first value on the screen. The terminal's echo is back on afterwards."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from tests.bench.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

#: A tech at the terminal types a chloride twice through the console operator of `sweattest run`.
ENTRY = textwrap.dedent("""
    from sweattest.bench.instruments.double_entry import double_entry
    from sweattest.cli.operator import ConsoleOperator

    reading = double_entry(ConsoleOperator("tech1"), "chloride", "concentration", "chloride of sample R1-1")
    print("ACCEPTED", reading.source["entry"])
    input("echo check: ")
""")


class Terminal:
    def __init__(self, command: list[str]):
        self.name = f"blind-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", *command], check=True,
                       cwd=ROOT)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-S", "-200", "-t", self.name], capture_output=True,
                              text=True, check=True).stdout

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def wait_for(self, text: str, timeout_s: float = 30.0) -> str:
        """The screen once it shows ``text`` (the program answers in its own time: polled, never assumed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {text!r}; it shows:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_neither_entry_of_a_double_entry_is_shown_on_the_terminal():
    terminal = Terminal([sys.executable, "-c", ENTRY])
    try:
        terminal.wait_for("Type the chloride of sample R1-1 shown on the instrument, with its unit")
        terminal.type("47.5 mmol/L")
        second = terminal.wait_for("again (second entry: read the display yourself)")
        assert "47.5" not in second  # what the first tech typed is nowhere on the screen
        assert "(typed; not shown)" in second
        terminal.type("47.5 mmol/L")
        done = terminal.wait_for("echo check:")
        assert "ACCEPTED manual, entered twice" in done
        assert "47.5" not in done
        terminal.type("visible")
        assert "echo check: visible" in terminal.wait_for("echo check: visible")  # echo restored after the entries
    finally:
        terminal.close()
