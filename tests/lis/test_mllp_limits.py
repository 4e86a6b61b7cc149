"""The MLLP listener's limits, tried with raw sockets and python-hl7's MLLP client: at most
``max_connections`` at once (one more is closed at once, the others keep being served), a connection idle
between bytes is dropped, and MLLP over TLS with the lab's certificate (tests/lis/tls: a self-signed test
certificate for localhost, valid 100 years, for these tests only)."""

import asyncio
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path

import hl7
import hl7.mllp
import pytest

from sweattest.core.clock import VirtualClock
from sweattest.core.config import LabConfig
from sweattest.core.errors import ConfigError
from sweattest.core.lis_config import LisConfig, parse_lis
from sweattest.lis.ack import read_ack
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.service import tls_context
from sweattest.lis.worklist import receive
from sweattest.record.store.store import open_store
from tests.lis.messages import orm

TLS = Path(__file__).parent / "tls"


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC)))
    yield store
    store.close()


def _listener(store, **limits) -> OrderListener:
    return OrderListener(("127.0.0.1", 0), lambda text: receive(store, store.clock, text, LabConfig()),
                         rejecter("SWEATTEST", "SWEATLAB", store.clock.utcnow), **limits).start()


def _send(port: int, message: str, **connection) -> str:
    async def talk():
        reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port, **connection)
        try:
            writer.writemessage(hl7.parse(message))
            await writer.drain()
            return str(await asyncio.wait_for(reader.readmessage(), 10))
        finally:
            writer.close()
    return asyncio.run(talk())


def test_connections_above_the_cap_are_closed_and_the_others_served(store):
    listener = _listener(store, max_connections=3)
    held = []
    try:
        for _ in range(3):  # three half-sent frames hold their connections
            sock = socket.create_connection(listener.address, timeout=10)
            sock.sendall(b"\x0bMSH|^~\\&|")
            held.append(sock)
        assert listener.wait_until(lambda li: li.open == 3, 10)
        with socket.create_connection(listener.address, timeout=10) as extra:
            assert extra.recv(100) == b""  # closed at once, no thread for it
        assert listener.refused == 1
        held.pop().close()
        assert listener.wait_until(lambda li: li.open == 2, 10)
        assert read_ack(_send(listener.address[1], orm())).code == "AA"  # served again below the cap
    finally:
        for sock in held:
            sock.close()
        listener.stop()


def test_a_connection_idle_between_bytes_is_dropped(store):
    listener = _listener(store, idle_timeout_s=0.2)
    try:
        with socket.create_connection(listener.address, timeout=10) as sock:
            sock.sendall(b"\x0bMSH|^~\\&|HIS|")  # then nothing more
            assert sock.recv(100) == b""  # the listener closed it after 0.2 s
        assert listener.wait_until(lambda li: li.open == 0, 10)
        assert read_ack(_send(listener.address[1], orm())).code == "AA"
    finally:
        listener.stop()


def test_mllp_over_tls_with_the_labs_certificate(store, tmp_path):
    config = tmp_path / "lab.toml"
    lis = parse_lis({"tls_certificate": str(TLS / "lab.pem"), "tls_key": str(TLS / "lab.key")}, config)
    listener = _listener(store, tls=tls_context(lis))
    client = ssl.create_default_context(cafile=str(TLS / "lab.pem"))
    try:
        answer = _send(listener.address[1], orm(), ssl=client, server_hostname="localhost")
        assert read_ack(answer).code == "AA"
        with socket.create_connection(listener.address, timeout=10) as plain:  # plain MLLP gets no answer
            plain.sendall(b"\x0b" + orm(control="M2").encode() + b"\x1c\r")
            try:
                answer = plain.recv(100)
            except ConnectionResetError:
                answer = b""
            assert b"MSA" not in answer  # closed (reset, or after a TLS alert): never processed
    finally:
        listener.stop()


def test_listener_settings_are_checked(tmp_path):
    config = tmp_path / "lab.toml"
    assert (LisConfig().max_connections, LisConfig().idle_timeout_s) == (16, 30.0)
    with pytest.raises(ConfigError, match="max_connections = 0: a whole number from 1 to 1000"):
        parse_lis({"max_connections": 0}, config)
    with pytest.raises(ConfigError, match="idle_timeout_s = 'x'"):
        parse_lis({"idle_timeout_s": "x"}, config)
    with pytest.raises(ConfigError, match="tls_certificate and tls_key go together"):
        parse_lis({"tls_certificate": str(TLS / "lab.pem")}, config)
    broken = parse_lis({"tls_certificate": str(TLS / "lab.key"), "tls_key": str(TLS / "lab.key")}, config)
    with pytest.raises(ConfigError, match="cannot be loaded"):
        tls_context(broken)


def test_a_frame_dribbled_byte_by_byte_is_dropped_at_its_deadline(store):
    """Slowloris: a byte before each idle timeout keeps a connection forever, and the cap's few of them shut
    out the LIS. A frame must arrive whole within message_timeout_s of its start byte."""
    listener = _listener(store, idle_timeout_s=10, message_timeout_s=0.3, max_connections=1)
    try:
        assert _dribbled_until_closed(listener, b"\x0bMSH|^~\\&|")  # dropped while bytes were still arriving
        assert listener.wait_until(lambda li: li.open == 0, 10)
        assert read_ack(_send(listener.address[1], orm())).code == "AA"  # the one slot serves the LIS again
    finally:
        listener.stop()
    assert LisConfig().message_timeout_s == 60.0
    assert parse_lis({"message_timeout_s": 5}, Path("lab.toml")).message_timeout_s == 5.0
    with pytest.raises(ConfigError, match="message_timeout_s = 0"):
        parse_lis({"message_timeout_s": 0}, Path("lab.toml"))


def test_a_tls_handshake_dribbled_byte_by_byte_is_dropped_at_its_deadline(store, tmp_path):
    lis = parse_lis({"tls_certificate": str(TLS / "lab.pem"), "tls_key": str(TLS / "lab.key")}, tmp_path / "lab.toml")
    listener = _listener(store, idle_timeout_s=10, message_timeout_s=0.3, max_connections=1, tls=tls_context(lis))
    try:
        assert _dribbled_until_closed(listener, b"\x16\x03\x01\x02\x00")  # a TLS record header, then a byte at a time
        assert listener.wait_until(lambda li: li.open == 0, 10)
        client = ssl.create_default_context(cafile=str(TLS / "lab.pem"))
        assert read_ack(_send(listener.address[1], orm(), ssl=client, server_hostname="localhost")).code == "AA"
    finally:
        listener.stop()


def _dribbled_until_closed(listener, first: bytes) -> bool:
    """Send ``first``, then a byte every 50 ms (well within the idle timeout) for up to 5 s: whether the
    listener closed the connection meanwhile."""
    with socket.create_connection(listener.address, timeout=10) as sock:
        sock.sendall(first)
        sock.settimeout(0.05)
        for _ in range(100):
            try:
                sock.sendall(b"H")
                if sock.recv(100) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
    return False
