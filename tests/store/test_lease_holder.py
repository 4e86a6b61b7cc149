"""A lease whose holder is a process of this computer that no longer runs is taken over at once; a live holder
keeps the run, and the message says who holds it and until when (sweattest/record/holder.py).

Holders are real: this test process, a child process ended and reaped, and names as another computer or an
earlier boot of this one would have written them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from sweattest.core.clock import RealClock
from sweattest.core.errors import RunLeased
from sweattest.core.protocol import load_protocol
from sweattest.record import holder
from sweattest.record.lease import Lease, process_owner
from sweattest.record.store.store import Store
from tests.store import backends
from tests.store.backends import START

store_url, clock, store = backends.store_url, backends.clock, backends.store  # both backends

ORDER = {"accession": "ST-1", "method": "macroduct", "sites": ["left_forearm"], "operator": "tech1",
         "patient": {"mrn": "MRN1", "dob": "2020-01-01", "family": "Doe", "given": "J", "sex": "F"}}
HOST = holder.this_host()


def _ended_process_owner() -> str:
    """The holder name a child process gave itself; the child has ended and was reaped."""
    code = "from sweattest.record.lease import process_owner; print(process_owner())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _create(store, clock, owner: str) -> None:
    store.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1",
                     created_at=clock.utcnow(), order=ORDER, protocol=load_protocol("macroduct"),
                     lease=(owner, clock.utcnow() + timedelta(seconds=15)))


def test_a_holder_name_tells_the_computer_its_boot_and_the_process_start():
    name = process_owner()
    parsed = holder.parse(name)
    assert (parsed.host, parsed.pid) == (HOST, os.getpid())
    if holder.boot_id() is not None:  # Linux: the boot id and the process's start time are kept
        assert parsed.boot == holder.boot_id() and parsed.start is not None
    assert len(name) <= 120 and not holder.is_gone(name)


def test_a_run_whose_process_on_this_computer_has_ended_is_taken_over_at_once(store, clock):
    gone = _ended_process_owner()
    _create(store, clock, gone)
    lease = Lease(store, "R1", owner=f"{HOST}:1:new", ttl_s=15).acquire()  # 15 s before the lease runs out
    assert store.get_run("R1")["lease_owner"] == f"{HOST}:1:new"
    assert lease.found == f"taken over from {holder.parse(gone).name}"


def test_a_run_whose_process_on_this_computer_still_runs_is_left_alone_and_the_message_says_so(store, clock):
    _create(store, clock, process_owner())
    with pytest.raises(RunLeased) as refused:
        Lease(store, "R1", owner=f"{HOST}:1:new", ttl_s=15).acquire()
    assert str(refused.value) == (
        f"run R1 is being performed by {HOST}:{os.getpid()} (lease until 09:00:15 UTC); left alone: process "
        f"{os.getpid()} on this computer is still running it. Finish the run on that process's screen, or stop "
        "that process (Ctrl-C) and resume")
    assert store.get_run("R1")["lease_owner"] == process_owner()


def test_a_run_held_by_another_computer_waits_for_its_lease_and_the_message_says_until_when(store, clock):
    other = "bench-b:202:bbbb2222:0123456789ab.777"
    _create(store, clock, other)
    clock.advance(14.9)
    with pytest.raises(RunLeased) as refused:
        Lease(store, "R1", owner=f"{HOST}:1:new", ttl_s=15).acquire()
    assert str(refused.value) == (
        "run R1 is being performed by bench-b:202 (lease until 09:00:15 UTC); left alone: another computer "
        "(bench-b) holds it. If that station has stopped, resume the run after 09:00:15 UTC, when its lease "
        "runs out")
    clock.advance(0.1)
    assert Lease(store, "R1", owner=f"{HOST}:1:new", ttl_s=15).acquire().found == "ran out"
    assert store.get_run("R1")["lease_until"] == START + timedelta(seconds=30)


@pytest.mark.skipif(holder.boot_id() is None, reason="the system tells no boot id")
def test_a_process_id_used_again_after_a_reboot_or_by_another_process_is_not_the_holder():
    me = holder.parse(process_owner())
    earlier_boot = f"{HOST}:{os.getpid()}:aaaa1111:{'f' * 12}.{me.start}"
    assert holder.is_gone(earlier_boot)  # this very process id, but the computer has booted since
    parent = os.getppid()  # alive; it started at another time than the one named
    assert holder.is_gone(f"{HOST}:{parent}:aaaa1111:{me.boot}.1")
    assert not holder.is_gone(holder.own_name(parent, "aaaa1111"))
    assert not holder.is_gone(f"{HOST}:{parent}:aaaa1111")  # an older holder name: alive is alive
    assert not holder.is_gone(f"other-{HOST}:999999:aaaa1111")  # another computer: not seen from here


def test_a_garbled_holder_in_the_store_is_never_taken_for_gone_and_never_breaks_the_check():
    for garbled in (f"{HOST}:99999999999999999999:x", f"{HOST}:-1:x", f"{HOST}:abc:x", "garbage", "", "::::",
                    f"{HOST}:1:x:.", f"{HOST}:1:x:zz.", f"{HOST}:1:x:.123"):
        assert holder.is_gone(garbled) is False, garbled  # process 1 runs; the rest names no process


def test_a_lease_with_a_holder_but_no_time_is_free_and_the_run_can_be_resumed(store, clock):
    _create(store, clock, "bench-b:202:bbbb2222")
    with store._begin() as conn:
        conn.exec_driver_sql("UPDATE runs SET lease_until = NULL")
    lease = Lease(store, "R1", owner=f"{HOST}:1:new", ttl_s=15).acquire()
    assert lease.found == "free"
    assert store.get_run("R1")["lease_owner"] == f"{HOST}:1:new"


class _SkewedClock(RealClock):
    """A station's wall clock that is ``skew_s`` seconds off."""

    def __init__(self, skew_s: float):
        self.skew_s = skew_s

    def utcnow(self):
        return super().utcnow() + timedelta(seconds=self.skew_s)


def test_two_stations_on_one_postgresql_agree_when_a_lease_runs_out_whatever_their_own_clocks_say():
    url, admin, name = backends.postgres_schema_url()
    try:
        station_a, station_b = Store(url, _SkewedClock(0)), Store(url, _SkewedClock(120))  # b's clock 2 min ahead
        try:
            lease_a = Lease(station_a, "R1", owner="bench-a:101:aaaa1111", ttl_s=15)
            station_a.create_run("R1", accession="ST-1", method="macroduct", operator="tech1", patient_mrn="MRN1",
                                 created_at=station_a.clock.utcnow(), order=ORDER, protocol=load_protocol("macroduct"),
                                 lease=lease_a.for_new_run())
            with pytest.raises(RunLeased):  # a's lease is live on the server's clock: b waits
                Lease(station_b, "R1", owner="bench-b:202:bbbb2222", ttl_s=15).acquire()
            assert station_a.get_run("R1")["lease_owner"] == "bench-a:101:aaaa1111"
            lease_a.renew()  # a still holds it
        finally:
            station_a.engine.dispose()
            station_b.engine.dispose()
    finally:
        backends.drop_schema(admin, name)


@pytest.mark.skipif(holder.booted_at() is None, reason="the system tells no boot time")
def test_another_computer_with_the_same_name_is_not_taken_for_this_one_before_a_reboot():
    """Two stations cloned from one image may share a host name: a holder with another boot id whose lease was
    renewed since this computer booted is another computer's live process, not one from before a reboot."""
    other_boot = f"{HOST}:{os.getpid()}:aaaa1111:{'f' * 12}.1"
    booted = holder.booted_at()
    assert not holder.is_gone(other_boot, renewed=booted + timedelta(seconds=5))
    assert holder.is_gone(other_boot, renewed=booted - timedelta(seconds=5))  # from before this boot
    assert holder.is_gone(other_boot)  # nothing known of its renewals: taken for one from before the reboot


def test_two_resumes_at_once_of_a_run_whose_process_ended_only_one_wins(store, clock):
    _create(store, clock, _ended_process_owner())
    won, refused = [], []
    barrier = threading.Barrier(2)

    def resume(owner: str) -> None:
        barrier.wait(timeout=30)
        try:
            won.append(Lease(store, "R1", owner=owner, ttl_s=15).acquire().owner)
        except RunLeased:
            refused.append(owner)

    threads = [threading.Thread(target=resume, args=(f"{HOST}:1:{name}",)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == 1 and len(refused) == 1
    assert store.get_run("R1")["lease_owner"] == won[0]


@pytest.mark.skipif(not hasattr(os, "waitid"), reason="no waitid")
def test_a_holder_that_has_ended_but_was_not_reaped_yet_a_zombie_is_gone():
    child = subprocess.Popen(["cat"], stdin=subprocess.PIPE)
    try:
        name = holder.own_name(child.pid, "aaaa1111")
        assert not holder.is_gone(name)
        child.stdin.close()
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, left unreaped: a zombie
        assert holder.is_gone(name)
    finally:
        child.wait(timeout=30)
    assert holder.is_gone(name)  # reaped: no process has its id
