"""Levey-Jennings chart and Westgard marks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from sweattest.cli import qa as qa_cli
from sweattest.errors import ValidationError
from sweattest.qa.chart import chart_data
from sweattest.qa.westgard import violations

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("zs, index, rule", [
    ([0, 3.5], 1, "1-3s"),
    ([0, 2.5], 1, "1-2s"),
    ([2.1, 2.2], 1, "2-2s"),
    ([-2.1, 2.3], 1, "R-4s"),
    ([1.1, 1.2, 1.5, 1.3], 3, "4-1s"),
    ([0.1] * 10, 9, "10-x"),
])
def test_westgard_rules_mark_the_point_that_completes_them(zs, index, rule):
    marks = violations(zs)
    assert rule in marks[index]
    assert all(rule not in m for m in marks[:index])


def test_in_control_series_has_no_marks():
    assert violations([0.5, -0.4, 1.2, -1.5, 0.2, -0.1, 0.3, -0.8, 1.9, -1.9]) == [[]] * 10


def test_exactly_two_sd_is_not_beyond_two_sd():
    assert violations([2.0]) == [[]]


def add_qc(store, values, mean=40.0, sd=2.0, level="normal"):
    for i, v in enumerate(values):
        store.record_qc(analyzer="CC3400-1", level=level, at=T0 + timedelta(days=i), value=v, who="amy",
                        lot="L7", target_mean=mean, target_sd=sd)


def test_chart_uses_lot_targets_and_finds_violations(store):
    add_qc(store, [40, 41, 39, 47.5, 40, 44.5, 44.6])
    data = chart_data(store, "CC3400-1", "normal")
    assert (data.mean, data.sd, data.targets_from) == (40.0, 2.0, "lot targets")
    assert data.rules[3] == ["1-3s"] and "2-2s" in data.rules[6]


def test_qc_chart_cli_writes_a_png(store, tmp_path, capsys):
    add_qc(store, [40, 41, 39, 47.5, 40, 44.5, 44.6])
    out = tmp_path / "lj.png"
    parser = argparse.ArgumentParser()
    qa_cli.register(parser.add_subparsers())
    args = parser.parse_args(["qa", "qc-chart", "--analyzer", "CC3400-1", "--level", "normal", "--out", str(out),
                              "--db", store.engine.url.render_as_string(hide_password=False)])
    assert args.func(args) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "7 results, mean 40.0 SD 2.00 (lot targets), 3 with Westgard flags" in capsys.readouterr().out


def test_chart_without_targets_uses_the_results(store):
    for i, v in enumerate([38.0, 40.0, 42.0]):
        store.record_qc(analyzer="A", level="abnormal", at=T0 + timedelta(days=i), value=v, who="amy")
    data = chart_data(store, "A", "abnormal")
    assert (data.mean, data.sd, data.targets_from) == (40.0, 2.0, "these results")


def test_too_few_results_is_a_clear_error(store):
    add_qc(store, [40])
    with pytest.raises(ValidationError, match="has 1 QC result"):
        chart_data(store, "CC3400-1", "normal")
    with pytest.raises(ValidationError, match="has 0 QC result"):
        chart_data(store, "other", "normal")
