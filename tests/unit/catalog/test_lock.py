"""The per-store write lock (SQLite and PostgreSQL): atomic, shared by one run, prioritised, expiring."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from aeops.catalog.lock import StoreBusy, acquire, inspect_lock, release, try_acquire
from aeops.store.ledger import Ledger
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
    assert all(try_acquire(ledger, "demo", "run-1", 60) for _ in range(3))  # three chunks of one run
    assert inspect_lock(ledger, "demo").holds == 3
    release(ledger, "demo", "run-1")
    assert inspect_lock(ledger, "demo").holds == 2  # one hold given back, two chunks still sending
    release(ledger, "demo", "run-1")
    assert inspect_lock(ledger, "demo").holds == 1
    assert not try_acquire(ledger, "demo", "run-2", 60)
    release(ledger, "demo", "run-1")
    assert try_acquire(ledger, "demo", "run-2", 60)


def test_a_dead_holder_frees_the_store_when_its_lock_expires(ledger: Ledger) -> None:
    assert try_acquire(ledger, "demo", "crashed", 60)
    with ledger.transaction() as s:
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
# tests/unit/sync/test_write_guards.py (through push_chunk, the daily push's own path).


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
    with ledger.transaction() as s:  # its first try was two minutes ago
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


# -- the rules at their boundaries, on a clock the test moves (written from `make mutate`'s survivors) ------------
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    from aeops.catalog import lock

    now = [T0]
    monkeypatch.setattr(lock, "database_now", lambda _ledger: now[0])

    def move_to(seconds: float) -> None:
        now[0] = T0 + timedelta(seconds=seconds)

    return move_to


def row(ledger: Ledger, store: str = "demo") -> StoreLock:
    return ledger.locks.get(store)


def test_what_the_lock_shows_names_its_store_and_its_priority_waiter(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "daily", 60)
    assert not lock_module().poke(ledger, "demo", "urgent", task="take_lock", priority=True)
    info = inspect_lock(ledger, "demo")
    assert (info.store, info.holder, info.holds, info.waiting) == ("demo", "daily", 1, "urgent")
    assert (info.acquired_at, info.expires_at) == (T0, T0 + timedelta(seconds=60))
    # the default poke interval is 30 s: the store stays reserved for three of them
    assert row(ledger).waiting_until == T0 + timedelta(seconds=90)


def lock_module():
    from aeops.catalog import lock

    return lock


def test_joining_moves_the_expiry_out_never_in(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "run-1", 60)
    clock(30)
    assert try_acquire(ledger, "demo", "run-1", 60)  # a second chunk of the run, 30 s later
    assert (row(ledger).holds, row(ledger).expires_at) == (2, T0 + timedelta(seconds=90))
    assert try_acquire(ledger, "demo", "run-1", 10)  # a shorter lease does not cut the others'
    assert (row(ledger).holds, row(ledger).expires_at) == (3, T0 + timedelta(seconds=90))
    assert row(ledger).acquired_at == T0  # joined, not taken anew


def test_a_lock_whose_expiry_is_now_is_free_and_is_taken_anew(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "run-1", 60) and try_acquire(ledger, "demo", "run-1", 60)
    clock(60)  # the expiry is now: free
    assert try_acquire(ledger, "demo", "run-1", 60)  # the same run again: a new lock, not a third hold
    assert (row(ledger).holds, row(ledger).acquired_at) == (1, T0 + timedelta(seconds=60))
    clock(120)
    assert try_acquire(ledger, "demo", "run-2", 60)  # and another run at its expiry
    assert (row(ledger).holder, row(ledger).holds) == ("run-2", 1)


def test_a_priority_mark_holds_until_its_end_and_not_at_it(ledger: Ledger, clock) -> None:
    lock = lock_module()
    assert try_acquire(ledger, "demo", "daily", 60)
    assert not lock.poke(ledger, "demo", "urgent", task="take_lock", priority=True, poke_s=10)  # until T0 + 30 s
    release(ledger, "demo", "daily")
    clock(29)
    assert not try_acquire(ledger, "demo", "other", 60)
    clock(30)  # the mark ends now: the urgent run did not come back, the store is open again
    assert try_acquire(ledger, "demo", "other", 60)


def test_the_priority_waiter_that_takes_the_store_clears_its_mark(ledger: Ledger, clock) -> None:
    lock = lock_module()
    assert try_acquire(ledger, "demo", "daily", 60)
    assert not lock.poke(ledger, "demo", "urgent", task="take_lock", priority=True)
    release(ledger, "demo", "daily")
    assert lock.poke(ledger, "demo", "urgent", task="take_lock", priority=True)
    release(ledger, "demo", "urgent")
    assert try_acquire(ledger, "demo", "daily", 60)  # at once: no reservation outlives the urgent run's hold


def test_releasing_one_store_or_anothers_hold_leaves_every_other_lock_alone(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "run-1", 60) and try_acquire(ledger, "demo-kids", "run-1", 60)
    release(ledger, "demo", "run-1")
    assert inspect_lock(ledger, "demo") is None
    assert inspect_lock(ledger, "demo-kids").holds == 1  # the same holder's other store is still held
    assert try_acquire(ledger, "demo", "run-2", 60)
    release(ledger, "demo", "run-1")  # a stray release by a holder that no longer holds it
    assert (inspect_lock(ledger, "demo").holder, inspect_lock(ledger, "demo").holds) == ("run-2", 1)


def test_taking_an_expired_lock_takes_only_that_store(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "dead-1", 60) and try_acquire(ledger, "demo-kids", "dead-2", 60)
    clock(61)
    assert try_acquire(ledger, "demo", "run-3", 60)
    assert row(ledger, "demo-kids").holder == "dead-2"  # still free, but nobody took it


def test_a_waiter_is_listed_with_its_own_lease_and_oldest_first(ledger: Ledger, clock) -> None:
    lock = lock_module()
    assert lock.poke(ledger, "demo", "run-1", task="push[0]", ttl_s=45)
    assert row(ledger).expires_at == T0 + timedelta(seconds=45)  # the poke's lease, not the default
    clock(10)
    assert not lock.poke(ledger, "demo", "run-2", task="push[1]")
    clock(5)  # an older waiter seen later (its first poke came from a worker whose clock lags)
    assert not lock.poke(ledger, "demo", "run-3", task="push[0]")
    assert [(w.waiter, w.since) for w in lock.waiters(ledger)] == [
        ("run-3", T0 + timedelta(seconds=5)), ("run-2", T0 + timedelta(seconds=10))]
    [w] = lock.waiters(ledger, "demo")[1:]
    assert (w.priority, w.last_seen) == (False, T0 + timedelta(seconds=10))


def test_a_waiter_that_gives_up_or_is_forgotten_leaves_the_others_listed(ledger: Ledger, clock) -> None:
    lock = lock_module()
    assert try_acquire(ledger, "demo", "holder", 7200) and try_acquire(ledger, "demo-kids", "holder", 7200)
    # each waiter shares its store, its run or its task with others: only the one named may go
    listed = {("demo", "run-1", "push[0]"), ("demo", "run-1", "push[1]"), ("demo", "run-1", "push[2]"),
              ("demo", "run-2", "push[0]"), ("demo", "run-2", "push[1]"),
              ("demo-kids", "run-1", "push[0]"), ("demo-kids", "run-1", "push[1]")}
    for store, waiter, task in sorted(listed):
        assert not lock.poke(ledger, store, waiter, task=task, max_wait_s=3600)

    def still_listed() -> set[tuple[str, str, str]]:
        return {(w.store, w.waiter, w.task) for w in lock.waiters(ledger)}

    lock.forget_waiter(ledger, "demo", "run-1", "push[1]")
    assert still_listed() == listed - {("demo", "run-1", "push[1]")}
    clock(3600)
    with pytest.raises(StoreBusy) as busy:
        lock.poke(ledger, "demo", "run-1", task="push[0]", max_wait_s=3600)
    assert str(busy.value) == ("store demo is held by holder (1 task(s)) since 02:00:00 UTC; waited 60 min for it "
                               "(at most 60); 'aeops lock show' lists locks and waiters")
    assert still_listed() == listed - {("demo", "run-1", "push[1]"), ("demo", "run-1", "push[0]")}


def test_a_lock_taken_after_waiting_has_the_waiters_lease(ledger: Ledger, clock) -> None:
    assert try_acquire(ledger, "demo", "daily", 60)
    ticks = iter([0.0, 0.0, 5.0])  # the deadline is set, then checked once before the one sleep

    def holder_finishes(_seconds: float) -> None:
        clock(5)
        release(ledger, "demo", "daily")

    acquire(ledger, "demo", "urgent", 45, wait_s=30, sleep=holder_finishes, clock=lambda: next(ticks))
    assert (row(ledger).holder, row(ledger).expires_at) == ("urgent", T0 + timedelta(seconds=50))
