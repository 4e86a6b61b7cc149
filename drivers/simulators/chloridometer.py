"""Simulated coulometric chloridometer: one result line per analysis, after the analysis time.

The tech loads a sample (``load_sample``), runs a control (``run_control``) or calibrates
(``calibrate``); the analyzer titrates one vial at a time and sends each result line when its analysis
is done (default 20 s), with seeded noise of about 1.5 % CV plus 0.3 mmol/L. ``inject`` gives the next
analysis an error code (E01-E06), corrupts the checksum, or makes the line garbled, silent or
disconnected. The format is in drivers/chloride_format.py and docs/protocols/chloridometer.md.
"""

from __future__ import annotations

import fnmatch
import random
import re
from datetime import timedelta

import pint

from drivers import chloride_format as fmt
from drivers.simulators import options as opt
from drivers.simulators.base import COMMON_FAULTS, LineSimulator
from sweattest.core.clock import Clock
from sweattest.core.errors import SweatTestError
from sweattest.core.units import Q_, parse_quantity

ONE_SHOT = tuple(fmt.ERROR_CODES) + ("bad_checksum",)
FAULTS = ONE_SHOT + COMMON_FAULTS
CV = 0.015
SD_FLOOR = 0.3


#: What the simulator measures when a sample or control is loaded without a value: the first pattern that matches
#: the sample id (a shell-style pattern: ``*-1`` is channel 1, the left site of a bilateral run) or the control
#: level. ``--results`` entries come before these.
DEFAULT_RESULTS: tuple[tuple[str, float], ...] = (("normal", 40.0), ("abnormal", 100.0), ("*-1", 45.0),
                                                  ("*-2", 48.0), ("*", 45.0))
#: The simulator's identification (``ID?``): maker, model, serial number (from its seed), firmware.
IDENTITY = ("SWEATTEST", "CL-SIM", "CL{seed:06d}", "1.0")


class ChloridometerSim(LineSimulator):
    name = "chloridometer"
    rx_terminator = b"\r\n"
    tx_terminator = b"\r\n"
    URL_FORM = ("sim://chloridometer?analysis=20s&results=PATTERN:CHLORIDE[,...]&fault=KIND[@60s]&seed=N"
                "&clock=NAME  (fault KIND: " + "|".join(FAULTS) + ")")

    def __init__(self, clock: Clock, *, seed: int = 0, baudrate: int = 9600, analysis_s: float = 20.0,
                 results: tuple[tuple[str, float], ...] = ()):
        super().__init__(clock, seed=seed, baudrate=baudrate)
        self.seed = seed % 1_000_000
        self.analysis_s = analysis_s
        #: (sample id or level pattern, chloride in mmol/L), searched in order before DEFAULT_RESULTS
        self.results = tuple(results)
        self.seq = 0
        self.busy_until = clock.monotonic()
        self.next_faults: list[str] = []
        #: separate noise streams: running controls does not change a patient sample's simulated result
        self.noise = {record: random.Random(f"{seed}/{record}") for record in ("QC", "CAL")}

    @classmethod
    def from_url_options(cls, options: dict[str, list[str]], baudrate: int = 9600) -> ChloridometerSim:
        opt.check_known(options, ("analysis", "fault", "results"))
        clock, seed = opt.common(options)
        # several specs are joined by "," in a URL; a comma inside a value (45,5) stays in its spec and is refused
        results = tuple(parse_result_spec(item) for value in options.get("results", [])
                        for item in re.split(r",(?=[^,]*[=:])", value) if item.strip())
        sim = cls(clock, seed=seed, baudrate=baudrate,
                  analysis_s=opt.seconds(opt.one(options, "analysis", "20"), "analysis"), results=results)
        for spec in opt.faults(options, FAULTS):
            sim.inject(spec.kind, at_s=spec.at_s)
        return sim

    def handle(self, line: str) -> str | None:
        """``ID?`` is answered with the identification record (docs/protocols/chloridometer.md): the simulator
        says it is one. The simulator alone also reads its keypad from the line, so a script or a person can
        act as the tech's hands on a pseudo-terminal: ``LOAD <sample id> [<chloride>]`` and
        ``CONTROL <level> [<lot> <value>]``; without a value, the value comes from the results table
        (``--results``, else DEFAULT_RESULTS). Anything else is ignored."""
        words = line.split()
        try:
            if words == ["ID?"]:
                maker, model, serial, firmware = IDENTITY
                body = ";".join(("ID", maker, model, serial.format(seed=self.seed), firmware))
                return f"{body}*{fmt.checksum(body)}"
            if len(words) == 2 and words[0] == "LOAD":
                self.load_sample(words[1], self.result_for(words[1]))
            elif len(words) in (3, 4) and words[0] == "LOAD":
                self.load_sample(words[1], parse_quantity(" ".join(words[2:]), "concentration", "LOAD"))
            elif len(words) in (2, 3) and words[0] == "CONTROL":
                self.run_control(words[1], words[2] if len(words) == 3 else "", self.result_for(words[1]))
            elif len(words) in (4, 5) and words[0] == "CONTROL":
                self.run_control(words[1], words[2], parse_quantity(" ".join(words[3:]), "concentration",
                                                                    "CONTROL"))
        except (ValueError, SweatTestError):
            pass  # a mistyped keypad line: the analyzer shows nothing, as the real one would
        return None

    def immediate(self, line: str) -> bool:
        return line.strip() == "ID?"  # answered at once, even while an analysis runs

    def result_for(self, ident: str) -> pint.Quantity:
        """The chloride a loaded sample or control measures: the first pattern of the results table that
        matches its id or level (case-insensitive)."""
        for pattern, mmol in (*self.results, *DEFAULT_RESULTS):
            if fnmatch.fnmatchcase(ident.lower(), pattern.lower()):
                return Q_(mmol, "mmol/L")
        raise ValueError(f"no result for {ident!r}")

    # --- hooks --------------------------------------------------------------------------------------

    def load_sample(self, sample_id: str, chloride: pint.Quantity) -> None:
        """Analyze a sample whose true chloride is ``chloride``; the result line follows the analysis."""
        self._analyze("SAMPLE", sample_id, chloride, "")

    def run_control(self, level: str, lot: str, target: pint.Quantity) -> None:
        """Analyze a control of ``level`` and ``lot`` whose assigned value is ``target``."""
        self._analyze("QC", level, target, lot)

    def calibrate(self, standard: str = "STD100", lot: str = "", value: pint.Quantity | None = None) -> None:
        self._analyze("CAL", standard, value if value is not None else parse_quantity("100 mmol/L",
                      "concentration", "standard"), lot)

    def inject(self, kind: str, at_s: float | None = None, channel: int | None = None) -> None:
        """An error code or ``bad_checksum`` for the next analysis; a device-wide fault now or later."""
        if kind not in FAULTS:
            raise ValueError(f"unknown chloridometer fault {kind!r}; expected one of {', '.join(FAULTS)}")
        with self.lock:
            self.touch()
            if kind in ONE_SHOT:
                self.next_faults.append(kind)
            else:
                self.inject_common(kind, at_s)

    # --- analysis -----------------------------------------------------------------------------------

    def _analyze(self, record: str, ident: str, truth: pint.Quantity, lot: str) -> None:
        mmol = float(parse_quantity(truth, "concentration", f"{record} {ident}").to("mmol/L").magnitude)
        with self.lock:
            self.touch()
            self.sync()
            now = self.clock.monotonic()
            start = max(now, self.busy_until)
            self.busy_until = start + self.analysis_s
            fault = self.next_faults.pop(0) if self.next_faults else None
            rng = self.noise.get(record, self.rng)
            value = max(0.0, mmol * (1.0 + rng.gauss(0.0, CV)) + rng.gauss(0.0, SD_FLOOR))
            self.seq = self.seq % 9999 + 1
            stamp = self.clock.utcnow() + timedelta(seconds=self.busy_until - now)
            fields = fmt.ResultLine(record, self.seq, stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M:%S"),
                                    ident, f"{value:.1f}", "mmol/L", _status(value), lot)
            if fault in fmt.ERROR_CODES:
                fields = fmt.ResultLine("ERROR", self.seq, fields.date, fields.time, ident, "", "", fault,
                                        lot)
            line = fmt.build(fields)
            if fault == "bad_checksum":
                line = line[:-2] + ("00" if line[-2:] != "00" else "01")
            self.send(line, delay_s=self.busy_until - now)


def parse_result_spec(item: str) -> tuple[str, float]:
    """``PATTERN=CHLORIDE`` (or ``PATTERN:CHLORIDE`` in a URL), e.g. ``*-1=45mmol/L``, ``normal=40mmol/L``."""
    pattern, sep, value = item.replace(":", "=", 1).partition("=") if "=" not in item else item.partition("=")
    if not sep or not pattern.strip():
        raise ValueError(f"results {item!r}: write PATTERN=CHLORIDE, e.g. *-1=45mmol/L or normal=40mmol/L")
    chloride = parse_quantity(value.strip(), "concentration", f"results {item!r}").to("mmol/L").magnitude
    if not 0 <= chloride <= 400:
        raise ValueError(f"results {item!r}: a chloride from 0 to 400 mmol/L")
    return pattern.strip(), float(chloride)


def _status(value: float) -> str:
    if value < 10.0:
        return "LOW"
    if value > 160.0:
        return "HIGH"
    return "OK"
