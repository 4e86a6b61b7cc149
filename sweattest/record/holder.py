"""Who holds a run's lease, and whether that process is gone (sweattest/record/lease.py).

A holder is named ``host:pid:token:boot.start``: the computer's host name, the process id, a random token
(a new one in a forked child), the computer's boot id and the process's start time since boot (Linux:
``/proc/sys/kernel/random/boot_id`` and ``/proc/PID/stat``). With the boot id and the start time, a process
id used again after a reboot, or by another process since, is not taken for the holder. Holders written by
older versions have no last part (``host:pid:token``).

A holder on this computer is gone when the computer has booted since, when no process has its id, when that
process is a zombie (it has ended), or when the process with its id started at another time. A holder on
another computer cannot be seen from here: its lease runs out on its own.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
#: Names this bench station when several share one store (default: the host name).
STATION_ENV = "SWEATTEST_STATION"
#: Longest host name kept in a holder (the column holds 120 characters).
HOST_CHARS = 60


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int | None
    boot: str | None = None  # the boot id's first 12 hex digits; None: an older holder, or no boot id here
    start: str | None = None  # the process's start time since boot, in clock ticks

    @property
    def name(self) -> str:
        """'host:pid', as messages show it."""
        return f"{self.host}:{self.pid}" if self.pid is not None else self.host


def this_host() -> str:
    return socket.gethostname()[:HOST_CHARS] or "localhost"


def this_station() -> str:
    """This bench station's name: ``$SWEATTEST_STATION``, else the host name. A station resumes the runs it
    performed; two stations sharing one store need different names (different computers have them)."""
    return (os.environ.get(STATION_ENV, "").strip() or this_host())[:HOST_CHARS]


def boot_id() -> str | None:
    """This computer's boot id (first 12 hex digits), or None where the system does not tell it."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip().replace("-", "")[:12] or None
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in ticks) of process ``pid`` from /proc, or None if /proc does not say."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()  # the command name in parentheses may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def own_name(pid: int, token: str) -> str:
    """The holder name of this process (``pid``): ``host:pid:token:boot.start``."""
    stat = _stat(pid)
    boot = boot_id()
    tail = f":{boot}.{stat[1]}" if boot and stat else ""
    return f"{this_host()}:{pid}:{token}{tail}"


#: The highest process id Linux gives (``/proc/sys/kernel/pid_max`` is at most 2**22).
PID_MAX = 1 << 22


def parse(owner: str) -> Holder:
    """The holder a lease names. A part that is garbled (edited in the store, or written by something else)
    names nothing: a process id that is not one, or a boot and start that are not hex digits and a number."""
    parts = owner.split(":")
    pid = int(parts[1]) if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit() else None
    if pid is not None and not 0 < pid <= PID_MAX:
        pid = None
    boot = start = None
    if len(parts) > 3 and "." in parts[3]:
        boot, start = parts[3].split(".", 1)
        if not (boot and start.isascii() and start.isdigit()
                and all(c in "0123456789abcdef" for c in boot)):
            boot = start = None
    return Holder(parts[0], pid, boot, start)


def booted_at() -> datetime | None:
    """When this computer booted (Linux: ``btime`` of /proc/stat), or None where the system does not tell it."""
    try:
        for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
            if line.startswith("btime "):
                return datetime.fromtimestamp(int(line.split()[1]), UTC)
    except (OSError, ValueError):
        pass
    return None


def is_gone(owner: str, renewed: datetime | None = None) -> bool:
    """True when the holder ``owner`` is a process of this computer that no longer runs (see the module).
    ``renewed``: when its lease was last renewed, if known: a holder with another boot id whose lease was
    renewed after this computer booted is another computer of the same name (stations cloned from one image),
    whose lease runs out on its own."""
    holder = parse(owner)
    if holder.host != this_host() or holder.pid is None or holder.pid <= 0:
        return False
    if holder.boot is not None and holder.boot != boot_id():
        booted = booted_at()
        # this computer has booted since that process took the lease; unless renewed since: another computer
        return renewed is None or booted is None or renewed <= booted
    if holder.pid == os.getpid():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a process of another user has this id: look at its start time below
    stat = _stat(holder.pid)
    if stat is None:
        return False  # alive, and nothing more is known: the lease runs out on its own
    state, start = stat
    return state in ("Z", "X") or (holder.start is not None and start != holder.start)
