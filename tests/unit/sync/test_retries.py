"""Failures retried without a person: what earlier runs left unsettled, failing streaks, and the repeat write."""

from __future__ import annotations

from aeops.catalog.diff import PlannedChange, repush
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus

DAG = "aliexpress_catalog_sync"
PRICE = {"skus": [{"sku_code": "S", "price": "21.00", "discount_price": None}]}


def _run(ledger: Ledger, run_id: str, outcomes: dict[int, str], dag: str = DAG, code: str = "E-1") -> int:
    """A run whose price change of each product ended in ``outcomes[pid]``."""
    run = ledger.runs.start("demo", dag, run_id)
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "price", PRICE) for pid in outcomes])
    by_pid = {c.product_id: c.id for c in ledger.changes.of_run(run)}
    for pid, status in outcomes.items():
        if status == "failed":
            ledger.changes.fail([by_pid[pid]], code, f"refused {pid}")
        else:
            ledger.changes.set_status([by_pid[pid]], ChangeStatus(status))
    ledger.runs.update(run, status="partial")
    return run


def test_the_newest_outcome_of_each_product_decides_what_is_unsettled(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    _run(ledger, "d1", {1: "failed", 2: "failed", 3: "verified", 4: "verify_failed"})
    _run(ledger, "u1", {2: "verified"}, dag="aliexpress_urgent_rerun")  # an urgent re-run fixed product 2
    skipped = ledger.runs.start("demo", DAG, "d2")
    ledger.runs.update(skipped, status="skipped")
    now = ledger.runs.start("demo", DAG, "d3")

    unsettled = ledger.changes.unsettled("demo", now)

    assert sorted(unsettled) == [(1, "price"), (4, "price")]
    assert unsettled[(1, "price")].error_code == "E-1" and unsettled[(4, "price")].status == "verify_failed"
    assert ledger.changes.unsettled("demo", 1) == {}  # a store's first run has nothing before it
    assert ledger.changes.unsettled("other-store", now) == {}


def test_only_three_failed_runs_in_a_row_make_a_streak(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    _run(ledger, "d1", {1: "failed", 2: "failed", 3: "failed"})
    second = _run(ledger, "d2", {1: "failed", 2: "verified", 3: "failed"})
    assert ledger.changes.failing_streak("demo", DAG, second) == {}  # two runs are not three
    third = _run(ledger, "d3", {1: "failed", 2: "failed", 3: "failed"}, code="F00-00-10007-011")

    streak = ledger.changes.failing_streak("demo", DAG, third)

    assert sorted(streak) == [1, 3]  # product 2 succeeded in between
    assert streak[1].error_code == "F00-00-10007-011"  # the newest failure's platform code


def test_repush_repeats_prices_and_stock_but_never_an_image() -> None:
    desired = {"title": "Mug", "freight_template_id": "1001", "main_image": "mug.jpg", "main_image_sha256": "ab",
               "skus": {"S": {"price": "21.00", "discount_price": "19.00", "stock": 5},
                        "GONE": {"price": "1.00", "discount_price": None, "stock": 1}}}
    current = {"title": "Mug", "freight_template_id": "1001", "main_image_url": "https://x/1.jpg",
               "skus": {"S": {"price": "21.00", "discount_price": "19.00", "stock": 5}}}

    price = repush(7, "price", desired, current)
    stock = repush(7, "inventory", desired, current)
    edit = repush(7, "edit", desired, current)

    assert price.payload == {"skus": [{"sku_code": "S", "price": "21.00", "discount_price": "19.00"}]}
    assert stock.payload == {"skus": [{"sku_code": "S", "inventory": 5}]}  # a SKU not on the product: left out
    assert edit.payload == {"fields": {"title": "Mug", "freight_template_id": "1001"}}  # no main_image
    assert repush(7, "price", desired, {"skus": {}}) is None


def test_a_later_read_that_finds_the_marketplace_right_settles_a_failure(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    _run(ledger, "d1", {1: "failed", 2: "failed"})
    second = ledger.runs.start("demo", DAG, "d2")  # re-read both: product 1 was fixed by hand, nothing to write
    ledger.products.save_seen("demo", {1: ({"skus": {"S": {"price": "21.00"}}}, None)})
    ledger.runs.update(second, status="success")

    assert sorted(ledger.changes.unsettled("demo", second + 1)) == [(2, "price")]


def test_the_oldest_unsynced_change_counts_from_the_first_run_it_stayed_unsynced(sqlite_url) -> None:
    ledger = Ledger(sqlite_url)
    first = _run(ledger, "d1", {1: "failed", 2: "verified"})
    ledger.changes.store_plan(first, "demo", [PlannedChange(3, "unpushable", {"reason": "SKU-NOT-ON-MARKETPLACE"})])
    second = _run(ledger, "d2", {1: "failed", 2: "verify_failed"})
    started = {r.id: r.started_at for r in ledger.runs.recent("demo")}

    assert ledger.changes.oldest_unsynced("demo", second) == started[first]  # product 1 and the blocked product 3
    assert ledger.changes.oldest_unsynced("demo", first - 1 if first > 1 else 0) is None
    third = _run(ledger, "d3", {1: "verified", 2: "verified"})
    assert ledger.changes.oldest_unsynced("demo", third) == started[first]  # product 3 is still blocked
