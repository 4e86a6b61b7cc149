"""The order folder reads regular files only, with real links, FIFOs and devices: a symbolic link is never
followed (an outside file is not read, its control ID not echoed), a FIFO never waited on, a file above the
MLLP limit not read; nothing is overwritten in done/ and ack/; a Latin-1 file is answered as over MLLP."""

import os
import threading

import pytest
import sqlalchemy as sa

from sweattest.core.config import LabConfig
from sweattest.lis.ack import read_ack
from sweattest.lis.listener import OrderListener, rejecter
from sweattest.lis.mllp import MAX_MESSAGE, FrameReader, frame
from sweattest.lis.order_drop import process_folder
from sweattest.lis.worklist import receive
from sweattest.record.store import schema
from sweattest.record.store.store import Store
from tests.lis.messages import orm


@pytest.fixture
def folder(tmp_path, clock):
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}", clock)
    drop = tmp_path / "orders"
    drop.mkdir()

    def process():
        return process_folder(drop, lambda text: receive(store, clock, text, LabConfig()),
                              rejecter("SWEATTEST", "SWEATLAB", clock.utcnow))

    yield drop, process, store
    store.close()


@pytest.fixture
def clock():
    from datetime import UTC, datetime

    from sweattest.core.clock import VirtualClock
    return VirtualClock(start=datetime(2026, 11, 20, 8, tzinfo=UTC))


def _orders(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.lis_orders)).scalar()


def test_a_symbolic_link_is_not_followed(folder, tmp_path):
    drop, process, store = folder
    outside = tmp_path / "secret.hl7"
    outside.write_text(orm(control="SECRET-ID"), encoding="utf-8")
    (drop / "link.hl7").symlink_to(outside)
    assert process() == [("link.hl7", "AR")]
    ack = (drop / "ack" / "link.ack").read_text(encoding="utf-8")
    assert "symbolic link" in read_ack(ack).text and "SECRET-ID" not in ack
    assert os.path.islink(drop / "rejected" / "link.hl7")
    assert outside.read_bytes() == orm(control="SECRET-ID").encode()  # the outside file untouched
    assert _orders(store) == 0


def test_a_fifo_is_never_waited_on(folder):
    drop, process, store = folder
    os.mkfifo(drop / "pipe.hl7")
    (drop / "z.hl7").write_text(orm(), encoding="utf-8")
    result = {}
    worker = threading.Thread(target=lambda: result.update(done=process()), daemon=True)
    worker.start()
    worker.join(20)  # returns at once; a folder reader that opened the FIFO would wait here for a writer
    assert not worker.is_alive()
    assert result["done"] == [("pipe.hl7", "AR"), ("z.hl7", "AA")]
    assert "a FIFO, not a regular file" in read_ack((drop / "ack" / "pipe.ack").read_text(encoding="utf-8")).text
    assert (drop / "rejected" / "pipe.hl7").is_fifo() and _orders(store) == 1


def test_a_device_is_not_read(folder):
    drop, process, _ = folder
    try:
        os.mknod(drop / "dev.hl7", 0o600 | 0o020000, os.makedev(1, 5))  # a character device like /dev/zero
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    assert process() == [("dev.hl7", "AR")]
    assert "a device, not a regular file" in read_ack((drop / "ack" / "dev.ack").read_text(encoding="utf-8")).text


def test_a_file_above_the_mllp_limit_is_not_read(folder):
    drop, process, store = folder
    big = drop / "big.hl7"
    with open(big, "wb") as fh:
        fh.write(orm().encode())
        fh.truncate(100 * 1024 * 1024)  # 100 MB (sparse)
    assert process() == [("big.hl7", "AR")]
    text = read_ack((drop / "ack" / "big.ack").read_text(encoding="utf-8")).text
    assert f"file of {100 * 1024 * 1024} bytes is larger than {MAX_MESSAGE} bytes" in text
    assert _orders(store) == 0


def test_files_of_the_same_name_never_overwrite_each_others_evidence(folder):
    drop, process, store = folder
    (drop / "order.hl7").write_text(orm(), encoding="utf-8")
    assert process() == [("order.hl7", "AA")]
    (drop / "order.hl7").write_text(orm(control="M2", placer="ACC-1002"), encoding="utf-8")
    assert process() == [("order.hl7", "AA")]
    (drop / "order.hl7").write_text(orm(control="M3", test="GLUC"), encoding="utf-8")
    assert process() == [("order.hl7", "AE")]
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["order.2.hl7", "order.hl7"]
    assert "ACC-1002" in (drop / "done" / "order.2.hl7").read_text(encoding="utf-8")
    assert sorted(p.name for p in (drop / "ack").iterdir()) == ["order.2.ack", "order.3.ack", "order.ack"]
    assert [read_ack((drop / "ack" / n).read_text(encoding="utf-8")).control_id
            for n in ("order.ack", "order.2.ack", "order.3.ack")] == ["MSG0001", "M2", "M3"]
    assert (drop / "rejected" / "order.hl7").exists() and _orders(store) == 2


def test_latin_1_is_answered_as_over_mllp(folder, clock):
    drop, process, store = folder
    latin = orm().replace("Doe^Jane", "Doe^Ren\u00e9e").replace("|P|2.5.1", "|P|2.5.1||||||8859/1")
    (drop / "latin.hl7").write_bytes(latin.encode("latin-1"))
    assert process() == [("latin.hl7", "AR")]
    from_folder = read_ack((drop / "ack" / "latin.ack").read_text(encoding="utf-8"))
    listener = OrderListener(("127.0.0.1", 0), lambda text: receive(store, clock, text, LabConfig()),
                             rejecter("SWEATTEST", "SWEATLAB", clock.utcnow)).start()
    try:
        import socket
        with socket.create_connection(listener.address, timeout=5) as sock:
            sock.sendall(frame(latin.encode("latin-1")))
            over_mllp = read_ack(FrameReader(sock).read().decode())
    finally:
        listener.stop()
    assert (from_folder.code, from_folder.control_id, from_folder.text) == (over_mllp.code, over_mllp.control_id,
                                                                            over_mllp.text)
    assert "not UTF-8" in from_folder.text and _orders(store) == 0


def test_an_entry_that_cannot_be_read_or_moved_never_stops_the_orders_after_it(folder, monkeypatch):
    """A file the service may not read, a directory named like an order and a link whose name is not UTF-8 are
    each left or refused on their own: the orders after them are taken, and no answer is written twice."""
    drop, process, store = folder
    (drop / "a-denied.hl7").write_text(orm(control="DENIED"), encoding="utf-8")
    (drop / "b-directory.hl7").mkdir()
    os.symlink(b"/etc/passwd", os.fsencode(drop) + b"/c-latin-\xe9.hl7")
    (drop / "d-order.hl7").write_text(orm(control="M2", placer="ACC-1002"), encoding="utf-8")
    real_open = os.open

    def denied(path, *args, **kwargs):
        if os.fsdecode(path).endswith("a-denied.hl7"):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert process() == [("c-latin-\udce9.hl7", "AR"), ("d-order.hl7", "AA")]
    assert process() == []  # the next pass: nothing answered again
    assert "symbolic link" in read_ack((drop / "ack" / "c-latin-\udce9.ack").read_text(encoding="utf-8")).text
    assert sorted(p.name for p in (drop / "ack").iterdir()) == ["c-latin-\udce9.ack", "d-order.ack"]
    assert (drop / "a-denied.hl7").exists() and (drop / "b-directory.hl7").is_dir()  # left where they are
    assert _orders(store) == 1


def test_a_utf8_byte_order_mark_is_read_as_utf8_in_the_folder_and_over_mllp(folder, clock):
    """Windows tools write UTF-8 files with a byte order mark: it is not part of the message."""
    drop, process, store = folder
    (drop / "bom.hl7").write_bytes(b"\xef\xbb\xbf" + orm().replace("Doe^Jane", "Doe^Ren\u00e9e").encode())
    assert process() == [("bom.hl7", "AA")]
    listener = OrderListener(("127.0.0.1", 0), lambda text: receive(store, clock, text, LabConfig()),
                             rejecter("SWEATTEST", "SWEATLAB", clock.utcnow)).start()
    try:
        import socket
        with socket.create_connection(listener.address, timeout=5) as sock:
            sock.sendall(frame(b"\xef\xbb\xbf" + orm(control="M2", placer="ACC-1002").encode()))
            over_mllp = read_ack(FrameReader(sock).read().decode())
    finally:
        listener.stop()
    assert (over_mllp.code, over_mllp.control_id) == ("AA", "M2") and _orders(store) == 2


@pytest.mark.parametrize("sub", ["ack", "done", "rejected"])
def test_answer_folders_that_are_links_are_never_written_through(folder, tmp_path, sub):
    """done/, ack/ or rejected/ replaced by a link to another folder of the machine: nothing is written there
    (an order's file or answer would land anywhere); the orders wait, and the folder says why in the log."""
    drop, process, store = folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (drop / sub).symlink_to(elsewhere, target_is_directory=True)
    (drop / "order.hl7").write_text(orm(), encoding="utf-8")
    (drop / "bad.hl7").write_text("garbage", encoding="utf-8")
    assert process() == []
    assert list(elsewhere.iterdir()) == [] and (drop / "order.hl7").exists() and _orders(store) == 0


def test_order_files_named_in_capitals_are_read_too(folder):
    """A Windows LIS writes ORDER.HL7: it is an order file like order.hl7, not one left unanswered for ever."""
    drop, process, store = folder
    (drop / "ORDER1.HL7").write_text(orm(), encoding="utf-8")
    (drop / "order2.Hl7").write_text(orm(control="M2", placer="ACC-1002"), encoding="utf-8")
    (drop / "order3.hl7.tmp").write_text(orm(control="M3", placer="ACC-1003"), encoding="utf-8")  # still written
    assert process() == [("ORDER1.HL7", "AA"), ("order2.Hl7", "AA")]
    assert sorted(p.name for p in (drop / "ack").iterdir()) == ["ORDER1.ack", "order2.ack"]
    assert (drop / "order3.hl7.tmp").exists() and _orders(store) == 2


def _arrived_after(later, earlier) -> None:
    """Change ``later``'s inode time until the file system's (coarse) clock puts it after ``earlier``'s: a
    few milliseconds at most, bounded."""
    for _ in range(100_000):
        if os.lstat(later).st_ctime_ns > os.lstat(earlier).st_ctime_ns:
            return
        os.chmod(later, 0o644)
    raise AssertionError("the file system's clock did not move")


def test_files_are_taken_in_the_order_they_arrived_not_by_name(folder):
    """The LIS names its files by its own clock, which was set back between the order and its cancel: the cancel
    (written second) has the earlier name. It still cancels the order instead of being refused before it."""
    drop, process, store = folder
    (drop / "20261120-0800-order.tmp").write_text(orm(), encoding="utf-8")
    os.rename(drop / "20261120-0800-order.tmp", drop / "20261120-0800-order.hl7")
    (drop / "20261120-0759-cancel.tmp").write_text(orm(control="C1", control_code="CA"), encoding="utf-8")
    os.rename(drop / "20261120-0759-cancel.tmp", drop / "20261120-0759-cancel.hl7")
    _arrived_after(drop / "20261120-0759-cancel.hl7", drop / "20261120-0800-order.hl7")
    assert process() == [("20261120-0800-order.hl7", "AA"), ("20261120-0759-cancel.hl7", "AA")]
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(schema.lis_orders.c.state)).scalars().all() == ["cancelled"]
