"""The bench station's process: it owns the instruments, performs the runs (``BenchManager``: the runner
threads, the stimulation loop) and writes the store, and serves the control channel the web server talks to
(``sweattest.bench.station.channel``), and the terminal of ``sweattest run`` or ``resume`` on instruments
follows. It depends on neither: if one stops, crashes or stalls, a stimulation still ends by its method (or its
off sequence on a fault) and every reading and event is still written; a web server that comes back connects
again, and ``sweattest resume`` follows a run again.

    python -m sweattest.bench.station --db URL [--config FILE] [--simulate [--speed 30]]

``sweattest serve``, ``run`` and ``resume`` start it (or connect to the one already running for their store,
station and lab configuration). It stops cleanly on SIGTERM or when the web server says so (a graceful stop of
``serve``): a stimulation in progress stops with the off sequence, leases are released; a terminal that stops
(``run`` or ``resume``) leaves its run the same way. With no run going on and nobody connected for
``IDLE_EXIT_S``, it ends by itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection, Listener
from typing import Any

from sweattest.bench.order import parse_order
from sweattest.bench.station.channel import BEAT_S, CHALLENGE_S, Channel, StationAddress, admit, error_reply
from sweattest.bench.station.manager import BenchManager, Terminal
from sweattest.core.clock import RealClock
from sweattest.core.config import load_config
from sweattest.core.errors import RunLeased, SweatTestError, ValidationError
from sweattest.core.units import Q_
from sweattest.record.repeats import RepeatOf
from sweattest.record.store.store import open_store, resolve_url

log = logging.getLogger(__name__)

#: Seconds with no run going on and nobody connected after which the station ends by itself.
IDLE_EXIT_S = 10.0
#: The exit status of a station's process that found another process of the same station (``StationAddress.hold``).
HELD_EXIT = 3
#: How often (wall seconds) the updates of the runs are sent at the latest when nothing wakes the sender.
PUSH_S = 0.25


class Station:
    """The channel's server around a ``BenchManager``."""

    def __init__(self, manager: BenchManager, address: StationAddress):
        self.manager = manager
        self.address = address
        self.clients: list[Channel] = []
        self.resumed: list[str] = []
        self.told: list[str] = []
        self.stopped = threading.Event()
        #: the runs each client follows at a terminal (``sweattest run``, ``resume``): it gets their feed too
        self.following: dict[int, set[str]] = {}
        self._lock = threading.Lock()
        self._listener: Listener | None = None
        self._key = b""

    # -- serving -------------------------------------------------------------------------------------
    def listen(self) -> None:
        """Bind the socket (mode 0600) with a fresh key; a stale socket of a dead station is replaced."""
        self._key = self.address.new_key()
        if self.address.socket.exists():
            self.address.socket.unlink()
        old = os.umask(0o177)
        try:  # no authkey here: each connection passes the challenge in its own thread (``_admit``)
            self._listener = Listener(str(self.address.socket), family="AF_UNIX")
        finally:
            os.umask(old)
        os.chmod(self.address.socket, 0o600)
        threading.Thread(target=self._accept, name="station-accept", daemon=True).start()

    def _accept(self) -> None:
        """Takes each connection at once and leaves its challenge to its own thread: a process that connects
        and stays silent holds up nobody but itself."""
        assert self._listener is not None
        while not self.stopped.is_set():
            try:
                conn = self._listener.accept()
            except OSError:  # the listener closed
                if self.stopped.is_set():
                    return
                continue
            threading.Thread(target=self._admit, args=(conn,), name="station-admit", daemon=True).start()

    def _admit(self, conn: Connection) -> None:
        """The key's challenge both ways within CHALLENGE_S, then the client is served; otherwise dropped."""
        try:
            channel = admit(conn, self._key, server=True)
        except (OSError, EOFError):
            log.warning("a connection that did not pass the key's challenge in %g s was dropped", CHALLENGE_S)
            conn.close()
            return
        except Exception:  # noqa: BLE001 - multiprocessing's AuthenticationError: a wrong key
            log.warning("a connection without the station's key was refused")
            conn.close()
            return
        with self._lock:
            self.clients.append(channel)
        self._serve(channel)

    def _serve(self, channel: Channel) -> None:
        """One client: its hello, then its requests (each in a thread: a start opens instruments) while a
        second thread pushes the runs' updates to it."""
        channel.send({"push": "hello", "pid": os.getpid(), "resumed": self.resumed, "told": self.told,
                      "left_alone": self.manager.left_alone})
        gone = threading.Event()
        threading.Thread(target=self._push, args=(channel, gone), name="station-push", daemon=True).start()
        try:
            while True:
                message = channel.receive()
                if not isinstance(message.get("id"), int) or not isinstance(message.get("args"), dict):
                    log.error("control channel: a message that is not a request was refused; the connection is "
                              "dropped")
                    break
                threading.Thread(target=self._answer, args=(channel, message), daemon=True).start()
        except (EOFError, OSError):
            pass  # gone, or a frame refused (logged by the channel): the station serves its other clients
        finally:
            gone.set()
            self.following.pop(id(channel), None)
            with self._lock:
                if channel in self.clients:
                    self.clients.remove(channel)
            channel.close()

    def _answer(self, channel: Channel, message: dict[str, Any]) -> None:
        try:
            if message["op"] == "resume":
                self._not_followed_elsewhere(channel, message["args"]["run_id"])
            ok = self.handle(message["op"], message["args"])
            if message["op"] in ("start", "resume") and message["args"].get("follow"):
                self.following.setdefault(id(channel), set()).add(message["args"].get("run_id") or ok)
            elif message["op"] == "leave":  # a terminal that left the run follows it no longer
                self.following.get(id(channel), set()).discard(message["args"]["run_id"])
            reply: dict[str, Any] = {"reply": message["id"], "ok": ok}
        except SweatTestError as exc:
            reply = {"reply": message["id"], "error": error_reply(exc)}
        except Exception as exc:  # noqa: BLE001 - told to the screen that asked; the station goes on
            log.exception("station: %s failed", message.get("op"))
            reply = {"reply": message["id"], "error": error_reply(exc)}
        try:
            channel.send(reply)
        except OSError:
            pass  # the web server went away meanwhile: what was done is in the store

    def _not_followed_elsewhere(self, channel: Channel, run_id: str) -> None:
        """A run another connected terminal follows is that terminal's: RunLeased."""
        if any(run_id in runs for client, runs in list(self.following.items()) if client != id(channel)):
            raise RunLeased(f"run {run_id} is being performed at another terminal of this station; left alone: "
                            "finish it there, or stop that command (Ctrl-C) and resume")

    def _push(self, channel: Channel, gone: threading.Event) -> None:
        """Each run's screen updates since the last sent (or its snapshot) and its live state when it changed,
        and a heartbeat when nothing else was sent for BEAT_S (the client's sign that the station answers). Each
        message names the run's session: a run resumed here after its session ended is a new session, sent from
        its snapshot and its feed's start."""
        wake = threading.Event()
        sent: dict[str, tuple[int, dict[str, Any]]] = {}
        subscribed: dict[str, Any] = {}  # the session of each run whose updates wake this sender
        fed: dict[str, int] = {}  # how much of each followed run's feed this client has
        clock = RealClock()  # the heartbeat is wall time between processes, not procedure time
        last = clock.monotonic()
        while not gone.is_set():
            following = self.following.get(id(channel), set())
            for run_id, session in list(self.manager.sessions.items()):
                if subscribed.get(run_id) is not session:
                    if run_id in subscribed:
                        subscribed[run_id].view.unsubscribe(wake.set)
                    session.view.subscribe(wake.set)
                    subscribed[run_id] = session
                    sent.pop(run_id, None)
                    fed.pop(run_id, None)
                live = session.live_state().to_dict()  # before the feed: the reports before a prompt come first
                feed, position = session.feed.since(fed.get(run_id, 0)) if run_id in following else ([], 0)
                seq, before = sent.get(run_id, (-1, None))
                if seq == session.view.seq and live == before and not feed:
                    continue
                updates = session.view.since(seq) if seq >= 0 else None
                message: dict[str, Any] = {"push": "run", "run_id": run_id, "session": session.number, "live": live}
                if run_id in following:
                    message["feed"] = feed
                    fed[run_id] = position
                if updates is None:
                    snap = session.view.snapshot()
                    message["snapshot"] = snap
                    seq = snap["seq"]
                else:
                    message["updates"] = [text for _, text in updates]
                    seq = updates[-1][0] if updates else seq
                try:
                    channel.send(message)
                except OSError:  # gone, or refused as too large: the client is dropped, and connects again
                    gone.set()
                    channel.close()
                    break
                sent[run_id] = (seq, live)
                last = clock.monotonic()
            if not gone.is_set() and clock.monotonic() - last >= BEAT_S:
                try:
                    channel.send({"push": "beat"})
                except OSError:
                    gone.set()
                last = clock.monotonic()
            wake.wait(PUSH_S)  # wall time between looks when nothing changed, not procedure time
            wake.clear()
        for session in subscribed.values():
            session.view.unsubscribe(wake.set)

    # -- the operations --------------------------------------------------------------------------------
    def handle(self, op: str, args: dict[str, Any]) -> Any:
        manager = self.manager
        if op == "start":
            order = parse_order(args["order"], manager.service.config.protocol_folder)
            repeat = RepeatOf(**args["repeat"]) if args.get("repeat") else None
            terminal = (Terminal(True, args.get("checklist"), args.get("speed"), args.get("run_id"))
                        if args.get("follow") else None)  # a terminal follows it (``sweattest run``)
            return manager.start(order, args.get("scenario"), args["operator"], args.get("station"), repeat=repeat,
                                 unverified_reason=args.get("unverified_reason"), terminal=terminal)
        if op == "resume":
            return manager.resume(args["run_id"], args["by"])
        if op == "leave":
            return manager.leave(args["run_id"], args["reason"])
        if op == "stop":
            return manager.stop(args["run_id"], args["by"], args.get("station"), name=args.get("name"))
        if op == "close":
            self.stop(args.get("reason") or "the station was shut down")
            return None
        session = manager.session(args["run_id"])
        if session is None:
            raise SweatTestError(f"run {args['run_id']} is not running at this station")
        if op == "confirm":
            _text_only(args)
            value = args.get("value")
            if isinstance(value, dict):
                value = Q_(value["magnitude"], value["unit"])
            skin = tuple(args["skin"]) if args.get("skin") else None
            session.confirm(args["prompt"], value, by=args.get("by"), device_error=args.get("device_error"),
                            station=args.get("station"), skin=skin, write_off=bool(args.get("write_off")))
        elif op == "acknowledged":
            session.acknowledged()
        elif op == "silence":
            session.silence(args["alarm"], args["text"])
        else:
            raise SweatTestError(f"the bench station does not know {op!r}")
        return None

    def stop(self, reason: str) -> None:
        """Stand down (off sequences, stops recorded, leases released) and end."""
        if self.stopped.is_set():
            return
        log.warning("station: standing down (%s)", reason)
        self.manager.close(reason)
        self.stopped.set()

    def wait(self) -> None:
        """Until told to stop, or idle with nobody connected for IDLE_EXIT_S."""
        idle = 0.0
        while not self.stopped.wait(1.0):  # wall time between looks at the station's own state
            busy = any(s.active for s in list(self.manager.sessions.values()))
            idle = 0.0 if busy or self.clients else idle + 1.0
            if idle >= IDLE_EXIT_S:
                self.stop("the station had nothing to do and no screen connected")
        if self._listener is not None:
            self._listener.close()
        try:
            self.address.socket.unlink()
        except OSError:
            pass


def _text_only(answer: Any) -> None:
    """ValidationError when an answer holds what is not text (bytes a terminal could not decode, as a scanner
    may send): refused and asked again, never written to the record half-way."""
    if isinstance(answer, dict):
        for value in answer.values():
            _text_only(value)
    elif isinstance(answer, list):
        for value in answer:
            _text_only(value)
    elif isinstance(answer, str):
        try:
            answer.encode("utf-8")
        except UnicodeEncodeError:
            shown = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in answer)
            raise ValidationError(f"{shown!r} holds characters that are not text (bytes that are not UTF-8): type it "
                                  "again") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweattest.bench.station", description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--config", default=None)
    parser.add_argument("--simulate", action="store_true")
    parser.add_argument("--speed", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s station %(name)s: %(message)s")
    config = load_config(args.config)
    clock = RealClock()
    url = resolve_url(args.db)
    address = StationAddress.of(url, args.simulate, config=args.config)
    held = address.hold()  # kept open for the process's life: a stalled station still holds it
    if held is None:
        log.error("another process of this station (process %s) exists, running, stalled or hung: this one ends "
                  "without touching the instruments or the runs", address.holder())
        return HELD_EXIT
    store = open_store(url, clock)
    manager = BenchManager(store, clock, simulate=args.simulate, pace=args.speed, config=config)
    station = Station(manager, address)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the web server decides; its Ctrl-C comes as "close"
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=station.stop, args=("the station was shut down",), daemon=True).start())
    try:
        # a crash or power cut left these unfinished; runs another live process performs are left alone
        station.resumed = manager.resume_unfinished(station.told.append)
        station.listen()
        log.info("station %d listening on %s", os.getpid(), station.address.socket)
        station.wait()
    finally:
        station.stop("the station was shut down")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
