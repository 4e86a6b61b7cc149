"""Serve a simulator on a pseudo-terminal, so any serial program can talk to it.

The slave side is put in raw mode at the chosen baud rate (no echo, no line editing); its path
(``/dev/pts/N``) is what a driver or a terminal program opens. The simulator answers as in-process: each
reply is written when its last byte would have arrived at that baud rate. A ``disconnect`` fault closes
the terminal, as an unplugged USB adapter does.
"""

from __future__ import annotations

import os
import select
import termios
import threading
import tty

from drivers.simulators.base import LineSimulator, SimulatorDisconnected

#: longest wait between checks of the stop flag, seconds of wall time
IDLE_S = 0.05

_BAUD = {rate: getattr(termios, f"B{rate}") for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)}


class PtyServer:
    """One simulator behind one pseudo-terminal."""

    def __init__(self, simulator: LineSimulator, baudrate: int = 9600):
        if baudrate not in _BAUD:
            raise ValueError(f"baud rate {baudrate} is not one of {', '.join(map(str, _BAUD))}")
        self.simulator = simulator
        simulator.baudrate = baudrate
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[4] = attrs[5] = _BAUD[baudrate]
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self.slave)
        self.stop_event = threading.Event()
        self._closed = False

    def serve(self) -> None:
        """Answer until ``stop()`` or a ``disconnect`` fault."""
        clock = self.simulator.clock
        try:
            while not self.stop_event.is_set():
                due = self.simulator.next_due()
                wait = IDLE_S if due is None else min(IDLE_S, max(0.0, due - clock.monotonic()))
                readable, _, _ = select.select([self.master], [], [], wait)
                if readable:
                    try:
                        data = os.read(self.master, 1024)
                    except OSError:
                        data = b""  # no client has the terminal open right now
                    if data:
                        self.simulator.receive(data)
                out = self.simulator.pop_due()
                if out:
                    os.write(self.master, out)
        except SimulatorDisconnected:
            pass
        finally:
            self.close()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve, name=f"pty-{self.simulator.name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self.master, self.slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
