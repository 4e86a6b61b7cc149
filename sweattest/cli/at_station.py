"""`sweattest run` and `sweattest resume` on the instruments of the lab configuration: the bench station's own
process performs the run (``sweattest.bench.station``, started here or already running for this store and
station, as for `sweattest serve`); this terminal follows it. It shows what the runner reports as the console
always has, asks each of the station's prompts in the console's own words (``ConsoleOperator``) and sends the
tech's answer back. If this process is killed, the station still ends the stimulation by its method and writes
every reading; `sweattest resume` follows the run again. A graceful stop here (Ctrl-C, SIGTERM, input ended)
asks the station to leave the run: a stimulation in progress is stopped by the off sequence and recorded, the
lease released. See docs/safety.md, "Processes and barriers"."""

from __future__ import annotations

import queue
import signal
from datetime import datetime
from typing import Any

import pint

from sweattest.bench.station.prompts import Prompt
from sweattest.bench.station.screen import LiveState
from sweattest.cli.console import ConsoleReporter
from sweattest.cli.operator import MAX_TRIES, ConsoleOperator
from sweattest.core.errors import ProcedureError, SweatTestError, ValidationError
from sweattest.core.procedure.core import apply
from sweattest.core.procedure.events import Event
from sweattest.record.runs import initial_run, stored_event, stored_order
from sweattest.web.station_link import NOT_ANSWERING, StationLink, begin_station

#: Wall seconds between two looks at the link while the station sends nothing.
LOOK_S = 0.5
#: Looks after a stop for the station's last reports of the run (it stops a stimulation within a second).
DRAIN_LOOKS = 20


def station_for(db: str | None, config: str | None) -> StationLink:
    """This computer's bench station for the store ``db`` (its configured instruments): the running one, or one
    started now; connected."""
    return begin_station(db, config, simulate=False, speed=1.0, told=lambda message: None).open()


class StationGone(ProcedureError):
    """The station's process went away while this terminal followed a run (``sweattest resume`` goes on)."""


class StationTerminal:
    """This terminal as a client of the bench station of the store ``db`` and lab configuration ``config``,
    following one run."""

    def __init__(self, db: str | None, config: str | None, store, reporter: ConsoleReporter,
                 operator: ConsoleOperator):
        self.link = link = station_for(db, config)
        self.store = store
        self.reporter = reporter
        self.operator = operator
        self.run_id = ""
        self._session = 0  # the station's session of the run followed here: what earlier ones pushed is not its
        self._pushed: queue.Queue[dict[str, Any]] = queue.Queue()
        link.on_run = self._pushed.put  # from now: the pushes of a run started next come before its reply
        self._run = None
        self._seen = 0
        self._silent = False  # the station's silence told here, until it answers again

    def start(self, **args: Any) -> str:
        """The run started at the station (``BenchManager.start``), followed from its first report. A stop
        (Ctrl-C, a stop signal) while the station starts it is kept until its reply, then the run is left at once
        (a current it began stopped by the off sequence): never a run going on that nobody follows."""
        stopped: list[int] = []

        def keep(signum: int, frame: Any) -> None:
            stopped.append(signum)
            print("sweattest: stopping: the run is left as soon as the bench station has answered its start",
                  flush=True)

        before = {sig: signal.signal(sig, keep) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.run_id = self.link.request("start", follow=True, **args)
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)
        if stopped:
            self.leave(_why(KeyboardInterrupt()))
            raise KeyboardInterrupt(f"signal {signal.Signals(stopped[0]).name}")
        return self.run_id

    def attach(self, run_id: str, by: str) -> None:
        """``sweattest resume``: the run goes on under ``by``, followed here (RunLeased: another live process
        performs it)."""
        self._session = self.link.request("resume", run_id=run_id, by=by, follow=True)
        self.run_id = run_id

    def follow(self) -> LiveState:
        """Until the station's session of the run ends: its reports shown, its prompts asked and answered. A
        stop here (Ctrl-C, a stop signal, an error, input ended) leaves the run at the station, safely."""
        try:
            return self._follow()
        except BaseException as exc:
            self.leave(_why(exc))
            raise

    def leave(self, reason: str) -> None:
        """The station stops the run where it is (a stimulation by the off sequence, recorded) and releases it;
        what it reports meanwhile is shown. Deaf to further stop signals until then."""
        if self.link.lost is not None and self.link.silent_since is None:
            return  # its process is gone: nothing to ask (its next start stops the outputs and resumes the run)
        before = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.link.request("leave", run_id=self.run_id, reason=reason)
            self._drain()
        except SweatTestError as exc:
            print(f"sweattest: {exc}")  # the station has gone: its next start resumes the run
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def _drain(self) -> None:
        """What the station reports until its session of the run has ended (bounded: LOOK_S a look)."""
        for _ in range(DRAIN_LOOKS):
            try:
                message = self._pushed.get(timeout=LOOK_S)
            except queue.Empty:
                continue
            if self._ours(message):
                self._show_feed(message)
                if not message["live"]["active"]:
                    return

    def _follow(self) -> LiveState:
        answered: int | None = None
        live: LiveState | None = None
        while True:
            try:
                message = self._pushed.get(timeout=LOOK_S)  # wall time: the station pushes as things happen
            except queue.Empty:
                message = None
            self._look_at_station(gone_ends=message is None)  # what was sent before it went is shown first
            if message is not None and self._ours(message):
                self._show_feed(message)
                live = LiveState.from_dict(message["live"])
                if not live.active:
                    return live
            prompt = live.prompt if live is not None else None
            if (prompt is not None and prompt.id != answered and self._pushed.empty()  # the latest state
                    and self.link.silent_since is None):
                answered = prompt.id if self._answer(prompt) else None  # not taken: asked again when it answers

    def _ours(self, message: dict[str, Any]) -> bool:
        """A push of the run followed here, by the session that performs it for this terminal: not a bench
        screen's run, nor the earlier session of a run resumed at the station that ended it (its end is not the
        resumed run's)."""
        return message["run_id"] == self.run_id and message["session"] >= self._session

    def _look_at_station(self, gone_ends: bool) -> None:
        """A station that stopped answering (stalled, hung) is told here as on the bench screens, and this
        terminal waits for it (the run is still its); once it answers again the run goes on here. A station whose
        process is gone ends the following (``sweattest resume`` follows the run again)."""
        link = self.link
        if link.silent_since is not None:
            if not self._silent:
                self._silent = True
                self.reporter.message(f"!! {NOT_ANSWERING}: {link.lost}")  # the station's words, not the inducer's
            return
        if link.lost is not None:
            if gone_ends:
                raise StationGone("the bench station's process stopped: a current it was driving is ended by the "
                                  "inducer's own watchdog (1 s without the computer); if the inducer still shows a "
                                  "current, press its stop key and remove the electrodes")
            return
        if self._silent:
            self._silent = False
            self.reporter.message("The bench station answers again: the run goes on here.")

    def _show_feed(self, message: dict[str, Any]) -> None:
        for entry in message.get("feed", []):
            self._show(entry)

    def _show(self, entry: list[Any]) -> None:
        kind, *rest = entry
        r = self.reporter
        if kind == "event":
            r.event(*self._state_at(*rest))
        elif kind == "refused":
            what, site, t, at, reason = rest
            r.refused(self._state(), Event(what, datetime.fromisoformat(at), t, site), reason)
        elif kind == "stimulation":
            r.stimulation(*rest)
        elif kind == "countdown":
            r.countdown(*rest)
        elif kind == "message":
            r.message(rest[0])
        elif kind == "alarm":
            r.alarm(*rest)
        elif kind == "tell":
            self.operator.tell(rest[0])

    def _state(self):
        if self._run is None:
            row = self.store.get_run(self.run_id)
            self._run = initial_run(row, stored_order(row))
        return self._run

    def _state_at(self, kind: str, site: str | None, t: float):
        """The run as the event ``kind`` of ``site`` left it, replayed from the store (written before it was
        reported), and that event."""
        run = self._state()
        for stored in self.store.events(self.run_id)[self._seen:]:
            self._seen += 1
            if not stored.accepted:
                continue
            event = stored_event(stored)
            run, _ = apply(run, event)
            self._run = run
            if event.kind == kind and event.site == site:
                return run, event
        return run, Event(kind, self.store.clock.utcnow(), t, site)

    def _answer(self, prompt: Prompt) -> bool:
        """The prompt asked in the console's words; the answer sent; refused answers said and asked again. False
        when the station did not answer meanwhile (stalled): the step is asked again once it does."""
        for _ in range(MAX_TRIES):
            answer = self._ask(prompt)
            try:
                self.link.request("confirm", **({"run_id": self.run_id, "prompt": prompt.id,
                                                   "by": self.operator.name} | answer))
                return True
            except ValidationError as exc:
                self.operator.tell(f"not accepted: {exc}")
            except ProcedureError as exc:
                if self.link.silent_since is None:
                    raise
                self.operator.tell(str(exc))
                return False
        raise ValidationError(f"{prompt.text}: no accepted answer after {MAX_TRIES} tries; the step is given up")

    def _ask(self, p: Prompt) -> dict[str, Any]:
        op, site = self.operator, p.site
        if p.kind == "place_on_balance":
            op.place_on_balance(site, p.purpose or "pre")
        elif p.kind == "apply_collector":
            op.apply_collector(site)
        elif p.kind == "check_skin":
            skin = op.check_skin(site)
            return {"skin": [skin.grade, skin.note]}
        elif p.kind == "read_volume":
            return {"value": _quantity(op.read_volume(site))}
        elif p.kind == "run_control":
            op.run_control(p.level or "", p.lot or "")
        elif p.kind == "load_analyzer":
            op.load_analyzer(site, p.sample_id or "")
        elif p.kind == "enter_reading":
            value, by = op.enter_reading("", p.dimension or "", p.label or "", p.entry or 1)
            return {"value": _quantity(value), "by": by}
        elif p.kind == "enter_sodium":
            value, _ = op.enter_sodium(site, p.label or "sodium")
            return {"value": None if value is None else _quantity(value)}
        elif p.kind == "device_started":
            op.confirm_device_started(site, p.text)
        elif p.kind == "device_completed":
            return {"device_error": op.confirm_device_completed(site, p.text)}
        elif p.kind == "offer_manual_entry":
            return {"write_off": not op.offer_manual_entry(site, p.said or p.text)}
        else:
            op.confirm(p.text, p.action)  # a step this terminal has no words of its own for
        return {}


def _quantity(value: pint.Quantity) -> dict[str, Any]:
    return {"magnitude": value.magnitude, "unit": str(value.units)}


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "the run was interrupted (Ctrl-C or a stop signal)"
    return f"the terminal that performed the run stopped: {exc}"


__all__ = ["StationGone", "StationTerminal", "station_for"]
