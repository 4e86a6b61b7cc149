"""One process per instrument port.

Two processes writing one inducer's control line is a single fault the safety design must exclude: a second
``instruments check`` or ``run`` would send its own commands in the middle of a stimulation and read the
other process's replies as its own. So whatever opens an instrument port (``drivers.base.LineDevice.from_url``,
the one place) first takes

1. an installation-wide lock file per port, ``<lock folder>/<port>.lock``, held with ``flock`` for as long as
   the port is open (the kernel drops it when the process ends, so a crash leaves no stale lock). It covers
   device paths (by their real path, so ``/dev/serial/by-id/...`` and ``/dev/ttyUSB0`` are one port) and
   network ports such as ``socket://host:port`` alike. The file names the holder (pid, command, host, since),
   which is what a refused second opener prints. It is taken *before* the device is opened: a refused opener
   touches nothing (opening a serial device alone can toggle its control lines);
2. on a terminal device, an exclusive lock on the opened device itself (``flock`` on its descriptor, taken by
   pyserial's ``exclusive=True`` before it sets the line up, and ``TIOCEXCL``, which makes the kernel refuse any
   further open by other programs: a terminal program or a vendor tool started by mistake). Not ``TIOCEXCL`` on
   a pseudo-terminal (a simulator, a network bridge): the terminal outlives its opener there, and the flag left
   by a killed holder would refuse every later open but root's.

``flock`` locks belong to an open file, not to a process: two opens of one port within one process are refused
as well. In-process simulators (``sim://``, ``loop://``) are a new device at each open and are not locked.

The lock folder is ``$SWEATTEST_LOCK_DIR`` if set, else ``/run/lock/sweattest`` (created world-writable with the
sticky bit, like /run/lock itself), else a ``sweattest-locks`` folder in the temporary directory. A folder on a
file system that several hosts share makes the lock cover those hosts' ``socket://`` ports too.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import socket
import sys
import tempfile
import termios
from pathlib import Path
from typing import Any

from sweattest.core.clock import RealClock
from sweattest.core.errors import DeviceError

ENV_VAR = "SWEATTEST_LOCK_DIR"
SYSTEM_DIR = Path("/run/lock/sweattest")
#: URL schemes whose every open is a new, private device: nothing to lock
PRIVATE_SCHEMES = ("sim", "loop")
#: URL schemes that open a device path underneath (pyserial's spy:// and alt://)
WRAPPER_SCHEMES = ("spy", "alt")


class PortInUse(DeviceError):
    """Another process (or another open in this process) has the instrument port: nothing was sent to it."""


def lock_dir() -> Path:
    chosen = os.environ.get(ENV_VAR, "").strip()
    candidates = [Path(chosen)] if chosen else [SYSTEM_DIR, Path(tempfile.gettempdir()) / "sweattest-locks"]
    for folder in candidates:
        try:
            folder.mkdir(mode=0o1777, parents=True, exist_ok=True)
            if not chosen:
                with contextlib.suppress(OSError):
                    folder.chmod(0o1777)
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
        except OSError:
            continue
    raise DeviceError(f"no folder for the instrument port locks: {', '.join(map(str, candidates))} cannot be "
                      "written.", action=f"Set {ENV_VAR} to a folder every sweattest process can write.")


def port_key(url: str) -> str | None:
    """The one name of the port ``url`` opens, or None for a private in-process device."""
    scheme, sep, rest = url.partition("://")
    if sep and "/" not in scheme:
        scheme = scheme.lower()
        if scheme in PRIVATE_SCHEMES:
            return None
        where = rest.split("?", 1)[0]
        if scheme in WRAPPER_SCHEMES and where.startswith("/"):  # spy:///dev/ttyUSB0: the device underneath
            return os.path.realpath(where)
        return f"{scheme}://{_network_address(where.rstrip('/').lower())}"
    return os.path.realpath(url)


def _network_address(where: str) -> str:
    """``host:port`` by the address the host name resolves to (``localhost`` and ``127.0.0.1`` are one server),
    the port as a number; a name that does not resolve stays as written."""
    host, colon, port = where.rpartition(":")
    if not colon or not port.isdigit():
        return where
    port = str(int(port))
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        addresses = sorted({info[4][0] for info in infos})
    except (OSError, UnicodeError, ValueError):
        return f"{host}:{port}"
    if not addresses:
        return f"{host}:{port}"
    if all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses):
        return f"loopback:{port}"  # 127.0.0.1, ::1 and localhost: this host's own server
    return f"{addresses[0]}:{port}"


def lock_file(key: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_") or "port"
    return lock_dir() / f"{name}.lock"


class PortLock:
    """The installation-wide lock of one port, held until ``release()``."""

    def __init__(self, key: str, path: Path, fd: int):
        self.key = key
        self.path = path
        self.fd = fd

    @classmethod
    def acquire(cls, url: str, device: str = "instrument") -> PortLock | None:
        """Take the lock of ``url``'s port; PortInUse naming its holder if another open has it."""
        key = port_key(url)
        if key is None:
            return None
        path = lock_file(key)
        fd = _open_lock_file(path, device)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise PortInUse(f"the {device} port {url} is in use by {describe(holder)}; nothing was sent to it.",
                            device=device, action="Wait until that run or station has finished with the "
                            "instrument (one process at a time opens an instrument port), or stop that "
                            "process if it should not be running.") from None
        except BaseException:
            os.close(fd)
            raise
        _write_holder(fd, key)
        return cls(key, path, fd)

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1


def _open_lock_file(path: Path, device: str) -> int:
    """The lock file, shared by every user of the installation: made writable by all whatever the umask; one this
    user may only read (another user's, made under an older version or by hand) is locked all the same (``flock``
    needs no write access), only without naming this holder in it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except PermissionError:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise DeviceError(f"cannot take the lock of the {device} port ({path}: {exc.strerror}); nothing was "
                              "sent to it.", device=device, action=f"Let every sweattest user write {path} (or "
                              f"set {ENV_VAR} to a folder they all can write).") from None
    except OSError as exc:
        raise DeviceError(f"cannot take the lock of the {device} port ({path}: {exc.strerror}); nothing was sent "
                          "to it.", device=device, action=f"Set {ENV_VAR} to a folder every sweattest process can "
                          "write.") from None
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_mode & 0o666 != 0o666:
            os.fchmod(fd, 0o666)  # only its owner may; others leave it as it is
    return fd


def holder_record() -> dict[str, Any]:
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = program.parent.name if program.name == "__main__.py" else program.name  # python -m sweattest
    command = " ".join([name, *sys.argv[1:]])
    return {"pid": os.getpid(), "command": command[:300], "host": socket.gethostname(),
            "since": RealClock().utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}


def describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process (it did not record who it is)"
    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        return f"this process (pid {holder['pid']}, {holder.get('command', '?')}), which has it open already"
    return (f"process {holder.get('pid', '?')} on {holder.get('host', '?')} ({holder.get('command', '?')}; "
            f"since {holder.get('since', '?')})")


def _write_holder(fd: int, key: str) -> None:
    data = json.dumps({**holder_record(), "port": key}).encode("utf-8")
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        holder = json.loads(text)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def lock_device(port: Any, url: str, device: str) -> None:
    """A terminal device opened: exclusive to this open (flock on its descriptor, TIOCEXCL for other
    programs). PortInUse if a program outside sweattest has it locked."""
    fd = getattr(port, "fd", None)
    if not isinstance(fd, int) or fd < 0 or not os.isatty(fd):
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise PortInUse(f"the {device} port {url} is locked by another program; nothing was sent to it.",
                        device=device, action="Close the program that has the port open (a terminal program "
                        "or a vendor tool), then retry.") from None
    if _pseudo_terminal(fd):
        return  # its exclusive flag would outlive a crashed holder (the terminal stays while its server runs)
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCEXCL)


#: device major numbers of Unix98 pseudo-terminal slaves (/dev/pts/N)
PTY_SLAVE_MAJORS = range(136, 144)


def _pseudo_terminal(fd: int) -> bool:
    try:
        return os.major(os.fstat(fd).st_rdev) in PTY_SLAVE_MAJORS
    except OSError:
        return False


def unlock_device(port: Any) -> None:
    """Before closing: allow other opens of the terminal again (TIOCEXCL outlives a close while another
    descriptor, a pseudo-terminal server's for one, keeps the terminal open)."""
    fd = getattr(port, "fd", None)
    if isinstance(fd, int) and fd >= 0:
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                fcntl.ioctl(fd, termios.TIOCNXCL)
