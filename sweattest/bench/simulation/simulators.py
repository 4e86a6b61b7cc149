"""The simulated instruments of a simulated bench (``run --simulate``, the demo, ``sweattest validate``): one per
role, the first simulated model of the role in sweattest/core/instrument_models.py, on its ``sim://`` URL."""

from __future__ import annotations

from dataclasses import replace

from sweattest.core import instrument_models
from sweattest.core.instruments import InstrumentConfig

#: the order the simulated bench opens (and ``validate`` lists) its instruments
ORDER = ("inducer", "analyzer", "balance")


def simulated_instruments(clock_name: str, *, channels: int = 2, loads: str | None = None,
                          seed: int | None = None) -> tuple[InstrumentConfig, ...]:
    """The instruments on the simulators' clock named ``clock_name`` (drivers.simulators.clocks.set_clock).
    ``channels``: the inducer's, one per site; ``loads``: its skin loads (``1:10kohm,2:12kohm``); ``seed``: of
    every simulator's noise."""
    found = []
    for role in ORDER:
        model = instrument_models.simulated(role)[0]
        options: dict[str, object] = {}
        if role == "inducer":
            options["channels"] = channels
            if loads is not None:
                options["load"] = loads
        if seed is not None:
            options["seed"] = seed
        options["clock"] = clock_name
        url = f"sim://{model.sim}?" + "&".join(f"{key}={value}" for key, value in options.items())
        config = InstrumentConfig(role, model.name, port=url)
        found.append(replace(config, channels=channels) if role == "inducer" else config)
    return tuple(found)
