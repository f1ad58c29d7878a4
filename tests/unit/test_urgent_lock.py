"""The per-store write lock (SQLite and PostgreSQL): atomic, shared by one run, prioritised, expiring."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from aeops.store import ensure_schema, session_scope
from aeops.store.models import StoreLock, utcnow
from aeops.urgent.lock import StoreBusy, acquire, inspect_lock, release, release_all, store_lock, try_acquire


@pytest.fixture
def url(db_url: str) -> str:
    ensure_schema(db_url)
    return db_url


def test_one_holder_at_a_time_per_store_and_other_stores_are_free(url: str) -> None:
    assert try_acquire(url, "demo", "daily", 60)
    assert not try_acquire(url, "demo", "urgent", 60)
    assert try_acquire(url, "demo-kids", "urgent", 60)
    release(url, "demo", "daily")
    assert inspect_lock(url, "demo") is None
    assert try_acquire(url, "demo", "urgent", 60)


def test_parallel_chunks_of_one_run_share_it_and_the_last_release_frees_it(url: str) -> None:
    assert try_acquire(url, "demo", "run-1", 60) and try_acquire(url, "demo", "run-1", 60)
    assert inspect_lock(url, "demo").holds == 2
    release(url, "demo", "run-1")
    assert not try_acquire(url, "demo", "run-2", 60)
    release(url, "demo", "run-1")
    assert try_acquire(url, "demo", "run-2", 60)


def test_a_dead_holder_frees_the_store_when_its_lock_expires(url: str) -> None:
    assert try_acquire(url, "demo", "crashed", 60)
    with session_scope(url) as s:
        s.get(StoreLock, "demo").expires_at = utcnow() - timedelta(seconds=1)
    assert try_acquire(url, "demo", "urgent", 60)
    assert inspect_lock(url, "demo").holder == "urgent"


def test_a_priority_waiter_stops_the_holder_from_taking_more_and_goes_next(url: str) -> None:
    assert try_acquire(url, "demo", "daily", 60)
    with pytest.raises(StoreBusy, match="held by daily"):
        acquire(url, "demo", "urgent", 60, wait_s=0, priority=True)
    assert not try_acquire(url, "demo", "daily", 60)  # the daily run's next chunk must wait now
    release(url, "demo", "daily")
    assert not try_acquire(url, "demo", "someone-else", 60)  # the store is reserved for the waiter
    acquire(url, "demo", "urgent", 60, wait_s=0, priority=True)
    assert inspect_lock(url, "demo").holder == "urgent"


def test_only_one_of_many_racing_acquirers_wins(url: str) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if try_acquire(url, "race", name, 60):
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_store_lock_waits_for_the_holder_renews_and_releases(url: str) -> None:
    assert try_acquire(url, "demo", "daily", 60)
    threading.Timer(0.3, release, args=(url, "demo", "daily")).start()
    with store_lock(url, "demo", "urgent", ttl=0.6, wait=10):
        time.sleep(0.5)  # longer than ttl/3: the renewer keeps the lock alive
        assert inspect_lock(url, "demo").holder == "urgent"
    assert inspect_lock(url, "demo") is None
    assert try_acquire(url, "demo", "teardown", 60) and release_all(url, "demo", "teardown")
    assert inspect_lock(url, "demo") is None
