"""Two bench stations sharing one PostgreSQL database, each a real `sweattest serve` (``SWEATTEST_STATION``
names them): a station killed in the middle of a run does not hold up the other's run, and each station, at
its restart, resumes its own runs only."""

from __future__ import annotations

import pytest

from sweattest.record.store.store import open_store
from tests.serving import SECOND, Serve, add_users, confirm, end_all, free_port, live, logged_in, start_training_run
from tests.store.backends import drop_schema, postgres_schema_url
from tests.web.test_station_restart import ROUNDS, _prompt, _wait_for_screen


@pytest.fixture
def shared_db():
    url, admin, name = postgres_schema_url()
    add_users(url)
    yield url
    drop_schema(admin, name)


def _resumed(serve: Serve) -> list[str]:
    serve.wait_for_line(lambda line: "bench UI on" in line)
    return [line.split()[2] for line in serve.lines if "was unfinished: outputs forced off, resumed" in line]


def test_a_dead_station_holds_up_no_other_and_each_resumes_its_own_runs(shared_db):
    started: list[Serve] = []

    def station(name: str, port: int) -> Serve:
        serve = Serve(shared_db, port, speed=120.0, env={"SWEATTEST_STATION": name})
        started.append(serve)
        return serve

    try:
        port_a, port_b = free_port(), free_port()
        a, b = station("bench-a", port_a), station("bench-b", port_b)
        client_a, token_a = logged_in(a.base)
        client_b, token_b = logged_in(b.base)
        run_a = start_training_run(client_a, token_a)
        run_b = start_training_run(client_b, token_b, "ST-2026-000124", SECOND)
        _wait_for_screen(a, client_a, run_a, "stimulation")
        _wait_for_screen(b, client_b, run_b, "place_on_balance")  # bench-b waits for its tech
        a.crash()  # bench-a dies (its server and its station's process) in the middle of a stimulation

        first = _prompt(client_b, run_b)
        confirm(client_b, token_b, run_b, first[0])  # bench-b goes on: its tech weighs, its run moves
        for _ in range(ROUNDS):
            now = _prompt(client_b, run_b)
            if now is not None and now[0] != first[0]:
                break
            b.pause()
        assert live(client_b, run_b)["screen"] != "interrupted"

        b.crash()  # bench-b dies too; bench-a comes back first
        assert _resumed(station("bench-a", port_a)) == [run_a]  # its own run only
        assert _resumed(station("bench-b", port_b)) == [run_b]
        store = open_store(shared_db)
        try:
            assert store.get_run(run_a)["station"] == "bench-a" and store.get_run(run_b)["station"] == "bench-b"
            for run_id in (run_a, run_b):
                [crash] = [e for e in store.events(run_id) if e.kind == "crash"]
                # killed: taken over at once (its process gone), or after its lease ran out on a slow restart
                assert crash.data["lease"].startswith("taken over from ") or crash.data["lease"] == "ran out"
        finally:
            store.close()
    finally:
        end_all(started)
