"""What a person sees in the terminal while a run proceeds: steps, live current, countdowns."""

from __future__ import annotations

import sys
from typing import TextIO

from drivers.inducer_latch import FAULTY_ACTION
from drivers.inducer_off import DESCRIPTION as OFF_CHECK
from sweattest.bench.runner.reporting import Reporter
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState
from sweattest.core.units import format_quantity

#: Seconds of stimulation between two printed current lines when output is not a terminal.
STIM_LINE_EVERY_S = 30.0
BAR_WIDTH = 30


def clock_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def bar(fraction: float) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * BAR_WIDTH))
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"


class ConsoleReporter(Reporter):
    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self._last_stim_line: dict[str, float] = {}
        self._countdown_seen: set[tuple[str, str]] = set()
        self._last_state = None
        #: the inducer alarms raised during the run, in order (the command's exit status depends on them)
        self.alarms: list[str] = []
        self._shown: set[str] = set()

    def once(self, text: str) -> str:
        """``text`` with each off check (and the faulty inducer's action) that this screen has shown already
        replaced by a pointer to it: an unplugged inducer says what was confirmed once, not on every line."""
        def seen(match) -> str:
            found = match.group(0)
            if found in self._shown:
                return "as shown above"
            self._shown.add(found)
            return found

        text = OFF_CHECK.sub(seen, text)
        if FAULTY_ACTION in text:
            if FAULTY_ACTION in self._shown:
                text = text.replace(" " + FAULTY_ACTION, "").replace(FAULTY_ACTION, "")
            self._shown.add(FAULTY_ACTION)
        return text

    def _print(self, text: str) -> None:
        text = self.once(text)
        if self.tty:
            self.out.write("\r\033[K")
        self.out.write(text + "\n")
        self.out.flush()

    def _live(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text)
            self.out.flush()

    def event(self, run: RunState, event: Event) -> None:
        where = event.site or "run"
        detail = ""
        if event.kind == "abort":
            detail = f": {event.data.get('reason', '')}"
        elif event.kind == "finish_stimulation":
            detail = (f": delivered {format_quantity(event.data['charge'], 2)}" if "charge" in event.data
                      else ": stand-alone inducer completed (confirmed by the tech; no current trace)")
        elif event.kind == "measure_sample":
            site = run.site(event.site)
            sample = site.adequacy.sample if site.adequacy else None
            verdict = "adequate" if site.adequacy and site.adequacy.adequate else "QNS"
            detail = f": sample {format_quantity(sample)} -> {verdict}" if sample is not None else ""
        elif event.kind == "analyze":
            site = run.site(event.site)
            c = site.chloride
            detail = "" if c is None else f": chloride {c.text}{' mmol/L' if c.reportable else ''}"
            if c is not None and run.protocol.gravimetric and site.analyzer_chloride is not None:
                detail = (f": eluate {format_quantity(site.analyzer_chloride)} -> sweat chloride {c.text}"
                          f"{' mmol/L' if c.reportable else ''}")
        targets = [s for s in run.sites if event.site in (None, s.site)]
        states = ", ".join(sorted({s.state for s in targets}))
        self._print(f"[{clock_text(event.t)}] {where:<14} {event.kind:<19} -> {states}{detail}")
        if run.state != self._last_state:
            self._last_state = run.state
            self._print(f"[{clock_text(event.t)}] run is {run.state}")

    def refused(self, run: RunState, event: Event, reason: str) -> None:
        self._print(f"[{clock_text(event.t)}] REFUSED {event.kind}: {reason}")

    def stimulation(self, site, t, setpoint_ma, current_ma, voltage_v, charge_ma_min, duration_s) -> None:
        due = t - self._last_stim_line.get(site, -1e9) >= STIM_LINE_EVERY_S or t >= duration_s
        if not (due or self.tty):
            return  # called at 10 Hz: build a line only when one is shown
        elapsed = f"{clock_text(t)[3:]} of {clock_text(duration_s)[3:]}"
        line = (f"  stimulating {site:<14} {elapsed} {bar(t / duration_s)} {current_ma:5.2f} mA "
                f"(set {setpoint_ma:4.2f})  {voltage_v:5.1f} V  {charge_ma_min:5.2f} mA·min")
        if due:
            self._last_stim_line[site] = t
            self._print(line)
        else:
            self._live(line)

    def countdown(self, site, remaining_s, total_s, what: str = "collecting") -> None:
        done = 1.0 - remaining_s / total_s if total_s > 0 else 1.0
        line = f"  {what:<11} {site:<14} {bar(done)} {clock_text(remaining_s)} left"
        first = (what, site) not in self._countdown_seen
        self._countdown_seen.add((what, site))
        if self.tty and not first:
            self._live(line)
        elif first or int(round(remaining_s)) % (30 if what == "analysing" else 300) == 0:
            self._print(line)

    def message(self, text: str) -> None:
        self._print(f"  {text}")

    def alarm(self, site, text) -> None:
        self.alarms.append(text)
        rule = "!" * 78
        where = f" ({site.replace('_', ' ')})" if site else ""
        self._print(f"{rule}\n!! ALARM{where}: THE INDUCER IS NOT CONFIRMED SAFE\n!! {text}\n"
                    f"!! Switch the inducer off at its power switch NOW and remove the electrodes.\n{rule}")
