"""The wheel ships protocols/ and templates/ and runs the demo installed outside the source tree."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [whl] = dist.glob("sweattest-*.whl")
    return whl


def test_wheel_contains_packages_protocols_and_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "sweattest/_data/protocols/macroduct.toml" in names
    assert "sweattest/_data/protocols/gibson_cooke.toml" in names
    assert "sweattest/_data/templates/report.html" in names
    assert any(n.startswith("drivers/") for n in names)


def test_installed_wheel_runs_the_demo_outside_the_repo(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    # the dependencies come from this environment's site-packages, appended after the new venv's own (a path in
    # a .pth file: the .pth files there, such as this checkout's editable install, are not read), so sweattest
    # and drivers are imported from the installed wheel only; the .pth file is written after the install
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    target = subprocess.run([str(py), "-c", purelib], capture_output=True, text=True, check=True).stdout.strip()
    here = subprocess.run([sys.executable, "-c", purelib], capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                           "--no-compile", str(wheel)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # only now: before the wheel is installed, pip would find this environment's sweattest through the .pth
    # file (a regular install, as on CI) and install nothing
    (Path(target) / "sweattest-test-dependencies.pth").write_text(here + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "SWEATTEST_DB"}}
    work = tmp_path / "elsewhere"
    work.mkdir()
    demo = subprocess.run([str(venv / "bin" / "sweattest"), "demo", "--db", str(work / "runs.db")],
                          capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "interpretation:" in demo.stdout
    [folder] = [p for p in work.iterdir() if p.is_dir()]
    endings = sorted(p.name.split(".", 1)[1] for p in folder.iterdir())  # fhir.resources installed with it
    assert endings == ["csv", "fhir.json", "hl7", "html", "json", "pdf"]
    shown = subprocess.run([str(py), "-m", "sweattest", "protocol", "show", "macroduct"], capture_output=True,
                           text=True, cwd=work, env=env, timeout=120)
    assert shown.returncode == 0 and "_data/protocols/macroduct.toml" in shown.stdout
    where = subprocess.run([str(py), "-c", "import sweattest, drivers; print(sweattest.__file__, drivers.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert str(ROOT) not in where.stdout and str(venv) in where.stdout  # the wheel's code, not this checkout's
