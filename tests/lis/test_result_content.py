"""What the ORU^R01 carries for an LIS order: the placer and filler numbers echoed, PV1, SPM per site,
OBX-18/19/23/24/25, and codes from [lis.codes] (LOINC 2077-6 by default); every message STRICT-valid."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sweattest.core.config import Lab, LabConfig, parse_config
from sweattest.outputs.lims.hl7 import render_oru
from tests.lims.hl7_oracle import field, segments, strict, text
from tests.lims.records import record_of

LIS_ORDER = {"placer_ei": ["ACC-1001", "HIS"], "filler_ei": ["F1001", "LAB"],
             "patient": {"identifiers": ["MRN555^^^HOSP^MR", "998877^^^NHS^NH"]},
             "provider": {"id": "1234", "name": "Marcus Welby"}, "visit": {"class": "O", "number": "V4455"}}
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _message(config: LabConfig, lis: dict | None = LIS_ORDER) -> str:
    record = record_of({"left_forearm": (40, 45), "right_forearm": (35, 48)}, final=True)
    record = replace(record, instruments={"analyzer": {"model": "line", "serial_number": "AN-0042",
                                                       "identity": "analyzer"}})
    if lis is not None:
        record = replace(record, order=record.order | {"lis": lis})
    message = render_oru(record, config, sent_at=AT, control_id="C" * 20)
    strict(message)
    return message


def test_an_lis_order_is_echoed_with_its_numbers_visit_and_identifiers():
    msg = _message(LabConfig())
    assert field(msg, "ORC", 2) == field(msg, "OBR", 2) == "ACC-1001^HIS"
    assert field(msg, "ORC", 3) == field(msg, "OBR", 3) == "F1001^LAB"
    assert field(msg, "ORC", 12) == field(msg, "OBR", 16) == "1234^A. Smith MD"  # the name as on the order
    assert field(msg, "PID", 3) == "MRN555^^^HOSP^MR~998877^^^NHS^NH"
    assert (field(msg, "PV1", 2), field(msg, "PV1", 19)) == ("O", "V4455")


def test_specimen_instrument_time_and_performing_lab():
    config = LabConfig(lab=Lab(name="Leeds Sweat Laboratory", address="Great George Street, Leeds",
                               director="Dr A. Director", clia="22D0123456"))
    msg = _message(config)
    spm = segments(msg, "SPM")
    assert [s[4] for s in spm] == ["SWT^Sweat^HL70487"] * 2
    assert [s[8].split("^")[0] for s in spm] == ["left_forearm", "right_forearm"]
    assert all(len(s[17].split("^")) == 2 for s in spm)  # collection start ^ end
    chloride = [o for o in segments(msg, "OBX") if o[3].startswith("2077-6^")]
    assert [o[18] for o in chloride] == ["AN-0042^line"] * 2  # the analyzer
    assert all(len(o[19]) == len("20261120100000+0000") for o in chloride)  # the analysis time
    for obx in segments(msg, "OBX"):
        assert text(obx[23].split("^")[0]) == config.lab.name and obx[23].endswith(config.lab.clia)
        assert text(obx[24]) == config.lab.address and text(obx[25]) == "^" + config.lab.director


def test_codes_come_from_the_lab_configuration(tmp_path):
    config = parse_config({"lis": {"codes": {"panel": "SWT1^Sweat test panel^99LAB",
                                             "right_forearm.chloride": "SWCLR^Chloride right arm^99LAB",
                                             "adequacy": "ADQ^Adequacy^99LAB"}}}, Path(tmp_path / "x.toml"))
    msg = _message(config, lis=None)
    assert field(msg, "OBR", 4) == "SWT1^Sweat test panel^99LAB"
    codes = [(o[4], o[3].split("^")[0]) for o in segments(msg, "OBX")]
    assert ("1", "2077-6") in codes and ("2", "SWCLR") in codes and ("2", "2077-6") not in codes
    assert ("1", "ADQ") in codes and ("2", "ADQ") in codes
    assert ("", "SWINT") in codes  # the interpretation, once per test
    default = _message(replace(LabConfig()), lis=None)
    assert field(default, "ORC", 2) == "ST-2026-000123" and field(default, "PV1", 2) == "U"
