"""`sweattest serve` with the lab's certificate: HTTPS, and the session cookie marked Secure."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from sweattest.cli.main import main
from sweattest.core.clock import VirtualClock
from sweattest.record.store.store import open_store
from sweattest.web.app import create_app
from tests.web.conftest import PASSWORD, USERS, Served, accounts_for_tests


def self_signed(folder):
    """A certificate for 127.0.0.1 and its key, made for the test by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificate")
    certfile, keyfile = folder / "bench.crt", folder / "bench.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(keyfile), "-out", str(certfile), "-days", "1",
                    "-subj", "/CN=sweattest bench", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return certfile, keyfile


def test_served_over_tls_the_session_cookie_is_secure(tmp_path):
    certfile, keyfile = self_signed(tmp_path)
    clock = VirtualClock(speed=None)
    store = open_store(str(tmp_path / "runs.db"), clock)
    app = create_app(store, clock, accounts_for_tests(store), simulate=True, pace=None, secure_cookies=True)
    served = Served(app, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
    port = served.port
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=str(certfile), timeout=10) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = client.post("/login", data={"username": USERS["tech"][0], "password": PASSWORD, "csrf": token})
            cookie = next(h for h in r.headers.get_list("set-cookie") if "sweattest_session=" in h)
            assert r.status_code == 303 and "secure" in cookie.lower() and "httponly" in cookie.lower()
            assert client.get("/bench").status_code == 200  # the session works over HTTPS
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)  # no plain HTTP on the TLS port
    finally:
        served.stop(timeout_s=10)
        app.state.web.bench.close()
        store.close()


def test_serve_refuses_a_certificate_without_its_key(tmp_path, capsys):
    certfile, _ = self_signed(tmp_path)
    assert main(["serve", "--simulate", "--certfile", str(certfile), "--db", str(tmp_path / "runs.db")]) == 2
    err = capsys.readouterr().err
    assert "--certfile and --keyfile go together" in err
    assert "the lab identity a report needs is not set: [lab] name" in err  # serve warns before it starts
