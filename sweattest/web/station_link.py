"""The web server's side of the bench station's process (``sweattest.bench.station.process``), also the link of
the terminal that follows a run (``sweattest.cli.at_station``): it starts the station (or connects to the one
already running for this store, station and lab configuration), mirrors each run's read model for the screens,
and passes on the tech's confirmations and stops. It never performs a run. If the channel
drops, every run's screen says so at once (an alarm: the inducer's own watchdog ends a current the station
was driving); the link connects again, and starts the station again where it has gone (its start runs the
off sequence and resumes the runs). If the station says nothing for SILENT_S (stalled or hung: it beats every
BEAT_S), every run's screen alarms that it is not answering and what to do, and requests end with an error at
once; the alarm clears when it answers again. A station's process that still exists, answering or not, is
never started a second time."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pint

from sweattest.bench.live_view import RunView
from sweattest.bench.order import Order
from sweattest.bench.station.channel import SILENT_S, Channel, FrameRefused, StationAddress, connect, raise_reply
from sweattest.bench.station.prompts import Prompt
from sweattest.bench.station.screen import LiveState
from sweattest.core.clock import Clock, RealClock
from sweattest.core.errors import ProcedureError
from sweattest.record.repeats import RepeatOf
from sweattest.record.store.store import resolve_url

log = logging.getLogger(__name__)

#: Seconds a start waits for the reply of a station that answers (it opens and identifies the instruments).
REPLY_S = 60.0
#: Seconds every other request waits for the reply of a station that answers (an emergency stop returns once the
#: loop has stopped, within about 2.5 s; a confirmation at once): a station that beats but does not act (hung
#: in a lock) cannot hold a screen. A station that stops answering ends every wait within SILENT_S.
ANSWER_S = 5.0
#: Seconds the station's process is given to be there (it imports, resumes runs, then listens).
START_S = 60.0
#: Wall seconds between attempts to reach the station again.
RETRY_S = 0.25
#: The heading of the screens' alarm while the station's process is gone, and while it does not answer.
STOPPED = "BENCH STATION STOPPED"
NOT_ANSWERING = "BENCH STATION NOT ANSWERING"


class MirrorView(RunView):
    """A run's read model in the web server, kept as the station's: its snapshot, then each update. It numbers
    the updates itself, so an open screen's place in them survives the station's restart."""

    def __init__(self, run_id: str):
        super().__init__(run_id)
        self._part: dict[str, Any] = {"key": "", "screen": "", "sites": [], "alarms": [], "notice": None}
        self._stim_site: str | None = None
        #: the station's alarm while it cannot be reached or does not answer (None: it does)
        self._station: dict[str, str] | None = None

    def _screen_part(self) -> dict[str, Any]:
        """The station's screen, or while it cannot be reached the run interrupted with the station's alarm."""
        part, alarm = self._part, self._station
        if alarm is None:
            return dict(part)
        return part | {"screen": "interrupted", "key": f"{part['key']}|station-{alarm['title']}",
                       "alarms": [a for a in part["alarms"] if a["id"] != "station"] + [alarm]}

    def key(self) -> str:
        return self._screen_part()["key"]

    def alarm_list(self) -> list[dict[str, str]]:
        return list(self._screen_part()["alarms"])

    def _stim_part(self) -> dict[str, Any] | None:
        if self._part["screen"] != "stimulation" or self._stim_site not in self.stimulating:
            return None
        return {"site": self._stim_site, **self.stimulating[self._stim_site]}

    def load(self, snap: dict[str, Any]) -> None:
        """The station's snapshot: every open screen starts again from it."""
        with self._lock:
            self.seq += 1
            self._backlog.clear()
            self.target_ma = snap.get("target_ma")
            self.trace = {site: [tuple(p) for p in points] for site, points in snap["trace"].items()}
            stim = snap.get("stim")
            self._stim_site = stim["site"] if stim else None
            self.stimulating = {stim["site"]: {k: v for k, v in stim.items() if k != "site"}} if stim else {}
            self.timers = snap["timers"]
            self._part = {k: snap.get(k) for k in ("key", "screen", "sites", "alarms", "notice")}
            self._station = None  # a snapshot comes from a station that answers
            wake = list(self._subscribers)
        for w in wake:
            try:
                w()
            except RuntimeError:
                self.unsubscribe(w)

    def apply(self, text: str) -> None:
        """One update of the station's view."""
        message = json.loads(text)
        kind = message.pop("type")
        message.pop("seq", None)
        if kind == "stim":
            site = message["site"]
            values = {k: v for k, v in message.items() if k not in ("site", "points")}
            trace = self.trace.setdefault(site, [])
            for point in message.get("points", []):  # those taken before the snapshot are in it already
                if not trace or point[0] > trace[-1][0]:
                    trace.append(tuple(point))
            self.stimulating[site] = values
            self._stim_site = site
        elif kind == "timers":
            self.timers = message["timers"]
        elif kind == "screen":
            self._part = message
        self.publish(kind, **message)

    def lost(self, why: str, title: str = STOPPED) -> None:
        """The station's process is gone, or does not answer: the screens say so, as an alarm (``title``)."""
        self._station = {"id": "station", "level": "inducer", "title": title, "text": why}
        self.publish("screen", **self._screen_part())

    def answering(self) -> None:
        """The station answers again: the screens show its screen of the run again."""
        if self._station is not None:
            self._station = None
            self.publish("screen", **self._screen_part())


class RemoteSession:
    """A run the station performs, as the web server sees it: the mirrored read model and the live state."""

    def __init__(self, link: StationLink, run_id: str):
        self.link = link
        self.run_id = run_id
        self.view = MirrorView(run_id)
        self._live = LiveState()

    def update(self, live: dict[str, Any]) -> None:
        self._live = LiveState.from_dict(live)
        self.view.timing_alarms = self._live.timing_alarms  # the key of a screen drawn here (``key_for``)
        self.view.acks = self._live.acks

    def live_state(self) -> LiveState:
        return self._live if self.link.lost is None else self._live.lost(self.link.lost)

    @property
    def active(self) -> bool:
        return self.live_state().active

    @property
    def prompt(self) -> Prompt | None:
        return self.live_state().prompt

    def confirm(self, prompt_id: int, value: str | pint.Quantity | None = None, **answer: Any) -> None:
        if isinstance(value, pint.Quantity):
            value = {"magnitude": value.magnitude, "unit": str(value.units)}
        skin = answer.pop("skin", None)
        self.link.request("confirm", run_id=self.run_id, prompt=prompt_id, value=value,
                          skin=list(skin) if skin else None, **answer)

    def acknowledged(self) -> None:
        self.link.request("acknowledged", run_id=self.run_id)

    def silence(self, alarm: str, acknowledged: str) -> None:
        self.link.request("silence", run_id=self.run_id, alarm=alarm, text=acknowledged)


class StationLink:
    """The station's runs for the web server, through the station's channel (the same operations as the
    in-process ``BenchManager``). ``spawn``: starts the station's process (``sweattest serve``); without it the
    link only connects to a running one."""

    def __init__(self, address: StationAddress, spawn: Callable[[], subprocess.Popen] | None = None,
                 told: Callable[[str], None] = print, clock: Clock | None = None, silent_s: float = SILENT_S):
        self.address = address
        self.spawn = spawn
        self.told = told
        self.clock = clock or RealClock()  # wall time between processes (tests: a virtual one)
        self.silent_s = silent_s
        self.sessions: dict[str, RemoteSession] = {}
        self.left_alone: dict[str, str] = {}
        #: why the station cannot be reached now (None: connected)
        self.lost: str | None = "the bench station is starting"
        self.process: subprocess.Popen | None = None
        self.resumed: list[str] = []
        self.pid: int | None = None  # the station's process
        self._channel: Channel | None = None
        self._replies: dict[int, tuple[threading.Event, list]] = {}
        self._ids = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connected = threading.Event()
        #: called with each of the station's run messages (a terminal that follows a run reads its feed)
        self.on_run: Callable[[dict[str, Any]], None] = lambda message: None
        self._heard = 0.0  # the clock's monotonic seconds when the station last said anything
        self._heard_at = ""  # ... and that time of day
        #: the time of day since which the connected station has not answered (None: it answers)
        self.silent_since: str | None = None
        self._silence = threading.Lock()  # silence and answer are told in the order they happened
        self._watching = False

    # -- connection ----------------------------------------------------------------------------------
    def begin(self) -> StationLink:
        """Connect to this station's process, or start it (``open`` then waits for it)."""
        if self._channel is None and not self._try_connect():
            self._start_process()
        return self

    def open(self, timeout_s: float = START_S) -> StationLink:
        """Connect to this station's process, starting it if it is not running; returns once connected."""
        if self._channel is None and not self._try_connect():
            if self.process is None:
                self._start_process()
            clock = RealClock()  # attempts themselves take time (a silent peer up to its challenge's limit)
            began = clock.monotonic()
            while not self._try_connect():
                waited = clock.monotonic() - began
                if self.process is not None and self.process.poll() is not None:
                    raise ProcedureError(f"the bench station did not start (exit status {self.process.returncode});"
                                         f" see {self.address.log}")
                if waited >= timeout_s:
                    holder = self.address.holder()
                    if holder is not None and (self.process is None or self.process.pid != holder):
                        raise ProcedureError(
                            f"the bench station's process {holder} exists but did not answer within {timeout_s:g} s "
                            "(stalled or hung): no second station is started beside it. If a run is going on, press "
                            "the inducer's stop key and remove the electrodes; then end that process (kill "
                            f"{holder}) and start again. See {self.address.log}")
                    raise ProcedureError(f"the bench station did not answer within {timeout_s:g} s; see "
                                         f"{self.address.log}")
                self._closing.wait(RETRY_S)  # wall time while the station's process starts
        return self

    def _start_process(self) -> None:
        """Starts the station's process, unless one of this station exists (running, stalled or hung: it holds
        the station's lock): never two."""
        if self.spawn is not None and self.address.holder() is None:
            self.process = self.spawn()

    def _try_connect(self) -> bool:
        try:  # bounded: a stalled station or a silent socket at its path does not hold the web server
            channel, hello = connect(self.address.socket, self.address.key())
        except (OSError, EOFError):
            return False
        except Exception:  # noqa: BLE001 - multiprocessing's AuthenticationError: a key of another start
            return False
        self._heard, self._heard_at = self.clock.monotonic(), _time_of_day(self.clock)
        self.silent_since = None
        self._channel = channel
        self.left_alone = dict(hello.get("left_alone", {}))
        for message in hello.get("told", []):
            self.told(message)
        if hello.get("resumed") and not self.resumed:
            self.resumed = list(hello["resumed"])
        self.lost = None
        self.pid = hello.get("pid")
        self._connected.set()
        threading.Thread(target=self._read, args=(channel,), name="station-link", daemon=True).start()
        if not self._watching:
            self._watching = True
            threading.Thread(target=self._watch, name="station-watch", daemon=True).start()
        log.info("connected to the bench station (process %s)", hello.get("pid"))
        return True

    def _read(self, channel: Channel) -> None:
        try:
            while True:
                message = channel.receive()
                with self._silence:
                    self._heard, self._heard_at = self.clock.monotonic(), _time_of_day(self.clock)
                    if self.silent_since is not None:
                        self._answering()
                self._dispatch(message)
        except (EOFError, OSError):
            pass  # gone, or a frame refused (logged by the channel): connected again
        self._dropped()

    def _watch(self) -> None:
        """Every run's screens alarm once the connected station has said nothing for ``silent_s``."""
        while not self._closing.wait(min(0.1, self.silent_s / 10)):  # wall time between looks
            channel = self._channel
            with self._silence:
                if (channel is not None and self.silent_since is None
                        and self.clock.monotonic() - self._heard > self.silent_s
                        and not channel.waiting()):  # this process was slow to read, not the station to speak
                    self._not_answering()

    def _not_answering(self) -> None:
        """The station is connected but silent (stalled: SIGSTOP, an overloaded computer; or hung): the screens
        say so and what to do; the requests waiting for it end now. Its process still exists: nothing is started
        in its place."""
        self.silent_since = self._heard_at
        self.lost = (f"The bench station (process {self.pid}) has not answered since {self.silent_since}: it is "
                     "stalled or hung. A current it was driving is ended by the inducer's own watchdog (1 s without "
                     "the computer); if the inducer still shows a current, press the inducer's stop key and remove "
                     "the electrodes. Do not start another station: this screen goes on by itself when the station "
                     "answers again.")
        log.critical("the bench station does not answer: %s", self.lost)
        self._end_waits()
        for session in list(self.sessions.values()):
            if session._live.active:
                session.view.lost(self.lost, NOT_ANSWERING)

    def _answering(self) -> None:
        log.warning("the bench station answers again (silent since %s)", self.silent_since)
        self.told(f"the bench station answers again (it was silent since {self.silent_since})")
        self.silent_since = None
        self.lost = None
        for session in list(self.sessions.values()):
            session.view.answering()

    def _end_waits(self) -> None:
        """No reply will come to the requests waiting now: each ends with its error."""
        with self._lock:
            waiting, self._replies = self._replies, {}
        for event, _ in waiting.values():
            event.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "reply" in message:
            with self._lock:
                waiting = self._replies.pop(message["reply"], None)
            if waiting is not None:
                waiting[1].append(message)
                waiting[0].set()
            return
        if message.get("push") == "run":
            session = self.sessions.get(message["run_id"])
            if session is None:
                session = self.sessions.setdefault(message["run_id"], RemoteSession(self, message["run_id"]))
            session.update(message["live"])
            if "snapshot" in message:
                session.view.load(message["snapshot"])
            for text in message.get("updates", []):
                session.view.apply(text)
            self.on_run(message)

    def _dropped(self) -> None:
        """The channel is gone: every screen says so at once; the station is reached again, or started again."""
        self._connected.clear()
        self._channel = None
        self.silent_since = None
        self._end_waits()
        if self._closing.is_set():
            return
        self.lost = (f"The bench station's process stopped at {_time_of_day(self.clock)}: a current it was driving "
                     "is ended by the inducer's own watchdog (1 s without the computer). The station is being "
                     "started again: its start switches every output off, confirms it and resumes the run here.")
        log.critical("the bench station's process cannot be reached: %s", self.lost)
        for session in list(self.sessions.values()):
            if session._live.active:  # a finished run's screens have nothing to fear
                session.view.lost(self.lost)
        threading.Thread(target=self._reconnect, name="station-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        while not self._closing.is_set():
            if self._try_connect():
                self.told("the bench station is reached again")
                return
            if (self.spawn is not None and (self.process is None or self.process.poll() is not None)
                    and self.address.holder() is None):  # never beside a station's process that still exists
                if self.process is not None:
                    self.told(f"the bench station's process ended (status {self.process.returncode}): started again")
                self._start_process()
            self._closing.wait(RETRY_S)  # wall time between attempts

    # -- requests ------------------------------------------------------------------------------------
    def request(self, op: str, **args: Any) -> Any:
        """The station's answer to ``op``; ProcedureError at once when it cannot be reached or does not answer
        (within ``silent_s`` of its last word when it stops answering meanwhile)."""
        channel = self._channel
        if channel is None:
            raise ProcedureError(f"the bench station cannot be reached now ({self.lost}); try again in a moment")
        if self.silent_since is not None:
            raise ProcedureError(self._silent_error(op, sent=False))
        with self._lock:
            self._ids += 1
            ident = self._ids
            done: tuple[threading.Event, list] = (threading.Event(), [])
            self._replies[ident] = done
        try:
            channel.send({"id": ident, "op": op, "args": args})
        except FrameRefused as exc:
            with self._lock:
                self._replies.pop(ident, None)
            raise ProcedureError(f"the bench station was not asked: {exc}") from exc
        except OSError:
            pass  # the reader finds the channel gone and ends the wait
        bound = REPLY_S if op == "start" else ANSWER_S
        began = self.clock.monotonic()
        while not done[0].wait(0.05):  # wall time between looks at the link's clock
            if self.clock.monotonic() - began >= bound:
                with self._lock:
                    self._replies.pop(ident, None)
                break
        if not done[1]:
            if self.silent_since is not None:
                raise ProcedureError(self._silent_error(op, sent=True))
            if op == "stop":
                raise ProcedureError(f"EMERGENCY STOP NOT CONFIRMED: the bench station did not confirm it within "
                                     f"{bound:g} s. Press the inducer's stop key and remove the electrodes; the "
                                     "screen shows where the run is now.")
            raise ProcedureError(f"the bench station did not answer within {bound:g} s; the screen shows where the "
                                 "run is now")
        reply = done[1][0]
        if "error" in reply:
            raise_reply(reply["error"])
        return reply.get("ok")

    def _silent_error(self, op: str, sent: bool) -> str:
        """What the screen says of a request the station does not answer: not sent (it was silent already), or
        sent and not confirmed (it may still act on it if it answers again)."""
        since = f"the bench station has not answered since {self.silent_since} (stalled or hung)"
        if op == "stop":
            return (f"EMERGENCY STOP {'NOT CONFIRMED' if sent else 'NOT SENT'}: {since}. Press the inducer's stop key "
                    "and remove the electrodes; the inducer's own watchdog ends a current the station was driving.")
        if sent:
            return (f"Not confirmed: {since}. If it answers again it may still do it; the screen then shows where "
                    "the run is.")
        return f"Not done: {since}. The screen says what to do; try again once the station answers."

    # -- what the screens use (as ``BenchManager``) ----------------------------------------------------
    def session(self, run_id: str) -> RemoteSession | None:
        return self.sessions.get(run_id)

    def start(self, order: Order, scenario_doc: dict[str, Any] | None, operator_name: str,
              station: str | None = None, repeat: RepeatOf | None = None, unverified_reason: str | None = None) -> str:
        run_id = self.request("start", order=order.as_dict(), scenario=scenario_doc, operator=operator_name,
                              station=station, repeat=asdict(repeat) if repeat is not None else None,
                              unverified_reason=unverified_reason)
        self._wait_for(run_id)
        return run_id

    def _wait_for(self, run_id: str) -> None:
        """Until the run's first updates have come (its screen can be drawn)."""
        for _ in range(int(5.0 / 0.02)):
            if run_id in self.sessions:
                return
            self._closing.wait(0.02)  # the station pushes the new run's snapshot right after its reply

    def stop(self, run_id: str, by: str, station: str | None = None, name: str | None = None) -> None:
        self.request("stop", run_id=run_id, by=by, station=station, name=name)

    def resume_unfinished(self, left_alone: Callable[[str], None] = log.warning) -> list[str]:
        """The runs the station resumed when it started (it does it itself)."""
        return list(self.resumed)

    def close(self, reason: str = "the station was shut down") -> None:
        """A graceful stop of the web server: the station stands down (stimulations stopped by the off
        sequence, recorded, leases released) and ends."""
        if not self._closing.is_set():
            self._closing.set()
            if self._channel is not None:
                try:
                    self.request("close", reason=reason)
                except ProcedureError:
                    pass  # gone meanwhile: its next start does the rest
            elif self.process is not None and self.process.poll() is None:
                self.process.terminate()  # not connected yet: its SIGTERM handler stands it down
        if self.process is not None:  # (asked again after a second Ctrl-C: waits all the same)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.terminate()

    def detach(self) -> None:
        """Let go of the channel without stopping the station (tests: a web server that just goes away)."""
        self._closing.set()
        if self._channel is not None:
            self._channel.close()


def _time_of_day(clock: Clock) -> str:
    return f"{clock.utcnow().astimezone():%H:%M:%S}"


def station_command(db_url: str, config: str | None, simulate: bool, speed: float) -> list[str]:
    """The command that starts this station's process."""
    return [sys.executable, "-m", "sweattest.bench.station", "--db", db_url,
            *(["--config", str(config)] if config else []),
            *(["--simulate", "--speed", str(speed)] if simulate else [])]


def spawner(address: StationAddress, command: list[str]) -> Callable[[], subprocess.Popen]:
    """Starts the station's process on its own (its own session: a Ctrl-C at the web server's terminal is the
    web server's to pass on), its output to the station's log."""

    def spawn() -> subprocess.Popen:
        fd = os.open(address.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # run ids, accessions
        with os.fdopen(fd, "ab") as out:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    return spawn


def begin_station(db: str | None, config: str | None, simulate: bool, speed: float,
                  told: Callable[[str], None] = print) -> StationLink:
    """The link to this computer's station for store ``db``: connected to its running process, or to one
    started now (``sweattest serve``); ``open()`` it to wait until it answers."""
    url = resolve_url(db)
    address = StationAddress.of(url, simulate, config=config)
    return StationLink(address, spawner(address, station_command(url, config, simulate, speed)), told=told).begin()


__all__ = ["MirrorView", "RemoteSession", "StationLink", "begin_station", "spawner", "station_command"]
