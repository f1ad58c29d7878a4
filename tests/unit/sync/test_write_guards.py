"""The guards in front of every marketplace write, through the functions the DAG tasks call.

- the daily push takes the store's write lock (``aeops.sync.pushing.push_chunk``): while another run holds it,
  nothing is sent and nothing is recorded; after the longest wait it stops with ``StoreBusy`` naming the holder;
  a push that outlasts the lock's lease keeps the lock (renewed), and gives it back after;
- a dry run pushes nothing (``collect_chunks``);
- the "already synced" skip is by content (``aeops.sync.intake.pull_export``): the same path with new content is
  synced, the same content under a new name is skipped, an export a run did not finish is never skipped.

Time is a fake clock (``lock.database_now``, the database's clock) and the lock's renewals are driven by events:
nothing here sleeps.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aeops.catalog import context as context_module
from aeops.catalog import lock
from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.store import session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import ApiWrite, Change
from aeops.store.status import ChangeStatus
from aeops.sync import pushing
from aeops.sync.errors import SkipStore, SyncError
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
    monkeypatch.setattr(lock, "database_now", lambda _ledger: fake())
    return fake


def _no_airflow_settings():
    raise AssertionError("a step given its settings must not look up the aeops_config Variable")


@pytest.fixture
def ledger(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    for module in (pushing, context_module):
        monkeypatch.setattr(module, "load_airflow_config", _no_airflow_settings)
    return Ledger(sqlite_url)


@pytest.fixture
def config(tmp_path: Path):
    return load_config({"stores": [
        {"name": STORE, "exports": str(tmp_path / "exports"), "images_dir": str(tmp_path / "images"),
         "export_settle_seconds": 0},  # files written by the test are whole (settling: test_export_settle.py)
        {"name": "demo-kids", "exports": str(tmp_path / "exports")}]})  # an export Param is read only in there


def planned_chunk(ledger: Ledger, market: FakeMarketplace, products: range = range(1, 4)) -> dict:
    """A run of the daily sync with price changes planned for ``products``: its one push chunk."""
    market.seed(products, {"S": ("20.00", None, 5)}, START - timedelta(days=1))
    run = ledger.runs.start(STORE, "aliexpress_catalog_sync", "scheduled__1")
    ledger.changes.store_plan(run, STORE, [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in products])
    ids = ledger.changes.open_ids([run])[(run, "price")]
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
    """By default a push waits 30 minutes for the store."""
    market = FakeMarketplace(clock=clock)
    chunk = planned_chunk(ledger, market)
    assert lock.try_acquire(ledger, STORE, "sync-run-99", 3600)
    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]") is None
    clock.advance(1799)
    assert pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]") is None

    clock.advance(1)
    with pytest.raises(lock.StoreBusy) as busy:
        pushing.push_chunk(chunk, client=market, config=config, task="push_chunk[0]")

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
    assert held.expires_at == START + timedelta(seconds=lock.DEFAULT_TTL_S)
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
                clock.advance(0.9 * lock.DEFAULT_TTL_S)
                renewals.tick()
                held.append(lock.inspect_lock(ledger, STORE))
                assert not lock.try_acquire(ledger, STORE, "sync-run-99", 600)  # nobody else gets in meanwhile
            return super().update_prices_batch(updates)

    market = SlowMarket(clock=clock)
    chunk = planned_chunk(ledger, market)

    assert pushing.push_chunk(chunk, client=market, config=config) == {"confirmed": 3}

    holder = lock.run_holder(chunk["sync_run_id"])
    assert [(h.holder, h.expires_at) for h in held] == [
        (holder, START + timedelta(seconds=lock.DEFAULT_TTL_S * (0.9 * n + 1))) for n in (1, 2, 3)]
    assert renewals.intervals[0] == lock.DEFAULT_TTL_S / 3
    assert lock.inspect_lock(ledger, STORE) is None  # given back when the push ended


def test_an_expired_lease_is_not_renewed_by_its_old_holder(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "sync-run-1", 60)
    assert lock.renew(ledger, STORE, "sync-run-1", 60) is True  # still held: the lease stays whole, never cut
    assert lock.inspect_lock(ledger, STORE).expires_at == clock.now + timedelta(seconds=60)
    assert lock.renew(ledger, STORE, "sync-run-1", 10) is True  # a shorter lease does not cut it either
    assert lock.inspect_lock(ledger, STORE).expires_at == clock.now + timedelta(seconds=60)
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


def test_the_dag_s_longest_wait_is_the_one_that_counts(ledger, config, clock) -> None:
    chunk = planned_chunk(ledger, FakeMarketplace(clock=clock))
    assert lock.try_acquire(ledger, STORE, "sync-run-99", 3600)
    assert pushing.push_chunk(chunk, client=FakeMarketplace(), config=config, task="t", max_wait_s=60) is None
    clock.advance(60)
    with pytest.raises(lock.StoreBusy, match=r"waited 1 min for it \(at most 1\)"):
        pushing.push_chunk(chunk, client=FakeMarketplace(), config=config, task="t", max_wait_s=60)


def test_a_chunk_of_several_batches_adds_up_and_uses_the_store_s_client_and_images(ledger, config, clock,
                                                                                  monkeypatch) -> None:
    market = FakeMarketplace(clock=clock)
    chunk = planned_chunk(ledger, market, range(1, 46))  # 45 products: batches of 20, 20 and 5
    chunk["batches"] = [ids for ids in (chunk["batches"][0][:20], chunk["batches"][0][20:40],
                                        chunk["batches"][0][40:])]
    monkeypatch.setattr(pushing, "client_for", lambda ctx: market if ctx.store.name == STORE else None)
    images_dirs: list[str | None] = []
    real_push_batch = pushing.push_batch

    def push_batch(*args, **kwargs):
        images_dirs.append(kwargs.get("images_dir"))
        return real_push_batch(*args, **kwargs)

    monkeypatch.setattr(pushing, "push_batch", push_batch)

    assert pushing.push_chunk(chunk, config=config) == {"confirmed": 45}
    assert [len(ids) for _, ids in market.writes] == [20, 20, 5]
    assert images_dirs == [config.stores[0].images_dir] * 3


# -- a dry run pushes nothing -------------------------------------------------------------------------------
def test_a_dry_run_has_no_push_chunks_while_a_real_run_of_the_same_plan_has(ledger, config) -> None:
    chunk = planned_chunk(ledger, FakeMarketplace())
    run_id = "scheduled__1"

    assert pushing.collect_chunks("aliexpress_catalog_sync", run_id, dry_run=True, config=config) == []
    assert pushing.collect_chunks("aliexpress_catalog_sync", run_id, config=config) == [chunk]  # real by default
    assert pushing.collect_chunks("aliexpress_catalog_sync", "another-run", config=config) == []


def test_every_store_and_kind_of_a_run_is_cut_into_chunks(ledger, config) -> None:
    run = ledger.runs.start(STORE, "aliexpress_catalog_sync", "scheduled__2")
    kids = ledger.runs.start("demo-kids", "aliexpress_catalog_sync", "scheduled__2")
    ledger.changes.store_plan(run, STORE, [PlannedChange(pid, "price", {"skus": [{"sku_code": "S", "price": "2.00"}]})
                                           for pid in range(1, 42)])  # 41 products: 3 batches
    ledger.changes.store_plan(kids, "demo-kids",
                              [PlannedChange(7, "inventory", {"skus": [{"sku_code": "K", "inventory": 1}]})])

    found = pushing.collect_chunks("aliexpress_catalog_sync", "scheduled__2", config=config, chunk_batches=2)

    assert sorted((c["store"], c["kind"], [len(b) for b in c["batches"]]) for c in found) == [
        ("demo", "price", [1]), ("demo", "price", [20, 20]), ("demo-kids", "inventory", [1])]


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
    assert ledger.runs.export(first["export_id"]).path == str(folder / "catalog.csv")  # where it was first seen
    ledger.runs.mark_export_synced(first["export_id"], "run-1")

    with pytest.raises(SkipStore, match=r"^demo: export .*catalog\.csv was already synced successfully; nothing to "
                                        r"do \(force=true syncs it again\)$"):
        _pull(ledger, config, "run-2", folder / "catalog.csv")  # the same file again
    skipped = ledger.runs.get(ledger.runs.start(STORE, "aliexpress_catalog_sync", "run-2"))
    sha = ledger.runs.export(first["export_id"]).sha256
    assert (skipped.status, skipped.message) == ("skipped", f"export {folder / 'catalog.csv'} (sha256 {sha[:12]}) was "
                                                            "already synced; trigger with force=true to sync it again")

    renamed = _export(folder, "catalog-copy.csv", "9.90")  # the same content under a new name
    with pytest.raises(SkipStore, match="already synced"):
        _pull(ledger, config, "run-3", renamed)

    changed = _pull(ledger, config, "run-4", _export(folder, "catalog.csv", "10.90"))  # same path, new content
    assert changed["export_id"] != first["export_id"]
    assert ledger.runs.get(changed["sync_run_id"]).status == "running"
    assert _pull(ledger, config, "run-5", folder / "catalog.csv")["export_id"] == changed["export_id"]  # not synced

    forced = pull_export(STORE, "aliexpress_catalog_sync", "run-2", export=str(renamed), force=True, config=config)
    assert forced == {"sync_run_id": ledger.runs.start(STORE, "aliexpress_catalog_sync", "run-2"),
                      "export_id": first["export_id"], "path": str(renamed)}
    run = ledger.runs.get(forced["sync_run_id"])
    assert (run.status, run.message) == ("running", None)  # the skip of this run's first try is forgotten


def test_no_export_in_the_store_s_folder_is_an_error_saying_where(ledger, config, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    with pytest.raises(SyncError, match=r"^demo: no export \(\*\.csv, \*\.xlsx\) found in '.*exports'$"):
        pull_export(STORE, "aliexpress_catalog_sync", "run-1", config=config)
    _export(tmp_path / "exports", "catalog.csv", "9.90")
    assert pull_export(STORE, "aliexpress_catalog_sync", "run-2", config=config)["path"].endswith("catalog.csv")


def test_an_export_whose_run_did_not_finish_is_never_skipped(ledger, config, tmp_path: Path) -> None:
    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    first = _pull(ledger, config, "run-1", export)
    ledger.runs.update(first["sync_run_id"], status="failed")
    second = _pull(ledger, config, "run-2", export)  # failed last time: tried again
    ledger.runs.update(second["sync_run_id"], status="dry_run")
    assert _pull(ledger, config, "run-3", export)["export_id"] == first["export_id"]


@pytest.mark.parametrize(("dry_run", "prepared", "marked"), [(True, True, False), (False, False, False),
                                                            (False, True, True)])
def test_only_a_finished_real_run_marks_its_export_synced(ledger, config, tmp_path: Path, monkeypatch, dry_run: bool,
                                                          prepared: bool, marked: bool) -> None:
    """``finish``: a dry run, or a run that stopped before its plan (failed), leaves the export to the next run."""
    from aeops.sync import finish as finish_module

    summaries: list[dict] = []
    monkeypatch.setattr(finish_module, "notify_summary", lambda ctx, run, summary: summaries.append(summary))
    finish = finish_module.finish
    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    pulled = _pull(ledger, config, "run-1", export)
    if prepared:
        ledger.runs.update(pulled["sync_run_id"], counts={"valid_rows": 1, "planned_price": 0})
    result = finish(STORE, "aliexpress_catalog_sync", "run-1", dry_run=dry_run, config=config)

    assert result["status"] == ("dry_run" if dry_run else "success" if prepared else "failed")
    assert [s["status"] for s in summaries] == [result["status"]]  # the Slack summary says so (not sent here)
    assert (ledger.runs.export(pulled["export_id"]).synced_at is not None) is marked
    if not marked:
        assert _pull(ledger, config, "run-2", export)["export_id"] == pulled["export_id"]  # not skipped


# -- the lock's rules, one by one (each line of aeops.catalog.lock and of its SQL, aeops.store.repos.store_locks, has a
# test that fails when it breaks) --------------------------------------------------------------------------------
def _row(ledger: Ledger, store: str = STORE):
    return ledger.locks.get(store)


def _never_sleep(seconds: float) -> None:
    raise AssertionError(f"acquire slept {seconds} s: it must give up at once")


def test_acquire_by_default_neither_waits_nor_jumps_the_queue(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    with pytest.raises(lock.StoreBusy, match=r"; waited 0 s$"):
        lock.acquire(ledger, STORE, "urgent", sleep=_never_sleep)
    assert _row(ledger).waiting is None  # not a priority waiter unless it says so
    with pytest.raises(lock.StoreBusy):  # the deadline is reached at the first look: no sleep at all
        lock.acquire(ledger, STORE, "urgent", 600, wait_s=0, sleep=_never_sleep, clock=lambda: 0.0)


def test_acquire_takes_the_lock_for_its_ttl(ledger, clock) -> None:
    lock.acquire(ledger, STORE, "urgent", 60)
    assert lock.inspect_lock(ledger, STORE).expires_at == START + timedelta(seconds=60)


@pytest.mark.parametrize(("poll_s", "grace_s"), [(0.5, 5), (2, 10)])
def test_a_priority_waiter_reserves_the_store_for_five_polls_at_least_five_seconds(ledger, clock, poll_s: float,
                                                                                   grace_s: int) -> None:
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    with pytest.raises(lock.StoreBusy):
        lock.acquire(ledger, STORE, "urgent", 600, wait_s=0, priority=True, poll_s=poll_s, sleep=_never_sleep)
    row = _row(ledger)
    assert (row.waiting, row.waiting_until) == ("urgent", START + timedelta(seconds=grace_s))


def test_a_store_reserved_by_a_priority_waiter_is_busy_even_while_free(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    with pytest.raises(lock.StoreBusy):
        lock.acquire(ledger, STORE, "urgent", 600, priority=True, sleep=_never_sleep)
    lock.release(ledger, STORE, "daily")
    with pytest.raises(lock.StoreBusy) as busy:
        lock.acquire(ledger, STORE, "another-run", 600, sleep=_never_sleep)
    assert str(busy.value) == "store demo is busy; waited 0 s"


def test_priority_marks_belong_to_one_store_and_one_waiter_until_they_go_stale(ledger, clock) -> None:
    for store in (STORE, "demo-kids"):
        assert lock.try_acquire(ledger, store, "daily", 600)
    assert not lock.poke(ledger, STORE, "urgent-1", task="take_lock", priority=True, poke_s=5)  # reserved 15 s
    assert _row(ledger, "demo-kids").waiting is None  # the other store is not reserved

    clock.advance(10)
    assert not lock.poke(ledger, STORE, "urgent-2", task="take_lock", priority=True, poke_s=5)
    assert _row(ledger).waiting == "urgent-1"  # a fresh mark is not taken over
    assert not lock.poke(ledger, STORE, "urgent-1", task="take_lock", priority=True, poke_s=5)
    assert _row(ledger).waiting_until == clock.now + timedelta(seconds=15)  # its owner extends it

    clock.advance(15)  # urgent-1 stopped poking: exactly at the end of its mark, another waiter may take it
    assert not lock.poke(ledger, STORE, "urgent-2", task="take_lock", priority=True, poke_s=5)
    assert _row(ledger).waiting == "urgent-2"


def test_renew_and_release_all_touch_only_their_holders_lock_of_their_store(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "run-a", 60) and lock.try_acquire(ledger, "demo-kids", "run-b", 60)
    clock.advance(50)
    assert not lock.renew(ledger, STORE, "run-b", 60)  # not its lock
    assert lock.renew(ledger, "demo-kids", "run-b", 60)
    assert lock.inspect_lock(ledger, STORE).expires_at == START + timedelta(seconds=60)
    assert lock.inspect_lock(ledger, "demo-kids").expires_at == clock.now + timedelta(seconds=60)

    assert lock.try_acquire(ledger, STORE, "run-a", 60)  # two holds
    assert not lock.release_all(ledger, STORE, "run-b") and lock.inspect_lock(ledger, STORE).holder == "run-a"
    assert lock.release_all(ledger, STORE, "run-a")
    assert lock.inspect_lock(ledger, STORE) is None and _row(ledger).holds == 0
    assert lock.inspect_lock(ledger, "demo-kids").holder == "run-b"


def test_the_renewal_wait_ends_at_its_interval_or_when_the_block_ends() -> None:
    stop = threading.Event()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(lock._renewal_due(stop, 0.01)), daemon=True)
    waiter.start()
    waiter.join(timeout=30)
    assert outcome == [False]  # the interval passed: renew now
    stop.set()
    assert lock._renewal_due(stop, 3600) is True  # the block ended: stop renewing, at once


def test_locks_lists_the_held_locks_by_store_with_their_priority_waiter(ledger, clock) -> None:
    assert lock.try_acquire(ledger, "demo-kids", "run-b", 60) and lock.try_acquire(ledger, STORE, "run-a", 30)
    assert lock.try_acquire(ledger, "zz-expired", "run-c", 10)
    assert not lock.poke(ledger, "demo-kids", "urgent", task="take_lock", priority=True)
    clock.advance(10)  # zz-expired's lease ends exactly now

    assert [(i.store, i.holder, i.waiting) for i in lock.locks(ledger)] == [(STORE, "run-a", None),
                                                                           ("demo-kids", "run-b", "urgent")]


def test_a_forced_release_clears_the_reservation_and_records_what_it_freed(ledger, clock) -> None:
    with pytest.raises(ValueError, match=r"^a reason is required to release a store lock by force$"):
        lock.force_release(ledger, STORE, by="ops@host", reason="  ")
    assert lock.try_acquire(ledger, STORE, "run-a", 600) and lock.try_acquire(ledger, STORE, "run-a", 600)
    assert not lock.poke(ledger, STORE, "urgent", task="take_lock", priority=True)
    clock.advance(5)

    freed = lock.force_release(ledger, STORE, by="ops@host", reason=" worker died ")

    assert (freed.holder, freed.holds) == ("run-a", 2)
    row = _row(ledger)
    assert (row.holds, row.waiting, row.waiting_until) == (0, None, None)
    assert lock.try_acquire(ledger, STORE, "another-run", 600)  # free for anyone at once, reservation gone
    assert lock.force_release(ledger, "demo-kids", by="ops@host", reason="just in case") is None
    newest, first = lock.releases(ledger)
    assert (newest.store, newest.holder, newest.holds) == ("demo-kids", None, 0)
    assert (first.holder, first.holds, first.reason, first.released_by) == ("run-a", 2, "worker died", "ops@host")
    assert first.released_at == START + timedelta(seconds=5)
    assert [r.store for r in lock.releases(ledger, STORE)] == [STORE]


def test_releases_lists_the_newest_twenty_by_default(ledger, clock) -> None:
    for n in range(21):
        lock.force_release(ledger, STORE, by="ops", reason=f"release {n}")
    shown = lock.releases(ledger)
    assert [r.reason for r in shown] == [f"release {n}" for n in range(20, 0, -1)]
    assert len(lock.releases(ledger, limit=3)) == 3


def test_a_wait_is_announced_once_naming_the_holder(ledger, clock, caplog) -> None:
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    polls = iter(range(100))

    def sleep(_seconds: float) -> None:
        if next(polls) == 2:
            lock.release(ledger, STORE, "daily")

    with caplog.at_level("INFO", logger="aeops.catalog.lock"):
        lock.acquire(ledger, STORE, "urgent", 600, wait_s=10, priority=True, sleep=sleep, clock=lambda: 0.0)
    said = [r.getMessage() for r in caplog.records if r.name == "aeops.catalog.lock"]
    assert said == ["store demo is locked by daily; waiting up to 10 s (priority)"]


def test_poke_keeps_one_waiter_row_per_store_waiter_and_task(ledger, clock) -> None:
    for store in (STORE, "demo-kids"):
        assert lock.try_acquire(ledger, store, "urgent", 3600)
    assert not lock.poke(ledger, STORE, "run-1", task="t")
    assert not lock.poke(ledger, "demo-kids", "run-1", task="t")
    assert not lock.poke(ledger, STORE, "run-2", task="t")
    assert not lock.poke(ledger, STORE, "run-1", task="t2", priority=True, poke_s=1)
    row = _row(ledger)
    assert (row.waiting, row.waiting_until) == ("run-1", START + timedelta(seconds=5))
    assert {(w.store, w.waiter, w.task, w.priority) for w in lock.waiters(ledger)} == {
        (STORE, "run-1", "t", False), ("demo-kids", "run-1", "t", False), (STORE, "run-2", "t", False),
        (STORE, "run-1", "t2", True)}

    lock.release(ledger, STORE, "urgent")
    assert lock.poke(ledger, STORE, "run-1", task="t")  # holds it now, for the default lease
    assert lock.inspect_lock(ledger, STORE).holder == "run-1"
    assert lock.inspect_lock(ledger, STORE).expires_at == START + timedelta(seconds=lock.DEFAULT_TTL_S)
    assert {(w.store, w.waiter, w.task) for w in lock.waiters(ledger)} == {
        ("demo-kids", "run-1", "t"), (STORE, "run-2", "t"), (STORE, "run-1", "t2")}  # only its own row went


def test_poke_gives_up_after_thirty_minutes_by_default_saying_how_long(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "urgent", 7200)
    assert not lock.poke(ledger, STORE, "run-1", task="t")
    clock.advance(1799)
    assert not lock.poke(ledger, STORE, "run-1", task="t")
    clock.advance(1)
    with pytest.raises(lock.StoreBusy, match=r"waited 30 min for it \(at most 30\)"):
        lock.poke(ledger, STORE, "run-1", task="t")

    assert not lock.poke(ledger, STORE, "run-2", task="t", max_wait_s=60)
    clock.advance(90)
    with pytest.raises(lock.StoreBusy) as busy:
        lock.poke(ledger, STORE, "run-2", task="t", max_wait_s=60)
    assert str(busy.value) == ("store demo is held by urgent (1 task(s)) since 18:00:00 UTC; waited 2 min for it "
                               "(at most 1); 'aeops lock show' lists locks and waiters")
    assert _row(ledger).waiting is None  # nobody asked for priority


def test_a_store_reserved_for_another_waiter_is_busy_to_a_poke(ledger, clock) -> None:
    assert lock.try_acquire(ledger, STORE, "daily", 600)
    assert not lock.poke(ledger, STORE, "urgent", task="take_lock", priority=True, poke_s=600)
    lock.release(ledger, STORE, "daily")
    assert not lock.poke(ledger, STORE, "run-3", task="t", max_wait_s=60)
    clock.advance(60)
    with pytest.raises(lock.StoreBusy) as busy:
        lock.poke(ledger, STORE, "run-3", task="t", max_wait_s=60)
    assert str(busy.value).startswith("store demo is busy; waited 1 min for it (at most 1);")


def test_the_skip_is_per_store(ledger, config, tmp_path: Path) -> None:
    """The same file synced for one store is still to sync for another."""
    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    kids = pull_export("demo-kids", "aliexpress_catalog_sync", "run-1", export=str(export), config=config)
    ledger.runs.mark_export_synced(kids["export_id"], "run-1")
    mine = _pull(ledger, config, "run-1", export)
    assert mine["export_id"] != kids["export_id"]
    assert ledger.runs.get(mine["sync_run_id"]).status == "running"


# -- urgent holds, re-checked by the daily price push ----------------------------------------------------------------
def urgent_run(ledger: Ledger, run_id: str, product: int, price: str, *, applied: bool) -> dict:
    """An urgent price override of ``product``'s SKU S (applied: it holds now); its push chunk."""
    from aeops.catalog.holds import URGENT_DAG_ID
    from aeops.store.status import ChangeStatus

    run = ledger.runs.start(STORE, URGENT_DAG_ID, run_id, kind="urgent")
    ledger.changes.store_plan(run, STORE, [PlannedChange(product, "price", {"skus": [
        {"sku_code": "S", "price": price, "discount_price": None}]})])
    ids = [c.id for c in ledger.changes.of_run(run)]
    if applied:
        ledger.changes.set_status(ids, ChangeStatus.CONFIRMED)
    ledger.runs.update(run, status="success" if applied else "running", artifacts={"request": {
        "mode": "price_override", "dry_run": False, "run_id": None, "hold_until": None}})
    return {"store": STORE, "sync_run_id": run, "kind": "price", "batches": [ids]}


def test_a_daily_price_push_leaves_alone_what_an_override_holds_and_only_that(ledger, config, clock) -> None:
    market = FakeMarketplace(clock=clock)
    price = planned_chunk(ledger, market)  # products 1-3, planned before the override came
    daily = price["sync_run_id"]
    ledger.changes.store_plan(daily, STORE, [PlannedChange(pid, "inventory",
                                                           {"skus": [{"sku_code": "S", "inventory": 9}]})
                                             for pid in range(1, 4)])
    stock = {**price, "kind": "inventory", "batches": [ledger.changes.open_ids([daily])[(daily, "inventory")]]}
    urgent_run(ledger, "bf", 2, "8.00", applied=True)  # product 2's price is held from now on

    assert pushing.push_chunk(stock, client=market, config=config) == {"confirmed": 3}  # stock is never held
    assert pushing.push_chunk(price, client=market, config=config) == {"confirmed": 2, "rejected": 1}

    assert market.writes == [("inventory", [1, 2, 3]), ("price", [1, 3])]
    [held] = [c for c in ledger.changes.of_run(daily) if c.status == "rejected"]
    assert (held.product_id, held.kind, held.error_code, held.error_message) == (
        2, "price", "HELD-BY-OVERRIDE", "an urgent price override holds this SKU's price (until it is reverted or "
        "ends); the daily sync leaves it alone")
    # an urgent run's own price push is the override (or its revert): never held back by another override
    again = urgent_run(ledger, "bf-deeper", 2, "7.00", applied=False)
    assert pushing.push_chunk(again, client=market, config=config) == {"confirmed": 1}
    assert market.writes[-1] == ("price", [2])


# -- the export skip: what makes an unchanged export run again, and which file a run takes ---------------------------
def test_an_unchanged_export_runs_again_for_earlier_failures_or_an_ended_hold_and_is_skipped_otherwise(
        ledger, config, tmp_path: Path) -> None:
    export = _export(tmp_path / "exports", "catalog.csv", "9.90")
    first = _pull(ledger, config, "run-1", export)
    ledger.changes.store_plan(first["sync_run_id"], STORE, [PlannedChange(1, "price", {"skus": [
        {"sku_code": "S", "price": "9.90", "discount_price": None}]})])
    ledger.changes.fail([c.id for c in ledger.changes.of_run(first["sync_run_id"])], "F00-00-10007-024", "refused")
    ledger.runs.mark_export_synced(first["export_id"], "run-1")
    ledger.runs.update(first["sync_run_id"], status="partial")
    other = ledger.runs.start("demo-kids", "aliexpress_catalog_sync", "kids-1")  # another store's failure: not ours
    ledger.changes.store_plan(other, "demo-kids",
                              [PlannedChange(2, "price", {"skus": [{"sku_code": "K", "price": "1.00"}]})])
    ledger.changes.fail([c.id for c in ledger.changes.of_run(other)], "F00-00-10007-024", "refused")

    retried = _pull(ledger, config, "run-2", export)  # the failure is retried without a person
    assert ledger.runs.get(retried["sync_run_id"]).status == "running"
    ledger.changes.store_plan(retried["sync_run_id"], STORE, [PlannedChange(1, "price", {"skus": [
        {"sku_code": "S", "price": "9.90", "discount_price": None}]})])
    ledger.changes.set_status([c.id for c in ledger.changes.of_run(retried["sync_run_id"])], ChangeStatus.VERIFIED)
    ledger.runs.update(retried["sync_run_id"], status="success", artifacts={"held": [
        {"product_id": 1, "sku_code": "S", "run_id": "bf", "until": None}]})
    urgent_run(ledger, "bf", 1, "8.00", applied=True)  # the override that run respected still holds

    with pytest.raises(SkipStore, match="already synced"):
        _pull(ledger, config, "run-3", export)  # settled, and the hold stands: nothing to do
    urgent = ledger.runs.start(STORE, "aliexpress_urgent_rerun", "undo")  # the override is reverted
    ledger.runs.update(urgent, status="success", artifacts={"request": {"mode": "revert", "dry_run": False,
                                                                         "run_id": "bf", "hold_until": None}})
    assert ledger.runs.get(_pull(ledger, config, "run-4", export)["sync_run_id"]).status == "running"


def test_a_run_takes_the_export_its_wait_settled_and_never_one_still_being_written(ledger, config, tmp_path: Path,
                                                                                   monkeypatch) -> None:
    from aeops.sync.intake import export_settled

    folder = tmp_path / "exports"
    settled = _export(folder, "day1.csv", "9.90")
    assert export_settled(STORE, "aliexpress_catalog_sync", "run-1", config=config)
    newer = _export(folder, "day2.csv", "10.90")  # arrives after the wait took day1
    os.utime(newer, (time.time() + 60, time.time() + 60))
    assert pull_export(STORE, "aliexpress_catalog_sync", "run-1", config=config)["path"] == str(settled)

    marked = load_config({"stores": [{"name": STORE, "exports": str(folder), "export_markers": True}]})
    with pytest.raises(SyncError) as unsettled:  # without the waiting sensor: the newest has no .done marker yet
        pull_export(STORE, "aliexpress_catalog_sync", "run-2", config=marked)
    assert str(unsettled.value) == (f"demo: export {newer} is not whole yet: waiting for its marker "
                                    f"{newer.name}.done (the ERP writes it when the export is complete)")
    # the wait with markers: the newest counts once its marker is there (however fresh the file); a run given a file
    # waits for that file's own marker
    assert not export_settled(STORE, "aliexpress_catalog_sync", "run-3", config=marked)
    Path(f"{newer}.done").write_text("", encoding="utf-8")
    assert export_settled(STORE, "aliexpress_catalog_sync", "run-3", config=marked)
    assert ledger.runs.find(STORE, "run-3").artifacts["settled_export"] == str(newer)
    assert not export_settled(STORE, "aliexpress_catalog_sync", "run-4", export=str(settled), config=marked)


def test_an_export_is_recorded_only_for_a_run_that_exists_and_marked_only_if_recorded(ledger) -> None:
    with pytest.raises(LookupError, match=r"^sync run 999 not found$"):
        ledger.runs.record_export(STORE, "/x/catalog.csv", 10, "ab" * 32, 999)
    with pytest.raises(LookupError, match=r"^export 999 not found$"):
        ledger.runs.mark_export_synced(999, "run-1")
