"""The imperative shell: carries out the procedure core's effects with drivers and the clock."""

from sweattest.bench.runner.continuity import StationStopping
from sweattest.bench.runner.engine import Runner
from sweattest.bench.runner.reporting import Reporter

__all__ = ["Runner", "Reporter", "StationStopping"]
