"""Fencing against the simulator over real HTTP: a daily push whose store lock is taken over between two batches
sends nothing to the marketplace after it (issue 27)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from conftest import RunningSimulator

from aeops.catalog import lock
from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.store.ledger import Ledger
from aeops.store.models import StoreLock, utcnow
from aeops.sync import pushing
from aeops.sync.errors import SyncError

PID = 9007199254740993
PRICE_API = "aliexpress.solution.batch.product.price.update"


def price(sim: RunningSimulator, pid: int) -> str:
    product = sim.catalog()["products"][str(pid)]
    return next(s for s in product["skus"] if s["sku_code"] == f"P{pid - PID}-S0")["price"]


def price_calls(sim: RunningSimulator) -> int:
    return int(httpx.get(f"{sim.url}/_sim/calls", timeout=10).json().get(PRICE_API, 0))


def test_a_lock_taken_over_between_two_batches_sends_nothing_more_to_the_marketplace(
        simulator: RunningSimulator, make_client, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    ledger = Ledger(sqlite_url)
    config = load_config({"stores": [{"name": "demo", "language": "zh-CN"}]})
    run = ledger.runs.start("demo", "aliexpress_catalog_sync", "scheduled__1")
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": f"P{pid - PID}-S0", "price": "31.00", "discount_price": None}]})
        for pid in (PID, PID + 1, PID + 2)])
    ids = sorted(ledger.changes.open_ids([run])[(run, "price")])
    chunk = {"store": "demo", "sync_run_id": run, "kind": "price", "batches": [ids[:2], ids[2:]]}
    client = make_client(simulator)
    send = client.update_prices_batch
    before = price_calls(simulator)

    def first_batch_then_stall(updates: dict[int, Any]):
        answer = send(updates)
        with ledger.transaction() as s:  # the worker froze past its lease ...
            s.get(StoreLock, "demo").expires_at = utcnow() - timedelta(seconds=1)
        assert lock.try_acquire(ledger, "demo", "sync-run-99", 600)  # ... and an urgent override took the store
        return answer

    monkeypatch.setattr(client, "update_prices_batch", first_batch_then_stall)

    with pytest.raises(SyncError) as stopped:
        pushing.push_chunk(chunk, client=client, config=config, task="push_chunk[0]")

    assert str(stopped.value) == ("店铺 demo：写入锁已被 sync-run-99 取得（本次推送失去了锁）；本次推送已停止，"
                                  "之后未再发送任何内容")
    assert price_calls(simulator) - before == 1  # the first batch only: nothing reached the marketplace after it
    assert [price(simulator, pid) for pid in (PID, PID + 1)] == ["31.00", "31.00"]
    assert price(simulator, PID + 2) != "31.00"
    assert [c.status for c in ledger.changes.load(ids)] == ["confirmed", "confirmed", "planned"]
