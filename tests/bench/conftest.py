"""Lab configurations that name device paths, as a lab would name its serial adapters, and ports that do not
answer. The simulator processes (`simulators`) are a fixture of tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SWEATTEST = [sys.executable, "-m", "sweattest"]


@pytest.fixture
def silent_port():
    """A pseudo-terminal nobody answers on: a device that is plugged in but does not talk."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield path
    os.close(master)
    os.close(slave)


def instrument_table(role: str, model: str, port: str | None = None, **extra) -> str:
    lines = ["[[instruments]]", f'role = "{role}"', f'model = "{model}"']
    if port is not None:
        lines.append(f'port = "{port}"')
    for key, value in extra.items():
        lines.append(f"{key} = {value}" if not isinstance(value, str) or key == "calibration_due"
                     else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def write_config(tmp_path: Path, *tables: str, extra: str = "") -> Path:
    path = tmp_path / "sweattest.toml"
    path.write_text(extra + "\n" + "\n".join(tables), encoding="utf-8")
    return path


def sweattest(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*SWEATTEST, *args], capture_output=True, text=True, cwd=kw.pop("cwd", ROOT),
                          timeout=kw.pop("timeout", 120), **kw)
