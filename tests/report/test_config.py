"""Lab configuration: defaults without a file, a file by --config or $SWEATTEST_CONFIG, clear errors."""

from pathlib import Path

import pytest

from sweattest.core.config import BUILT_IN, load_config
from sweattest.core.errors import ConfigError

GOOD = """
[lab]
name = "Children's Hospital Sweat Lab"
address = "10 Main St, Boston MA"
phone = "+1 617 555 0100"
director = "J. Doe MD PhD"
accreditation = "CAP 1234567"
clia = "22D0123456"
timezone = "America/New_York"

[hl7]
sending_application = "SWEATTEST"
sending_facility = "CHSWEAT"

[lims]
drop_folder = "drop"

[report]
template_folder = "templates"
"""


def test_defaults_work_without_a_file(monkeypatch):
    monkeypatch.delenv("SWEATTEST_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.source == BUILT_IN and cfg.drop_folder is None and str(cfg.zone) == "UTC"


def test_file_by_environment_with_relative_folders(tmp_path, monkeypatch):
    (tmp_path / "drop").mkdir()
    (tmp_path / "templates").mkdir()
    path = tmp_path / "sweattest.toml"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("SWEATTEST_CONFIG", str(path))
    cfg = load_config()
    assert cfg.lab.name == "Children's Hospital Sweat Lab" and cfg.lab.clia == "22D0123456"
    assert str(cfg.zone) == "America/New_York" and cfg.hl7.sending_facility == "CHSWEAT"
    assert cfg.drop_folder == tmp_path / "drop" and cfg.template_folder == tmp_path / "templates"
    assert cfg.hl7.receiving_application == "LIMS"  # unset keys keep their defaults


@pytest.mark.parametrize("text, words", [
    ("[lab]\ntimezone = 'Mars/Olympus'\n", ["[lab] timezone", "Mars/Olympus", "IANA"]),
    ("[lab]\nclia = '12345'\n", ["[lab] clia", "2 digits"]),
    ("[lab]\nnmae = 'x'\n", ["[lab] unknown key 'nmae'", "name"]),
    ("[labs]\nname = 'x'\n", ["unknown section [labs]"]),
    ("[lab]\nname = 3\n", ["[lab] name", "text"]),
    ("[hl7]\nsending_facility = 'A|B'\n", ["[hl7] sending_facility", "|"]),
    ("[lims]\ndrop_folder = 'nowhere'\n", ["[lims] drop_folder", "does not exist"]),
    ("[report]\nranges = 'old'\n", ["[report] ranges", "cff_2017"]),
    ("[lab\n", ["not valid TOML"]),
    # the lab configuration holds no numbers: a number where text belongs is refused, NaN and inf too
    ("[lab]\ntimezone = nan\n", ["[lab] timezone", "text in quotes"]),
    ("[lab]\nphone = inf\n", ["[lab] phone", "text in quotes"]),
    ("[lab]\nclia = 1e400\n", ["[lab] clia", "text in quotes"]),
    ("[report]\nranges = 9**9**9\n", ["not valid TOML"]),
])
def test_bad_file_names_file_and_key(tmp_path, text, words):
    path = tmp_path / "sweattest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    for w in words:
        assert w in message
    assert path.read_text(encoding="utf-8") == text  # the file is left as it was


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Path(tmp_path / "none.toml"))
