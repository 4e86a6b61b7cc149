"""The QNS threshold beside a sample's field, in the unit the device shows: the coil's volume, the weight with
sweat on a manual balance; nothing beside an empty weight or a chloride."""

from sweattest.bench.instruments.manual import WITH_SWEAT
from sweattest.core.protocol import load_protocol
from sweattest.web.entry import qns_note


def test_the_coil_volume_shows_the_methods_qns_threshold():
    assert qns_note("read_volume", None, load_protocol("macroduct")).startswith("QNS below 15 µL")


def test_the_weight_with_sweat_shows_the_threshold_in_mg_and_the_empty_weight_none():
    gibson_cooke = load_protocol("gibson_cooke")
    note = qns_note("enter_reading", f"left forearm weight {WITH_SWEAT}", gibson_cooke)
    assert note is not None and note.startswith("QNS below 75 mg of sweat")
    assert qns_note("enter_reading", "left forearm weight empty (before collection)", gibson_cooke) is None
    assert qns_note("enter_reading", "chloride of sample 1", gibson_cooke) is None
