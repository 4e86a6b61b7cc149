"""The LIMS formats are one list: the run's own folder, ``sweattest export --format`` and the drop folder on
sign-off offer the same formats, and each is written by its format's writer."""

import argparse
import json

import pytest

from sweattest.cli.export import register
from sweattest.core.config import LabConfig
from sweattest.core.errors import ValidationError
from sweattest.outputs.lims.fhir import render_fhir
from sweattest.outputs.lims.formats import FORMATS, LIMS_FORMATS, lims_format
from sweattest.outputs.run_files import write_outputs
from tests.lims.records import record_of


def test_a_run_folder_holds_a_file_of_every_lims_format(tmp_path):
    record = record_of({"left_forearm": (40, 45)})
    files = write_outputs(record, tmp_path, LabConfig())
    assert set(files) == {"json", "html", "pdf", *FORMATS} and {"hl7", "csv", "fhir"} <= set(files)
    assert files["fhir"].name.endswith(".fhir.json")
    assert files["fhir"].read_text(encoding="utf-8") == render_fhir(record, LabConfig())
    assert json.loads(files["fhir"].read_text(encoding="utf-8"))["resourceType"] == "Bundle"


def test_export_offers_every_lims_format():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    for name in FORMATS:
        assert parser.parse_args(["export", "R-1", "--format", name, "--to", "x", "--as", "rev"]).format == name
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "R-1", "--format", "pdf", "--to", "x", "--as", "rev"])


def test_an_unknown_format_is_named_with_the_known_ones():
    with pytest.raises(ValidationError, match="'xml': use one of hl7, csv, fhir"):
        lims_format("xml")
    assert [f.name for f in LIMS_FORMATS if f.on_signoff] == ["hl7", "csv"]
