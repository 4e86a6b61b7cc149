"""Simulated Sartorius balance speaking SBI (CR LF, 9600 7O1), readability 0.1 mg, capacity 220 g.

The load cell is the MT-SICS simulator's (``BalanceSim``): a load change rings down and is stable after
the settle time; the same faults (``unstable``, ``overload``, ``underload``, ``garbled``, ``silent``,
``no_response``, ``disconnect``). Only the wire protocol differs (docs/protocols/balance-sartorius-sbi.md):

* ``ESC P`` (or ``ESC kP``) prints the reading at once in the 22-character format with ID code ``N``:
  ``N     +   1.0124 g  ``; the unit is left blank while the reading is not stable. Over- and underload
  print ``Stat`` lines with the status code ``H`` or ``L`` in columns 13-14.
* ``ESC T``/``ESC U``/``ESC f4_`` tare and ``ESC V``/``ESC f3_`` zero once the reading is stable; like
  the keys they stand for, they are not answered.
* ``ESC x1_`` .. ``ESC x4_``: model, serial number, weigh-cell and display software versions. The model
  text starts ``SWEATTEST-`` so software can tell the simulator from a balance.
* The ESC in front of a command is optional, as on the balances; unknown commands are ignored.
"""

from __future__ import annotations

from drivers.simulators.balance import FAULTS, READABILITY_G, BalanceSim
from sweattest.core.clock import Clock

ESC = "\x1b"
MODEL = "SWEATTEST-SIM"
SOFTWARE = "01-28-03"
TARE_COMMANDS = ("T", "U", "f4_")
ZERO_COMMANDS = ("V", "f3_")


class SartoriusSim(BalanceSim):
    name = "balance"
    rx_terminator = b"\r\n"
    tx_terminator = b"\r\n"
    URL_FORM = ("sim://sartorius?mass=1.2g&settle=3s&fault=KIND[@30s]&seed=N&clock=NAME  (fault KIND: "
                + "|".join(FAULTS) + ")")

    def __init__(self, clock: Clock, *, seed: int = 0, baudrate: int = 9600, settle_s: float = 3.0):
        super().__init__(clock, seed=seed, baudrate=baudrate, settle_s=settle_s)
        self.serial = f"{12345678 + seed % 9_000_000_000:010d}"
        #: "tare" or "zero" waiting for a stable reading, as a balance's key does
        self.pending: str | None = None

    # --- time ---------------------------------------------------------------------------------------

    def update(self) -> None:
        super().update()
        if self.pending and self._range_fault() is None and self.is_stable():
            if self.pending == "zero":
                self.zero_g, self.tare_g = self.load_g, 0.0
            else:
                self.tare_g = self.load_g - self.zero_g
            self.pending = None

    # --- SBI ----------------------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        command = line[1:] if line.startswith(ESC) else line
        if command in ("P", "kP"):
            return self._print()
        if command in TARE_COMMANDS + ZERO_COMMANDS:
            self.pending = "tare" if command in TARE_COMMANDS else "zero"
            self.update()
            return None
        info = {"x1_": ("Model", MODEL), "x2_": ("SerNo", self.serial), "x3_": ("BVer", SOFTWARE),
                "x4_": ("AVer", SOFTWARE)}.get(command)
        if info:
            return f"{info[0]:<6}{info[1]:>14}"
        return None  # a balance ignores what it does not know

    def immediate(self, line: str) -> bool:
        return False

    def _print(self) -> str:
        fault = self._range_fault()
        if fault:
            return f"{'Stat':<12}{'H' if fault == '+' else 'L':<2}{'':6}"
        grams = self.gross_now() - self.zero_g - self.tare_g
        grams = round(grams / READABILITY_G) * READABILITY_G
        sign = "-" if grams < 0 else "+"
        unit = "g" if self.is_stable() else ""
        return f"{'N':<6}{sign} {abs(grams):>8.4f} {unit:<3}"
