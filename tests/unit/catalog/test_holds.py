"""Urgent price overrides hold against the daily sync: until reverted or until hold_until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aeops.catalog.context import RunContext
from aeops.catalog.diff import PlannedChange
from aeops.catalog.holds import URGENT_DAG_ID, active_holds, hold_back, parse_until
from aeops.config import parse_config
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.sync.pushing import recheck_holds
from aeops.urgent.request import RequestError, parse_request

TZ = "Asia/Shanghai"


def override(ledger: Ledger, run_id: str, prices: dict[tuple[int, str], str], *, mode: str = "price_override",
             hold_until: str | None = None, target: str | None = None, status: str = "success",
             applied: bool = True) -> int:
    run = ledger.runs.start("demo", URGENT_DAG_ID, run_id, kind="urgent")
    by_product: dict[int, list[dict]] = {}
    for (pid, code), price in prices.items():
        by_product.setdefault(pid, []).append({"sku_code": code, "price": price, "discount_price": None})
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": items})
                                            for pid, items in by_product.items()])
    if applied:
        ledger.changes.set_status([c.id for c in ledger.changes.of_run(run)], ChangeStatus.CONFIRMED)
    ledger.runs.update(run, status=status, artifacts={"request": {"mode": mode, "dry_run": False, "run_id": target,
                                                                  "hold_until": hold_until}})
    return run


def test_an_override_holds_until_reverted_and_a_later_one_replaces_it(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    override(ledger, "bf", {(1, "A"): "8.00", (1, "B"): "9.00", (2, "C"): "5.00"})
    override(ledger, "bf2", {(1, "A"): "7.00"})
    override(ledger, "dry", {(2, "C"): "1.00"}, applied=False)  # planned only: holds nothing

    holds = active_holds(ledger, "demo", TZ)
    assert {k: (h.run_id, h.price) for k, h in holds.items()} == {
        (1, "A"): ("bf2", "7.00"), (1, "B"): ("bf", "9.00"), (2, "C"): ("bf", "5.00")}

    override(ledger, "undo", {(1, "B"): "10.00", (2, "C"): "6.00"}, mode="revert", target="bf")
    assert set(active_holds(ledger, "demo", TZ)) == {(1, "A")}  # bf reverted; bf2 still holds


def test_hold_until_ends_the_hold_in_store_time(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    override(ledger, "flash", {(1, "A"): "8.00"}, hold_until="2026-12-01T23:59")
    before = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    after = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 00:00 the next day in Beijing
    assert set(active_holds(ledger, "demo", TZ, now=before)) == {(1, "A")}
    assert active_holds(ledger, "demo", TZ, now=after) == {}
    assert parse_until("2026-12-01T23:59+00:00", TZ).utcoffset() == timedelta(0)


def test_the_daily_plan_leaves_held_skus_alone_and_keeps_the_rest(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    override(ledger, "bf", {(1, "A"): "8.00", (2, "C"): "5.00"})
    daily = [PlannedChange(1, "price", {"skus": [{"sku_code": "A", "price": "10.00", "discount_price": None},
                                                 {"sku_code": "B", "price": "12.00", "discount_price": None}]}),
             PlannedChange(2, "price", {"skus": [{"sku_code": "C", "price": "6.00", "discount_price": None}]}),
             PlannedChange(2, "inventory", {"skus": [{"sku_code": "C", "inventory": 4}]})]

    kept, held = hold_back(daily, active_holds(ledger, "demo", TZ))

    assert [(c.product_id, c.kind, [i["sku_code"] for i in c.payload["skus"]]) for c in kept] == [
        (1, "price", ["B"]), (2, "inventory", ["C"])]  # C's price dropped with its change, its stock still synced
    assert {(h["product_id"], h["sku_code"], h["run_id"]) for h in held} == {(1, "A", "bf"), (2, "C", "bf")}


def test_a_daily_push_planned_before_an_override_drops_the_held_skus(sqlite_url) -> None:
    cfg = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo"}]})
    ledger = Ledger(sqlite_url)
    daily = ledger.runs.start("demo", "aliexpress_catalog_sync", "d1")
    ledger.changes.store_plan(daily, "demo", [
        PlannedChange(1, "price", {"skus": [{"sku_code": "A", "price": "10.00", "discount_price": None},
                                            {"sku_code": "B", "price": "12.00", "discount_price": None}]}),
        PlannedChange(2, "price", {"skus": [{"sku_code": "C", "price": "6.00", "discount_price": None}]})])
    override(ledger, "bf", {(1, "A"): "8.00", (2, "C"): "5.00"})  # comes while the daily waits for the lock
    ctx = RunContext(cfg, cfg.store("demo"), ledger)

    assert recheck_holds(ctx, [c.id for c in ledger.changes.of_run(daily)]) == 2

    by_product = {c.product_id: c for c in ledger.changes.of_run(daily)}
    assert [i["sku_code"] for i in by_product[1].payload["skus"]] == ["B"] and by_product[1].status == "planned"
    assert by_product[2].status == "rejected" and by_product[2].error_code == "HELD-BY-OVERRIDE"
    assert ledger.changes.open_ids([daily]) == {(daily, "price"): [by_product[1].id]}


def test_hold_until_is_checked_when_the_override_is_requested() -> None:
    base = {"store": "demo", "mode": "price_override", "reason": "Black Friday repricing", "percent": -10}
    assert parse_request({**base, "hold_until": "2026-12-01T23:59"}, ["demo"]).hold_until == "2026-12-01T23:59"
    assert parse_request(base, ["demo"]).audit()["hold_until"] is None  # default: until reverted
    with pytest.raises(RequestError, match="hold_until must be"):
        parse_request({**base, "hold_until": "next friday"}, ["demo"])
    with pytest.raises(RequestError, match="price_override only"):
        parse_request({**base, "mode": "skus", "skus": ["A"], "hold_until": "2026-12-01T23:59"}, ["demo"])


def test_an_unchanged_export_is_synced_again_once_a_hold_it_respected_has_ended(sqlite_url) -> None:
    from aeops.sync.intake import holds_released

    cfg = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo"}]})
    ledger = Ledger(sqlite_url)
    ctx = RunContext(cfg, cfg.store("demo"), ledger)
    override(ledger, "bf", {(1, "A"): "8.00", (2, "C"): "5.00"})
    last = ledger.runs.start("demo", "aliexpress_catalog_sync", "d1")
    ledger.runs.update(last, status="success", artifacts={"held": [
        {"product_id": 1, "sku_code": "A", "run_id": "bf", "until": None},
        {"product_id": 2, "sku_code": "C", "run_id": "bf", "until": None}]})
    now = ledger.runs.start("demo", "aliexpress_catalog_sync", "d2")
    assert holds_released(ctx, "aliexpress_catalog_sync", now) == 0  # still held: the skip stands

    override(ledger, "undo", {(1, "A"): "10.00", (2, "C"): "6.00"}, mode="revert", target="bf")
    assert holds_released(ctx, "aliexpress_catalog_sync", now) == 2  # reverted: the export's prices go back


def test_the_held_skus_of_the_last_run_that_ran_count_however_many_skipped_runs_came_since(sqlite_url) -> None:
    from aeops.sync.intake import holds_released

    cfg = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo"}, {"name": "demo-kids"}]})
    ledger = Ledger(sqlite_url)
    ctx = RunContext(cfg, cfg.store("demo"), ledger)
    first = ledger.runs.start("demo", "aliexpress_catalog_sync", "d0")
    assert holds_released(ctx, "aliexpress_catalog_sync", first) == 0  # a store's first run: nothing held before
    # held until 2 hours ago in store time (Beijing): ended; read as UTC it would still hold for 6 hours
    ended = (datetime.now(ZoneInfo(TZ)) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    override(ledger, "flash", {(1, "A"): "8.00"}, hold_until=ended)
    ledger.runs.update(first, status="success", artifacts={"held": [
        {"product_id": 1, "sku_code": "A", "run_id": "flash", "until": ended}]})
    other = ledger.runs.start("demo-kids", "aliexpress_catalog_sync", "k1")  # another store's run: not this one's
    ledger.runs.update(other, status="success", artifacts={"held": []})
    for day in range(1, 8):  # a week of unchanged exports, each run skipped
        ledger.runs.update(ledger.runs.start("demo", "aliexpress_catalog_sync", f"d{day}"), status="skipped")
    now = ledger.runs.start("demo", "aliexpress_catalog_sync", "d8")

    assert holds_released(ctx, "aliexpress_catalog_sync", now) == 1  # the export's price goes back now


def test_a_daily_push_rechecks_only_its_planned_changes(sqlite_url) -> None:
    cfg = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo"}]})
    ledger = Ledger(sqlite_url)
    daily = ledger.runs.start("demo", "aliexpress_catalog_sync", "d1")
    ledger.changes.store_plan(daily, "demo", [
        PlannedChange(1, "price", {"skus": [{"sku_code": "A", "price": "10.00", "discount_price": None}]}),
        PlannedChange(2, "price", {"skus": [{"sku_code": "C", "price": "6.00", "discount_price": None}]})])
    first, second = ledger.changes.of_run(daily)
    ledger.changes.set_status([first.id], ChangeStatus.CONFIRMED)  # sent before the override came: not touched again
    ctx = RunContext(cfg, cfg.store("demo"), ledger)
    assert recheck_holds(ctx, [first.id, second.id]) == 0  # no override holds anything
    ended = (datetime.now(ZoneInfo(TZ)) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    override(ledger, "old", {(1, "A"): "7.00", (2, "C"): "4.00"}, hold_until=ended)  # ended in store time
    assert recheck_holds(ctx, [first.id, second.id]) == 0
    override(ledger, "bf", {(1, "A"): "8.00", (2, "C"): "5.00"})

    assert recheck_holds(ctx, [first.id, second.id]) == 1  # the confirmed one is past; the planned one dropped
    assert [(c.status, c.error_code) for c in ledger.changes.load([first.id, second.id])] == [
        ("confirmed", None), ("rejected", "HELD-BY-OVERRIDE")]
