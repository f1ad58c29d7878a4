"""The per-store write lock (SQLite and PostgreSQL): atomic, shared by one run, prioritised, expiring."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from aeops.catalog.ledger import Ledger
from aeops.catalog.lock import StoreBusy, acquire, inspect_lock, release, release_all, store_lock, try_acquire
from aeops.store.models import StoreLock, utcnow


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    return Ledger(db_url)


def test_one_holder_at_a_time_per_store_and_other_stores_are_free(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "daily", 60)
    assert not try_acquire(ledger, "demo", "urgent", 60)
    assert try_acquire(ledger, "demo-kids", "urgent", 60)
    release(ledger, "demo", "daily")
    assert inspect_lock(ledger, "demo") is None
    assert try_acquire(ledger, "demo", "urgent", 60)


def test_parallel_chunks_of_one_run_share_it_and_the_last_release_frees_it(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "run-1", 60) and try_acquire(ledger, "demo", "run-1", 60)
    assert inspect_lock(ledger, "demo").holds == 2
    release(ledger, "demo", "run-1")
    assert not try_acquire(ledger, "demo", "run-2", 60)
    release(ledger, "demo", "run-1")
    assert try_acquire(ledger, "demo", "run-2", 60)


def test_a_dead_holder_frees_the_store_when_its_lock_expires(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "crashed", 60)
    with ledger.session() as s:
        s.get(StoreLock, "demo").expires_at = utcnow() - timedelta(seconds=1)
    assert try_acquire(ledger, "demo", "urgent", 60)
    assert inspect_lock(ledger, "demo").holder == "urgent"


def test_a_priority_waiter_stops_the_holder_from_taking_more_and_goes_next(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "daily", 60)
    with pytest.raises(StoreBusy, match="held by daily"):
        acquire(ledger, "demo", "urgent", 60, wait_s=0, priority=True)
    assert not try_acquire(ledger, "demo", "daily", 60)  # the daily run's next chunk must wait now
    release(ledger, "demo", "daily")
    assert not try_acquire(ledger, "demo", "someone-else", 60)  # the store is reserved for the waiter
    acquire(ledger, "demo", "urgent", 60, wait_s=0, priority=True)
    assert inspect_lock(ledger, "demo").holder == "urgent"


def test_only_one_of_many_racing_acquirers_wins(ledger: Ledger) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if try_acquire(ledger, "race", name, 60):
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_store_lock_waits_for_the_holder_renews_and_releases(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "daily", 60)
    threading.Timer(0.3, release, args=(ledger, "demo", "daily")).start()
    with store_lock(ledger, "demo", "urgent", ttl=0.6, wait=10):
        time.sleep(0.5)  # longer than ttl/3: the renewer keeps the lock alive
        assert inspect_lock(ledger, "demo").holder == "urgent"
    assert inspect_lock(ledger, "demo") is None
    assert try_acquire(ledger, "demo", "teardown", 60) and release_all(ledger, "demo", "teardown")
    assert inspect_lock(ledger, "demo") is None
