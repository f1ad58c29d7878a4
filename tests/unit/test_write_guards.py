"""The guards in front of every marketplace write, through the functions the DAG tasks call.

- the daily push takes the store's write lock (``aeops.sync.pushing.push_chunk``): while another run holds it,
  nothing is sent and nothing is recorded; after the longest wait it stops with ``StoreBusy`` naming the holder;
  a push that outlasts the lock's lease keeps the lock (renewed), and gives it back after;
- a dry run pushes nothing (``collect_chunks``);
- the "already synced" skip is by content (``aeops.sync.intake.pull_export``): the same path with new content is
  synced, the same content under a new name is skipped, an export a run did not finish is never skipped.

Time is a fake clock (``lock.utcnow``) and the lock's renewals are driven by events: nothing here sleeps.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aeops.catalog import lock
from aeops.catalog.diff import PlannedChange
from aeops.catalog.ledger import Ledger
from aeops.config import load_config
from aeops.store import session_scope
from aeops.store.models import ApiWrite, Change
from aeops.sync import pushing
from aeops.sync.errors import SkipStore
from aeops.sync.intake import pull_export
from aeops.verify.fake import FakeMarketplace

STORE = "demo"
START = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


class Clock:
    """The lock's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(lock, "utcnow", fake)
    return fake


@pytest.fixture
def ledger(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    return Ledger(sqlite_url)


@pytest.fixture
def config(tmp_path: Path):
    return load_config({"stores": [{"name": STORE, "exports": str(tmp_path / "exports")},
                                   {"name": "demo-kids"}]})


def planned_chunk(ledger: Ledger, market: FakeMarketplace, products: range = range(1, 4)) -> dict:
    """A run of the daily sync with price changes planned for ``products``: its one push chunk."""
    market.seed(products, {"S": ("20.00", None, 5)}, START - timedelta(days=1))
    run = ledger.start_run(STORE, "aliexpress_catalog_sync", "scheduled__1")
    ledger.store_plan(run, STORE, [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in products])
    ids = ledger.open_change_ids([run])[(run, "price")]
    return {"store": STORE, "sync_run_id": run, "kind": "price", "batches": [ids]}


def recorded_writes(ledger: Ledger) -> tuple[int, set[str]]:
    """(calls recorded in api_writes, the statuses of the changes)."""
    with session_scope(ledger.url) as s:
        return (s.scalar(select(func.count()).select_from(ApiWrite)), set(s.scalars(select(Change.status))))


def _no_sleeping(*_args) -> None:
    raise AssertionError("a waiting push must not sleep on its worker slot")


# -- the daily push takes the store's write lock ------------------------------------------------------------
def test_a_push_while_another_run_holds_the_store_sends_and_records_nothing(ledger, config, clock,
                                                                           monkeypatch) -> None:
    monkeypatch.setattr(lock.time, "sleep", _no_sleeping)
    market = FakeMarketplace(clock=clock)
    chunk = planned_chunk(ledger, market)
    assert lock.try_acquire(ledger, STORE, "sync-run-99", 600)  # an urgent re-run holds the store

    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]") is None

    assert market.writes == [] and market.calls == 0
    assert recorded_writes(ledger) == (0, {"planned"})
    [waiter] = lock.waiters(ledger, STORE)
    assert (waiter.waiter, waiter.task) == (lock.run_holder(chunk["sync_run_id"]), "push_chunk[0]")
    assert lock.inspect_lock(ledger, STORE).holder == "sync-run-99"  # untouched: still the urgent run's


def test_a_push_that_waited_its_longest_stops_with_store_busy_naming_the_holder(ledger, config, clock) -> None:
    market = FakeMarketplace(clock=clock)
    chunk = planned_chunk(ledger, market)
    assert lock.try_acquire(ledger, STORE, "sync-run-99", 3600)
    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]", max_wait_s=1800) is None
    clock.advance(1799)
    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]", max_wait_s=1800) is None

    clock.advance(1)
    with pytest.raises(lock.StoreBusy) as busy:
        pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]", max_wait_s=1800)

    assert str(busy.value) == ("store demo is held by sync-run-99 (1 task(s)) since 18:00:00 UTC; waited 30 min for "
                               "it (at most 30); 'aeops lock show' lists locks and waiters")
    assert market.writes == [] and recorded_writes(ledger) == (0, {"planned"})
    assert lock.waiters(ledger) == []


def test_a_push_sends_only_while_it_holds_the_store_and_frees_it_after(ledger, config, clock) -> None:
    seen: list[lock.LockInfo | None] = []

    class Market(FakeMarketplace):
        def update_prices_batch(self, updates):
            seen.append(lock.inspect_lock(ledger, STORE))
            return super().update_prices_batch(updates)

    market = Market(clock=clock)
    chunk = planned_chunk(ledger, market)
    assert lock.try_acquire(ledger, STORE, "sync-run-99", 600)
    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]") is None
    lock.release(ledger, STORE, "sync-run-99")  # the urgent run is done

    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]") == {"confirmed": 3}

    [held] = seen
    assert (held.holder, held.holds) == (lock.run_holder(chunk["sync_run_id"]), 1)
    assert held.expires_at == START + timedelta(seconds=pushing.LOCK_TTL_S)
    assert market.writes == [("price", [1, 2, 3])] and recorded_writes(ledger) == (1, {"confirmed"})
    assert lock.inspect_lock(ledger, STORE) is None and lock.waiters(ledger) == []
    assert lock.try_acquire(ledger, STORE, "sync-run-100", 600)  # free for the next run at once


class Renewals:
    """Drives the lock's keep-alive thread: each :meth:`tick` makes one renewal happen and waits until it did."""

    def __init__(self) -> None:
        self.due, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.intervals: list[float] = []

    def wait(self, stop: threading.Event, interval_s: float) -> bool:  # replaces lock._renewal_due
        if self.intervals:
            self.done.release()  # the renewal asked for by the last tick has happened
        self.intervals.append(interval_s)
        while not self.due.acquire(timeout=0.05):
            if stop.is_set():
                return True
        return stop.is_set()

    def tick(self) -> None:
        self.due.release()
        assert self.done.acquire(timeout=30), "the lock was not renewed"


def test_a_push_longer_than_the_lease_keeps_the_store_locked(ledger, config, clock, monkeypatch) -> None:
    renewals = Renewals()
    monkeypatch.setattr(lock, "_renewal_due", renewals.wait)
    held: list[lock.LockInfo | None] = []

    class SlowMarket(FakeMarketplace):
        def update_prices_batch(self, updates):
            for _ in range(3):  # the call takes 2.7 leases
                clock.advance(0.9 * pushing.LOCK_TTL_S)
                renewals.tick()
                held.append(lock.inspect_lock(ledger, STORE))
                assert not lock.try_acquire(ledger, STORE, "sync-run-99", 600)  # nobody else gets in meanwhile
            return super().update_prices_batch(updates)

    market = SlowMarket(clock=clock)
    chunk = planned_chunk(ledger, market)

    assert pushing.push_chunk(chunk, client=market, config=config) == {"confirmed": 3}

    holder = lock.run_holder(chunk["sync_run_id"])
    assert [(h.holder, h.expires_at) for h in held] == [
        (holder, START + timedelta(seconds=pushing.LOCK_TTL_S * (0.9 * n + 1))) for n in (1, 2, 3)]
    assert renewals.intervals[0] == pushing.LOCK_TTL_S / 3
    assert lock.inspect_lock(ledger, STORE) is None  # given back when the push ended


def test_an_expired_lease_is_not_renewed_by_its_old_holder(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "sync-run-1", 60)
    assert lock.renew(ledger, STORE, "sync-run-1", 60) is False  # not due: the lease is whole
    clock.advance(59)
    assert lock.renew(ledger, STORE, "sync-run-1", 60) is True
    assert lock.inspect_lock(ledger, STORE).expires_at == clock.now + timedelta(seconds=60)
    clock.advance(60)  # the holder died: its lease ran out
    assert lock.inspect_lock(ledger, STORE) is None
    assert lock.renew(ledger, STORE, "sync-run-1", 60) is False
    assert lock.try_acquire(ledger, STORE, "sync-run-2", 60)
    assert lock.inspect_lock(ledger, STORE).holder == "sync-run-2"


def test_store_lock_waits_for_the_holder_then_holds_and_releases(ledger, clock) -> None:
    """``acquire`` polls with its own (injected) sleep and clock: the holder finishes during the second wait."""
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)
        if len(slept) == 2:
            lock.release(ledger, STORE, "daily")

    ticks = iter(range(100))
    lock.acquire(ledger, STORE, "urgent", 600, wait_s=10, poll_s=0.5, sleep=sleep, clock=lambda: next(ticks))
    assert slept == [0.5, 0.5] and lock.inspect_lock(ledger, STORE).holder == "urgent"
    lock.release(ledger, STORE, "urgent")
    assert lock.inspect_lock(ledger, STORE) is None

    with lock.store_lock(ledger, STORE, "urgent", ttl=600):  # free: held at once, for the block only
        assert lock.inspect_lock(ledger, STORE).holder == "urgent"
        with pytest.raises(lock.StoreBusy):
            lock.store_lock(ledger, STORE, "daily").__enter__()
    assert lock.inspect_lock(ledger, STORE) is None
    assert lock.try_acquire(ledger, STORE, "teardown", 600) and lock.try_acquire(ledger, STORE, "teardown", 600)
    assert lock.release_all(ledger, STORE, "teardown") and lock.inspect_lock(ledger, STORE) is None
    assert not lock.release_all(ledger, STORE, "teardown")

    assert lock.try_acquire(ledger, STORE, "daily", 600)
    with pytest.raises(lock.StoreBusy, match=r"^store demo is held by daily \(1 task\(s\)\) since 18:00:01 UTC, "
                                             r"until 18:10:01 UTC at the latest; waited 2 s$"):
        lock.acquire(ledger, STORE, "urgent", 600, wait_s=2, poll_s=1, sleep=clock.advance,
                     clock=lambda: clock.now.timestamp())


# -- a dry run pushes nothing -------------------------------------------------------------------------------
def test_a_dry_run_has_no_push_chunks_while_a_real_run_of_the_same_plan_has(ledger, config) -> None:
    chunk = planned_chunk(ledger, FakeMarketplace())
    run_id = "scheduled__1"

    assert pushing.collect_chunks("aliexpress_catalog_sync", run_id, dry_run=True, config=config) == []
    assert pushing.collect_chunks("aliexpress_catalog_sync", run_id, dry_run=False, config=config) == [chunk]
    assert pushing.collect_chunks("aliexpress_catalog_sync", "another-run", config=config) == []


# -- "already synced" is by content -------------------------------------------------------------------------
def _export(folder: Path, name: str, price: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"product_id,sku_code,price,inventory\n1001,A-1,{price},5\n", encoding="utf-8")
    return path


def _pull(ledger: Ledger, config, run_id: str, export: Path) -> dict:
    return pull_export(STORE, "aliexpress_catalog_sync", run_id, export=str(export), config=config)


def test_the_skip_is_by_content_not_by_name(ledger, config, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    first = _pull(ledger, config, "run-1", _export(folder, "catalog.csv", "9.90"))
    ledger.mark_export_synced(first["export_id"], "run-1")

    with pytest.raises(SkipStore, match=r"^demo: export .*catalog\.csv was already synced successfully; nothing to "
                                        r"do \(force=true syncs it again\)$"):
        _pull(ledger, config, "run-2", folder / "catalog.csv")  # the same file again
    assert ledger.get_run(ledger.start_run(STORE, "aliexpress_catalog_sync", "run-2")).status == "skipped"

    renamed = _export(folder, "catalog-copy.csv", "9.90")  # the same content under a new name
    with pytest.raises(SkipStore, match="already synced"):
        _pull(ledger, config, "run-3", renamed)

    changed = _pull(ledger, config, "run-4", _export(folder, "catalog.csv", "10.90"))  # same path, new content
    assert changed["export_id"] != first["export_id"]
    assert ledger.get_run(changed["sync_run_id"]).status == "running"
    assert _pull(ledger, config, "run-5", folder / "catalog.csv")["export_id"] == changed["export_id"]  # not synced

    forced = pull_export(STORE, "aliexpress_catalog_sync", "run-6", export=str(renamed), force=True, config=config)
    assert forced["export_id"] == first["export_id"]


def test_an_export_whose_run_did_not_finish_is_never_skipped(ledger, config, tmp_path: Path) -> None:
    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    first = _pull(ledger, config, "run-1", export)
    ledger.update_run(first["sync_run_id"], status="failed")
    second = _pull(ledger, config, "run-2", export)  # failed last time: tried again
    ledger.update_run(second["sync_run_id"], status="dry_run")
    assert _pull(ledger, config, "run-3", export)["export_id"] == first["export_id"]


@pytest.mark.parametrize(("dry_run", "prepared", "marked"), [(True, True, False), (False, False, False),
                                                            (False, True, True)])
def test_only_a_finished_real_run_marks_its_export_synced(ledger, config, tmp_path: Path, dry_run: bool,
                                                          prepared: bool, marked: bool) -> None:
    """``finish``: a dry run, or a run that stopped before its plan (failed), leaves the export to the next run."""
    from aeops.sync.finish import finish

    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    pulled = _pull(ledger, config, "run-1", export)
    if prepared:
        ledger.update_run(pulled["sync_run_id"], counts={"valid_rows": 1, "planned_price": 0})
    result = finish(STORE, "aliexpress_catalog_sync", "run-1", dry_run=dry_run, config=config)

    assert result["status"] == ("dry_run" if dry_run else "success" if prepared else "failed")
    assert (ledger.get_export(pulled["export_id"]).synced_at is not None) is marked
    if not marked:
        assert _pull(ledger, config, "run-2", export)["export_id"] == pulled["export_id"]  # not skipped
