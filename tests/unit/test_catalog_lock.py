"""The per-store write lock (SQLite and PostgreSQL): atomic, shared by one run, prioritised, expiring."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from aeops.catalog.ledger import Ledger
from aeops.catalog.lock import StoreBusy, acquire, inspect_lock, release, try_acquire
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


# Waiting, renewal past the lease and release with an injected clock and events (no sleeps):
# tests/unit/test_write_guards.py (through push_chunk, the daily push's own path).


# -- waiting without a worker slot -------------------------------------------------------------------
def _no_sleeping(*_args) -> None:
    raise AssertionError("a waiting task must not sleep on its worker slot")


def test_a_waiting_push_returns_at_once_and_is_listed_until_it_holds_the_lock(ledger: Ledger,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from aeops.catalog import lock
    from aeops.config import load_config
    from aeops.sync.pushing import push_chunk

    monkeypatch.setattr(lock.time, "sleep", _no_sleeping)
    monkeypatch.setenv("AEOPS_DATABASE_URL", ledger.url)
    assert try_acquire(ledger, "demo", "sync-run-99", 60)  # an urgent run holds the store
    chunk = {"store": "demo", "sync_run_id": 1, "kind": "price", "batches": [[1, 2]]}

    assert push_chunk(chunk, config=load_config({"stores": [{"name": "demo"}]}), task="push_chunk[0]") is None
    [waiter] = lock.waiters(ledger, "demo")
    assert (waiter.waiter, waiter.task, waiter.priority) == ("sync-run-1", "push_chunk[0]", False)

    release(ledger, "demo", "sync-run-99")
    assert lock.poke(ledger, "demo", "sync-run-1", task="push_chunk[0]")  # the next poke gets it
    assert lock.waiters(ledger) == [] and inspect_lock(ledger, "demo").holder == "sync-run-1"


def test_a_waiter_gives_up_after_its_longest_wait_naming_the_holder(ledger: Ledger) -> None:
    from aeops.catalog import lock
    from aeops.store.models import StoreLockWaiter

    assert try_acquire(ledger, "demo", "sync-run-7", 60)
    assert not lock.poke(ledger, "demo", "sync-run-8", task="take_lock", max_wait_s=60)
    with ledger.session() as s:  # its first try was two minutes ago
        s.get(StoreLockWaiter, ("demo", "sync-run-8", "take_lock")).since = utcnow() - timedelta(minutes=2)
    with pytest.raises(StoreBusy, match="held by sync-run-7.*waited 2 min"):
        lock.poke(ledger, "demo", "sync-run-8", task="take_lock", max_wait_s=60)
    assert lock.waiters(ledger) == []


def test_a_priority_waiter_keeps_the_store_reserved_between_its_pokes(ledger: Ledger) -> None:
    from aeops.catalog import lock

    assert try_acquire(ledger, "demo", "daily", 60)
    assert not lock.poke(ledger, "demo", "urgent", task="take_lock", priority=True, poke_s=5)
    assert not try_acquire(ledger, "demo", "daily", 60)  # the daily run's next chunk must wait now
    release(ledger, "demo", "daily")
    assert not try_acquire(ledger, "demo", "another-run", 60)  # reserved for the urgent run until its next poke
    assert lock.poke(ledger, "demo", "urgent", task="take_lock", priority=True, poke_s=5)


def test_a_forced_release_frees_the_store_and_records_who_and_why(ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys) -> None:
    from aeops import cli
    from aeops.catalog import lock

    assert try_acquire(ledger, "demo", "sync-run-3", 600) and try_acquire(ledger, "demo", "sync-run-3", 600)
    assert not lock.poke(ledger, "demo", "sync-run-4", task="push_chunk[2] of run 4")
    monkeypatch.setenv("AEOPS_DATABASE_URL", ledger.url)

    assert cli.main(["lock", "show"]) == 0
    shown = capsys.readouterr().out
    assert "demo: held by sync-run-3 (2 task(s))" in shown and "push_chunk[2] of run 4 as sync-run-4" in shown
    assert cli.main(["lock", "release", "demo", "--reason", "worker died"]) == 2  # --force is required
    assert cli.main(["lock", "release", "demo", "--force"]) == 2  # and a reason
    assert "--reason" in capsys.readouterr().err

    assert cli.main(["lock", "release", "demo", "--force", "--reason", "worker died mid-push"]) == 0
    assert inspect_lock(ledger, "demo") is None
    [record] = lock.releases(ledger, "demo")
    assert (record.holder, record.holds, record.reason) == ("sync-run-3", 2, "worker died mid-push")
    assert "@" in record.released_by  # user@host
    assert cli.main(["lock", "show", "demo"]) == 0
    assert "released by" in capsys.readouterr().out and try_acquire(ledger, "demo", "sync-run-4", 60)
