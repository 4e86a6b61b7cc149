"""Sample adequacy: CLSI C34; CFF 2007. Each boundary row cites its source."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sweattest.core.errors import UnitError, ValidationError
from sweattest.core.protocol import load_protocol, parse_protocol_text
from sweattest.core.rules.adequacy import assess_volume, assess_weights, check_plausible, sample_weight
from sweattest.core.rules.findings import Severity, codes
from sweattest.core.units import Q_, parse_quantity

# (volume uL, minutes, adequate, source)
VOLUME_CASES = [
    (14.9, 30, False, "CLSI C34; CFF 2007: Macroduct >= 15 uL in 30 min; below is QNS"),
    (15, 30, True, "CLSI C34; CFF 2007: exactly 15 uL is adequate (the minimum alone decides)"),
    (22, 30, True, "CLSI C34: well above the minimum"),
    (15, 20, True, "CLSI C34: a shorter collection keeps the 15 uL minimum"),
    (0, 30, False, "CLSI C34: a dry collector is QNS, not an error"),
    (19.9, 40, False, "CLSI C34: 40 min raises the minimum to 15 x 40/30 = 20 uL"),
    (20, 40, True, "CLSI C34: 20 uL in 40 min meets the raised minimum"),
    (15, 30.5, False, "CLSI C34: just over 30 min, 15 uL no longer enough"),
]


@pytest.mark.parametrize(("volume", "minutes", "adequate", "source"), VOLUME_CASES)
def test_macroduct_minimum_volume(macroduct, volume, minutes, adequate, source):
    result = assess_volume(macroduct, Q_(volume, "uL"), Q_(minutes, "min"))
    assert result.adequate is adequate, source
    assert ("sample_qns" in codes(result.findings)) is (not adequate)


# (pre mg, post mg, minutes, adequate, source)
WEIGHT_CASES = [
    (1012.4, 1087.3, 30, False, "CLSI C34; CFF 2007: gauze >= 75 mg in 30 min; 74.9 mg is QNS"),
    (1012.4, 1087.4, 30, True, "CLSI C34; CFF 2007: exactly 75.0 mg is adequate"),
    (1012.4, 1112.4, 30, True, "CLSI C34: 100.0 mg"),
    (1000.0, 1099.9, 40, False, "CLSI C34: 40 min raises the minimum to 100 mg"),
    (1000.0, 1100.0, 40, True, "CLSI C34: 100.0 mg in 40 min meets it"),
]


@pytest.mark.parametrize(("pre", "post", "minutes", "adequate", "source"), WEIGHT_CASES)
def test_gauze_minimum_weight(gibson_cooke, pre, post, minutes, adequate, source):
    result = assess_weights(gibson_cooke, Q_(pre, "mg"), Q_(post, "mg"), Q_(minutes, "min"))
    assert result.adequate is adequate, source


def test_sample_weight_is_exact_at_balance_readability():
    # CLSI C34: analytical balance, 0.1 mg; 1112.4 - 1012.4 is 100.0 mg, not 100.00000000000011
    sample = sample_weight(Q_(1012.4, "mg"), Q_(1112.4, "mg"))
    assert sample.magnitude == 100.0
    assert Decimal(repr(sample.magnitude)) == Decimal("100.0")
    assert sample_weight(Q_(1.0124, "g"), Q_(1.1124, "g")).magnitude == 100.0


@pytest.mark.parametrize(("pre", "post", "field"), [
    (1012.4, 1000.0, "post weight"),   # falling weight: an entry error, never QNS
    (-5.0, 80.0, "pre weight"),        # negative weight
    (0.0, 80.0, "pre weight"),         # a container never weighs 0 mg
])
def test_impossible_weights_are_errors_not_qns(gibson_cooke, pre, post, field):
    with pytest.raises(ValidationError, match=field):
        assess_weights(gibson_cooke, Q_(pre, "mg"), Q_(post, "mg"), Q_(30, "min"))


def test_negative_volume_is_an_error(macroduct):
    with pytest.raises(ValidationError, match="negative"):
        assess_volume(macroduct, Q_(-1, "uL"), Q_(30, "min"))


@pytest.mark.parametrize("minutes", [0, -3])
def test_collection_time_must_be_positive(macroduct, minutes):
    with pytest.raises(ValidationError, match="collection time"):
        assess_volume(macroduct, Q_(20, "uL"), Q_(minutes, "min"))


def test_wrong_units_name_the_value(macroduct, gibson_cooke):
    with pytest.raises(UnitError, match="sample volume"):
        assess_volume(macroduct, Q_(20, "mg"), Q_(30, "min"))
    with pytest.raises(UnitError, match="pre weight"):
        assess_weights(gibson_cooke, Q_(1, "uL"), Q_(100, "mg"), Q_(30, "min"))


def test_method_mismatch_is_refused(macroduct, gibson_cooke):
    with pytest.raises(ValidationError, match="weights"):
        assess_volume(gibson_cooke, Q_(20, "uL"), Q_(30, "min"))
    with pytest.raises(ValidationError, match="volume"):
        assess_weights(macroduct, Q_(1000, "mg"), Q_(1100, "mg"), Q_(30, "min"))


def test_long_collection_is_flagged_and_never_rescues_a_qns(macroduct):
    # CLSI C34: > 30 min flagged; minimum x minutes / 30
    result = assess_volume(macroduct, Q_(18, "uL"), Q_(45, "min"))
    assert codes(result.findings) == ["collection_too_long", "sample_qns", "sweat_rate_low"]
    assert result.findings[0].severity is Severity.WARN
    assert "22.5" in result.findings[0].message
    assert not result.adequate


def test_sweat_rate_is_informational(macroduct, gibson_cooke):
    # CLSI C34: 15 uL / (5.3 cm2 x 30 min) = 0.94 g/m2/min, and the sample is adequate
    result = assess_volume(macroduct, Q_(15, "uL"), Q_(30, "min"))
    assert result.sweat_rate.to("g/m**2/min").magnitude == pytest.approx(0.943, abs=1e-3)
    assert result.adequate
    assert [(f.code, f.severity) for f in result.findings] == [("sweat_rate_low", Severity.INFO)]
    gauze = assess_weights(gibson_cooke, Q_(1000, "mg"), Q_(1075, "mg"), Q_(30, "min"))
    assert gauze.sweat_rate.magnitude == pytest.approx(0.969, abs=1e-3)
    assert gauze.adequate


def test_sweat_rate_of_issue_example(macroduct):
    # issue 4 example: 22 uL over 30 min on 5.3 cm2 = 1.38 g/m2/min
    result = assess_volume(macroduct, Q_(22, "uL"), Q_(30, "min"))
    assert round(result.sweat_rate.magnitude, 1) == 1.4
    assert result.findings == ()
    assert result.sample.units == Q_(1, "uL").units


def test_finding_carries_its_source(macroduct):
    finding = assess_volume(macroduct, Q_(10, "uL"), Q_(30, "min")).findings[0]
    assert finding.to_dict()["severity"] == "block"
    assert "CLSI C34" in finding.source and "CFF 2007" in finding.source


@given(pre=st.integers(1, 5_000_000_000), sample=st.integers(0, 100_000))
def test_weighed_sample_is_exact_for_any_balance_reading(pre, sample):
    # CLSI C34: readings at 0.01 mg keep their precision; the difference is the exact decimal difference
    pre_mg, post_mg = pre / 100, (pre + sample) / 100
    assert sample_weight(Q_(pre_mg, "mg"), Q_(post_mg, "mg")).magnitude == sample / 100


# (pre mg, post mg, sample mg, adequate, source)
PRECISION_CASES = [
    (1000.04, 1075.03, 74.99, False, "CLSI C34: 74.99 mg is below 75 mg: QNS (rounding each weight made it 75.0)"),
    (1000.05, 1075.05, 75.0, True, "CLSI C34: 75.00 mg is the minimum: adequate"),
    (1012.4, 1112.4, 100.0, True, "CLSI C34: 0.1 mg readings: exactly 100.0 mg"),
    (1000.0, 1074.999, 74.999, False, "CLSI C34: a finer balance keeps its digits too"),
]


@pytest.mark.parametrize(("pre", "post", "sample", "adequate", "source"), PRECISION_CASES)
def test_weights_keep_the_balance_precision(gibson_cooke, pre, post, sample, adequate, source):
    result = assess_weights(gibson_cooke, Q_(pre, "mg"), Q_(post, "mg"), Q_(30, "min"))
    assert result.sample.magnitude == sample, source
    assert result.adequate is adequate, source


# (method, sample, accepted, source)
PLAUSIBILITY_CASES = [
    ("macroduct", "85 uL", True, "Macroduct 3710 manual: the coil holds about 85 uL"),
    ("macroduct", "85.1 uL", False, "Macroduct 3710 manual: more than the coil holds"),
    ("macroduct", "5000 uL", False, "Macroduct 3710 manual: 5000 uL from a coil is an entry error"),
    ("macroduct", "22000 uL", False, "Macroduct 3710 manual: the worksheet's 22,000 uL"),
    ("gibson_cooke", "500 mg", True, "CLSI C34 Appendix A: a few hundred mg from a 2x2 in gauze"),
    ("gibson_cooke", "500.01 mg", False, "CLSI C34 Appendix A: beyond what a gauze yields in 30 min"),
]


@pytest.mark.parametrize(("method", "sample", "accepted", "source"), PLAUSIBILITY_CASES)
def test_implausible_sample_is_refused_naming_the_limit(method, sample, accepted, source):
    protocol = load_protocol(method)
    amount = parse_quantity(sample, "volume" if method == "macroduct" else "mass", "test")
    if accepted:
        check_plausible(protocol, amount)
        return
    with pytest.raises(ValidationError) as err:
        if method == "macroduct":
            assess_volume(protocol, amount, Q_(30, "min"))
        else:
            assess_weights(protocol, Q_(1000, "mg"), Q_(1000, "mg") + amount, Q_(30, "min"))
    limit = "85 µL" if method == "macroduct" else "500 mg"
    assert f"above the {limit} maximum" in str(err.value), source
    assert ("Macroduct 3710" if method == "macroduct" else "CLSI C34") in str(err.value), source


def test_a_method_file_sets_its_own_maximum(tmp_path):
    text = load_protocol("macroduct").text.replace('maximum_sample = { value = "85 uL"',
                                                   'maximum_sample = { value = "60 uL"')
    protocol = parse_protocol_text(text, tmp_path / "lab.toml")
    with pytest.raises(ValidationError, match="above the 60 µL maximum"):
        assess_volume(protocol, Q_(61, "uL"), Q_(30, "min"))
    no_key = "\n".join(line for line in load_protocol("macroduct").text.splitlines()
                        if not line.startswith("maximum_sample"))
    assert parse_protocol_text(no_key, tmp_path / "old.toml").maximum_sample == Q_(85, "uL")


@given(volume=st.floats(0, 85, allow_nan=False), minutes=st.floats(30, 120, allow_nan=False))
def test_longer_collection_never_rescues_a_sample(volume, minutes):
    # CLSI C34: a collection beyond 30 min is never more adequate than the same sample in 30 min
    protocol = load_protocol("macroduct")
    at_30 = assess_volume(protocol, Q_(volume, "uL"), Q_(30, "min")).adequate
    longer = assess_volume(protocol, Q_(volume, "uL"), Q_(minutes, "min")).adequate
    assert not longer or at_30


# (volume uL, minutes, criterion, adequate, source): the lab's adequacy criterion
CRITERION_CASES = [
    (21, 40, "minimum_sample", True, "CLSI C34; CFF 2007: 40 min raises the minimum to 20 uL; 21 uL is adequate"),
    (21, 40, "sweat_rate", False, "Macroduct 3710; ACB 2014: 21 uL / (5.3 cm2 x 40 min) = 0.99 g/m2/min: QNS"),
    (15, 30, "minimum_sample", True, "CLSI C34: exactly 15 uL in 30 min is adequate"),
    (15, 30, "sweat_rate", False, "ACB 2014: 15 uL on 5.3 cm2 in 30 min is 0.94 g/m2/min: QNS by the rate"),
    (16, 30, "sweat_rate", True, "ACB 2014: 16 uL in 30 min is 1.006 g/m2/min"),
]


@pytest.mark.parametrize(("volume", "minutes", "criterion", "adequate", "source"), CRITERION_CASES)
def test_the_lab_chooses_the_adequacy_criterion(macroduct, volume, minutes, criterion, adequate, source):
    from sweattest.core.rules.adequacy import assess_volume

    a = assess_volume(macroduct, Q_(volume, "uL"), Q_(minutes, "min"), criterion)
    assert a.adequate is adequate, source
    assert ("sample_qns" in [f.code for f in a.findings]) is (not adequate), source


def test_an_unknown_criterion_is_refused_by_name(macroduct):
    from sweattest.core.errors import ValidationError
    from sweattest.core.rules.adequacy import DEFAULT_CRITERION, assess_volume

    with pytest.raises(ValidationError, match="use one of minimum_sample, sweat_rate"):
        assess_volume(macroduct, Q_(20, "uL"), Q_(30, "min"), "volume")
    assert DEFAULT_CRITERION == {"cff_2017": "minimum_sample", "clsi_c34_a3": "minimum_sample", "uk_2014": "sweat_rate"}
