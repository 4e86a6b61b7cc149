"""The lab's access rules from its configuration: password policy, lock-out, idle lock; a password changed by its
user; an expired password refused with the way out."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from sweattest.cli.main import main
from sweattest.core.access import AccessPolicy, common_passwords
from sweattest.core.clock import VirtualClock
from sweattest.core.config import load_config
from sweattest.core.errors import AuthError, ConfigError, ValidationError
from sweattest.record.store.store import open_store
from sweattest.record.users import add_user, authenticate, change_password


def _config(tmp_path, text: str):
    path = tmp_path / "sweattest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_lab_sets_its_access_rules(tmp_path):
    config = load_config(_config(tmp_path, '[access]\nidle_lock = "5 min"\nlockout_after = 3\n'
                                           'lockout_delay = "2 min"\nmin_password_length = 14\n'
                                           'password_expiry_days = 90\n'))
    assert config.access == AccessPolicy(idle_lock=timedelta(minutes=5), lockout_after=3,
                                         lockout_delay=timedelta(minutes=2), min_password_length=14,
                                         password_expiry_days=90)
    assert load_config(None).access.idle_lock == timedelta(minutes=15)  # the default without a file


def test_the_lab_sets_the_web_limits(tmp_path):
    config = load_config(_config(tmp_path, '[serve]\nlive_streams_per_session = 2\nmax_request_kb = 64\n'))
    assert (config.web_limits.live_streams_per_session, config.web_limits.max_request_kb) == (2, 64)
    assert config.tls is None
    default = load_config(None).web_limits
    assert (default.live_streams_per_session, default.max_request_kb) == (4, 1024)


@pytest.mark.parametrize("text, words", [
    ('[access]\nidle_lock = 15\n', "[access] idle_lock"),
    ('[access]\nidle_lock = "15 mg"\n', "[access] idle_lock"),
    ('[access]\nlockout_after = "5"\n', "lockout_after = '5': write a whole number"),
    ('[access]\nmin_password_length = 6\n', "min_password_length = 6: at least 8"),
    ('[access]\nforever = 1\n', "unknown key 'forever'"),
    ('[serve]\ncertfile = "bench.crt"\n', "give both certfile and keyfile"),
    ('[serve]\nlive_streams_per_session = 0\n', "live_streams_per_session = 0: write a whole number of at least 1"),
    ('[serve]\nmax_request_kb = "1 MB"\n', "max_request_kb = '1 MB': write a whole number"),
])
def test_bad_access_settings_name_the_file_and_key(tmp_path, text, words):
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, text))
    assert words in str(err.value) and "sweattest.toml" in str(err.value)


def test_the_password_policy_refuses_short_and_common_passwords(tmp_path):
    store = open_store(str(tmp_path / "runs.db"), VirtualClock())
    try:
        strict = AccessPolicy(min_password_length=16)
        with pytest.raises(ValidationError, match="at least 16 characters"):
            add_user(store, "tech1", "Tina Tech", "tech", "fifteen chars 1", policy=strict)
        with pytest.raises(ValidationError, match="most common passwords"):
            add_user(store, "tech1", "Tina Tech", "tech", "Password1234")
        assert {"12345678", "password", "qwerty123"} <= common_passwords()
    finally:
        store.close()


def test_an_expired_password_is_refused_until_its_user_sets_a_new_one(tmp_path, monkeypatch, capsys):
    clock = VirtualClock()
    store = open_store(str(tmp_path / "runs.db"), clock)
    policy = AccessPolicy(password_expiry_days=90)
    try:
        add_user(store, "tech1", "Tina Tech", "tech", "first bench password")
        clock.advance(91 * 86400)
        with pytest.raises(AuthError, match="expired on .*sweattest user password tech1"):
            authenticate(store, "tech1", "first bench password", policy=policy)
        with pytest.raises(ValidationError, match="most common"):
            change_password(store, "tech1", "first bench password", "password123", policy=policy)
        change_password(store, "tech1", "first bench password", "second bench password", policy=policy)
        assert authenticate(store, "tech1", "second bench password", policy=policy).username == "tech1"
    finally:
        store.close()


def test_the_password_command_needs_the_current_password(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "runs.db")
    store = open_store(db)
    add_user(store, "tech1", "Tina Tech", "tech", "first bench password")
    store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong password\nnew bench password\nnew bench password\n"))
    assert main(["user", "password", "tech1", "--password-stdin", "--db", db]) != 0
    assert capsys.readouterr().err.count("\n") == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("first bench password\nnew bench password\nnew bench password\n"))
    assert main(["user", "password", "tech1", "--password-stdin", "--db", db]) == 0
    store = open_store(db)
    try:
        assert authenticate(store, "tech1", "new bench password").username == "tech1"
    finally:
        store.close()
