"""[lis] in the lab configuration: addresses, folders, timeouts and codes checked, with one clear line."""

from pathlib import Path

import pytest

from sweattest.core.config import parse_config
from sweattest.core.errors import ConfigError


def test_a_full_lis_section_is_read(tmp_path):
    (tmp_path / "orders").mkdir()
    config = parse_config({"lis": {"listen": "127.0.0.1:2575", "order_folder": "orders",
                                   "send_to": "lis.example.org:2576", "ack_timeout_s": 10,
                                   "retry_delays_s": [1, 2.5], "ae_limit": 5, "sites": ["left_forearm"],
                                   "codes": {"adequacy": "ADQ^Adequacy^99LAB"}}}, tmp_path / "lab.toml")
    lis = config.lis
    assert (lis.listen, lis.send_to, lis.order_folder) == (("127.0.0.1", 2575), ("lis.example.org", 2576),
                                                           tmp_path / "orders")
    assert (lis.ack_timeout_s, lis.retry_delays_s, lis.sites) == (10.0, (1.0, 2.5), ("left_forearm",))
    assert lis.ae_limit == 5 and parse_config({}, tmp_path / "lab.toml").lis.ae_limit == 3
    assert lis.code("adequacy") == ("ADQ", "Adequacy", "99LAB") and lis.code("chloride")[0] == "2077-6"


@pytest.mark.parametrize("section, message", [
    ({"listen": "2575"}, "[lis] listen = '2575': write host:port"),
    ({"send_to": "lis:99999"}, "[lis] send_to = 'lis:99999': write host:port"),
    ({"order_folder": "missing"}, "[lis] order_folder = 'missing': folder"),
    ({"ack_timeout_s": "30"}, "[lis] ack_timeout_s = '30': a number of seconds"),
    ({"retry_delays_s": []}, "[lis] retry_delays_s = []"),
    ({"ae_limit": 0}, "[lis] ae_limit = 0: a whole number of AE answers from 1 to 100"),
    ({"ae_limit": "3"}, "[lis] ae_limit = '3': a whole number"),
    ({"ae_limit": True}, "[lis] ae_limit = True: a whole number"),
    ({"ae_limit": 2.5}, "[lis] ae_limit = 2.5: a whole number"),
    ({"codes": {"glucose": "X^Y^L"}}, "[lis.codes] unknown key 'glucose'"),
    ({"codes": {"chloride": "2077-6|x"}}, "[lis.codes] chloride = '2077-6|x': write \"code^text^system\""),
    ({"port": 1}, "[lis] unknown key 'port'"),
])
def test_a_wrong_lis_section_names_the_key(tmp_path, section, message):
    with pytest.raises(ConfigError) as caught:
        parse_config({"lis": section}, Path(tmp_path / "lab.toml"))
    assert message in str(caught.value)
