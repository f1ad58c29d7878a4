"""Fencing: a push writes only while its run still holds the store's lock at the generation it took.

A daily push that stalls past its lease (a frozen worker, a long GC pause) while an urgent override takes the
store must not go on pushing daily prices over the override: each batch's record before sending checks the lock's
token in the same transaction, and a renewal that finds the lock lost stops the push before its next batch. Time is
the lock's clock (``lock.database_now``), moved by the test; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aeops.catalog import context as context_module
from aeops.catalog import lock
from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.sync import pushing
from aeops.sync.errors import SyncError
from aeops.verify.fake import FakeMarketplace

STORE = "demo"
START = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(lock, "database_now", lambda _ledger: fake())
    return fake


@pytest.fixture
def ledger(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("AEOPS_DATABASE_URL", db_url)
    for module in (pushing, context_module):
        monkeypatch.setattr(module, "load_airflow_config", lambda: pytest.fail("settings are given"))
    return Ledger(db_url)


@pytest.fixture
def config(tmp_path: Path):
    return load_config({"stores": [{"name": STORE, "language": "en", "images_dir": str(tmp_path)}]})


def two_batches(ledger: Ledger, market: FakeMarketplace) -> dict:
    """A daily run's push chunk of two price batches: products 1-3, then 4-6."""
    market.seed(range(1, 7), {"S": ("20.00", None, 5)}, START - timedelta(days=1))
    run = ledger.runs.start(STORE, "aliexpress_catalog_sync", "scheduled__1")
    ledger.changes.store_plan(run, STORE, [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in range(1, 7)])
    ids = sorted(ledger.changes.open_ids([run])[(run, "price")])
    return {"store": STORE, "sync_run_id": run, "kind": "price", "batches": [ids[:3], ids[3:]]}


def statuses(ledger: Ledger, chunk: dict) -> list[str]:
    return [c.status for c in ledger.changes.load([i for batch in chunk["batches"] for i in batch])]


class StolenAfterFirstBatch(FakeMarketplace):
    """The first batch's call stalls past the lease; meanwhile an urgent run takes the store."""

    def __init__(self, ledger: Ledger, clock: Clock, steal) -> None:
        super().__init__(clock=clock)
        self.ledger, self.steal = ledger, steal

    def update_prices_batch(self, updates):
        result = super().update_prices_batch(updates)
        if len(self.writes) == 1:
            self.steal()
        return result


def test_a_lock_stolen_between_two_batches_stops_the_second(ledger, config, clock) -> None:
    def stall_and_lose_the_store() -> None:
        clock.advance(lock.DEFAULT_TTL_S + 1)  # the worker froze: its lease ran out, nobody renewed it
        assert lock.try_acquire(ledger, STORE, "sync-run-99", 600)  # the urgent override takes the store

    market = StolenAfterFirstBatch(ledger, clock, stall_and_lose_the_store)
    chunk = two_batches(ledger, market)

    with pytest.raises(SyncError) as stopped:
        pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]")

    assert str(stopped.value) == ("store demo: write lock lost to sync-run-99; this push stopped and sent nothing "
                                  "more")
    assert market.writes == [("price", [1, 2, 3])]  # nothing was sent after the lock was lost
    assert statuses(ledger, chunk) == ["confirmed"] * 3 + ["planned"] * 3  # left for the next run, unsent
    held = lock.inspect_lock(ledger, STORE)
    assert (held.holder, held.holds) == ("sync-run-99", 1)  # the stalled push gave back nothing of the new lock


def test_a_store_released_by_force_between_two_batches_stops_the_second(ledger, config, clock) -> None:
    market = StolenAfterFirstBatch(ledger, clock, lambda: lock.force_release(ledger, STORE, by="ops@host",
                                                                             reason="stuck"))
    chunk = two_batches(ledger, market)

    with pytest.raises(SyncError, match="write lock lost .released or expired, nobody holds it now."):
        pushing.push_chunk(chunk, client=market, config=config)

    assert market.writes == [("price", [1, 2, 3])]
    assert statuses(ledger, chunk)[3:] == [ChangeStatus.PLANNED] * 3
    assert lock.inspect_lock(ledger, STORE) is None


def test_a_renewal_that_finds_the_lock_lost_marks_the_hold_and_stops_renewing(ledger, clock, monkeypatch) -> None:
    due, done = threading.Semaphore(0), threading.Semaphore(0)
    renewals: list[int] = []

    def renewal_due(stop: threading.Event, _interval: float) -> bool:
        if renewals:
            done.release()
        renewals.append(1)
        while not due.acquire(timeout=0.05):
            if stop.is_set():
                return True
        return False

    monkeypatch.setattr(lock, "_renewal_due", renewal_due)
    assert lock.try_acquire(ledger, STORE, "sync-run-1", 60)
    with lock.held_lock(ledger, STORE, "sync-run-1", ttl=60) as hold:
        due.release()
        assert done.acquire(timeout=30)  # renewed while held
        assert not hold.lost.is_set()
        hold.check()
        clock.advance(61)
        assert lock.try_acquire(ledger, STORE, "sync-run-2", 60)
        due.release()
        deadline = threading.Event()
        for _ in range(600):  # the renewal thread ends once it found the lock lost
            if hold.lost.is_set():
                break
            deadline.wait(0.05)
        assert hold.lost_to == "sync-run-2"
        with pytest.raises(lock.LockLost) as lost:
            hold.check()
        assert lost.value.lost_to == "sync-run-2"
    assert lock.inspect_lock(ledger, STORE).holder == "sync-run-2"  # its hold untouched by the old holder's end
    assert len(renewals) == 2  # no renewal after the loss


def test_a_lease_is_measured_on_the_database_clock(db_url: str) -> None:
    """Acquiring takes "now" from the database, not the worker: the lease ends ttl after the database's now."""
    ledger = Ledger(db_url)
    before = ledger.locks.now()
    assert lock.try_acquire(ledger, STORE, "run-1", 60)
    after = ledger.locks.now()
    expires = ledger.locks.get(STORE).expires_at
    assert before + timedelta(seconds=60) <= expires <= after + timedelta(seconds=60)


def test_the_lost_lock_message_reads_in_the_stores_language() -> None:
    exc = lock.LockLost(lock.LockToken(STORE, "sync-run-1", 3), "sync-run-9")
    assert lock.lost_message(exc, "en") == ("store demo: write lock lost to sync-run-9; this push stopped and sent "
                                            "nothing more")
    chinese = lock.lost_message(exc, "zh-CN")
    assert "sync-run-9" in chinese and "demo" in chinese and "lock" not in chinese
