"""Run leases: a live run is performed by one process only (DESIGN principle 12).

The process that creates or resumes a run leases it in the store: its holder name (``host:pid:token:boot.start``,
sweattest/record/holder.py) and an expiry time on the store's clock (``Store.lease_now``: PostgreSQL's own clock,
so that stations whose clocks differ agree on when a lease runs out). The owner renews the lease while it works (the
runner's loop, its timers and the stimulation progress) at most once per second and at least every third of the
time to live; it releases the lease when the run is done or the process stops cleanly. A lease not renewed for its
time to live has expired: the process is taken for dead, and ``sweattest resume`` or a starting ``sweattest serve``
may take the run over. A lease whose holder is a process of this computer that no longer runs (killed, crashed, or
the computer restarted since) is taken over at once. A run whose lease is live is left alone, and the message says
who holds it and until when.

Time to live: 15 s; ``$SWEATTEST_LEASE_TTL`` (seconds, 3 or more: a lease renewed at most once a second must
outlive three renewals, or it runs out between them and another process could take a live run over) sets another.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta

from sweattest.core.errors import ConfigError, RunLeased, RunTakenOver, ValidationError
from sweattest.record.holder import is_gone, own_name, parse, this_host, this_station

TTL_ENV = "SWEATTEST_LEASE_TTL"
DEFAULT_TTL_S = 15.0
#: Renewals are at least this many seconds apart (the 10 Hz stimulation loop renews through this).
MIN_RENEW_GAP_S = 1.0
#: The shortest time to live: three renewal gaps.
MIN_TTL_S = 3 * MIN_RENEW_GAP_S

_owner: tuple[int, str] | None = None


def lease_ttl(environ: dict[str, str] | None = None) -> float:
    """The lease time to live in seconds: ``$SWEATTEST_LEASE_TTL``, else 15."""
    text = (os.environ if environ is None else environ).get(TTL_ENV, "").strip()
    if not text:
        return DEFAULT_TTL_S
    try:
        ttl = float(text)
    except ValueError:
        ttl = float("nan")
    if not ttl >= MIN_TTL_S or ttl == float("inf"):
        raise ConfigError(f"{TTL_ENV}={text!r}: give the run lease time to live in seconds, {MIN_TTL_S:g} or more "
                          f"(default {DEFAULT_TTL_S:g}), or unset it")
    return ttl


def process_owner() -> str:
    """This process's holder name, ``host:pid:token:boot.start`` (a new one in a forked child)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, own_name(pid, secrets.token_hex(4)))
    return _owner[1]


def held_by(run_id: str, owner: str, until: datetime) -> str:
    """'run R is being performed by host:pid (lease until 12:00:05 UTC)'."""
    return f"run {run_id} is being performed by {parse(owner).name} (lease until {until:%H:%M:%S} UTC)"


def left_alone(run_id: str, owner: str, until: datetime) -> str:
    """Why a run is left alone, and what the tech can do about it, by where its holder runs."""
    holder = parse(owner)
    if holder.host == this_host():
        return (f"{held_by(run_id, owner, until)}; left alone: process {holder.pid} on this computer is still "
                "running it. Finish the run on that process's screen, or stop that process (Ctrl-C) and resume")
    return (f"{held_by(run_id, owner, until)}; left alone: another computer ({holder.host}) holds it. If that "
            f"station has stopped, resume the run after {until:%H:%M:%S} UTC, when its lease runs out")


class Lease:
    """The lease of one run by this process. ``renew`` may be called as often as wanted: it writes at most
    once per second. Times come from ``store.clock``."""

    def __init__(self, store, run_id: str, *, owner: str | None = None, ttl_s: float | None = None,
                 station: str | None = None):
        self.store = store
        self.run_id = run_id
        self.owner = owner or process_owner()
        #: the bench station this process is (``holder.this_station``): recorded on the run when it is taken
        self.station = station or this_station()
        self.ttl_s = lease_ttl() if ttl_s is None else ttl_s
        self._renewed: float | None = None
        #: how the lease was found when taken: "new", "free" (released, or never taken), "ran out" (its time to
        #: live passed), or "taken over from host:pid" (a process of this computer found gone)
        self.found = "new"

    def _until(self, now: datetime | None = None) -> datetime:
        self._renewed = self.store.clock.monotonic()
        return (now or self.store.lease_now()) + timedelta(seconds=self.ttl_s)

    def for_new_run(self) -> tuple[str, datetime]:
        """(owner, until) for ``Store.create_run``: the run is created leased."""
        return self.owner, self._until()

    def acquire(self) -> Lease:
        """Take the run's lease, or raise ``RunLeased`` naming the live process that holds it."""
        now = self.store.lease_now()
        before = self.store.get_run(self.run_id)
        if self.store.take_lease(self.run_id, self.owner, self._until(now), now, station=self.station):
            if before is not None and (before["lease_owner"] is None or before["lease_until"] is None):
                self.found = "free"  # released, or a holder with no time (nothing to wait for)
            elif before is not None and before["lease_owner"] != self.owner:
                self.found = "ran out"
            return self
        row = self.store.get_run(self.run_id)
        if row is None:
            raise ValidationError(f"no run {self.run_id!r} in the store; `sweattest qa runs` lists the runs")
        owner = row["lease_owner"]
        if owner is None or row["lease_until"] is None or row["lease_until"] <= now:  # released or ran out meanwhile
            return self.acquire()
        renewed = row["lease_until"] - timedelta(seconds=self.ttl_s)  # on this station's time to live
        if is_gone(owner, renewed):  # a process of this computer that no longer runs: taken over at once
            if self.store.take_lease(self.run_id, self.owner, self._until(now), now, replacing=owner,
                                     station=self.station):
                self.found = f"taken over from {parse(owner).name}"
                return self
            return self.acquire()  # another process took it first, or it changed meanwhile
        raise RunLeased(left_alone(self.run_id, owner, row["lease_until"]), state=row["state"])

    def renew(self) -> None:
        """Extend the lease (at most once per second; at least every third of the time to live when called
        that often). Raises ``RunTakenOver`` if another process holds it now."""
        if self._renewed is not None and \
                self.store.clock.monotonic() - self._renewed < max(MIN_RENEW_GAP_S, self.ttl_s / 3):
            return
        now = self.store.lease_now()
        if not self.store.take_lease(self.run_id, self.owner, self._until(now), now, renewing=True):
            raise RunTakenOver(f"run {self.run_id} was taken over by another process; this station stops "
                               "working on it (outputs off) and records nothing more")

    def release(self) -> None:
        """Give the lease up (the run is done or this process stops); harmless if another holds it now."""
        self.store.release_lease(self.run_id, self.owner)


class NoLease:
    """For a runner outside a lease (tests of the runner alone): renewing and releasing do nothing."""

    owner: str | None = None

    def renew(self) -> None:
        pass

    def release(self) -> None:
        pass


def acquire(store, run_id: str) -> Lease:
    """This process's lease of ``run_id``, taken now; ``RunLeased`` if a live process holds it."""
    return Lease(store, run_id).acquire()
