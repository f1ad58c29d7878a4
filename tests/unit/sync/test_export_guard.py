"""The export guard: each threshold (strictly "more than" its limit, only what aeops knows compared), the
per-store settings, and the hold through the functions the DAG's tasks call: a held store's changes stay out of the
push while the other store's go; Reject writes nothing and Approve pushes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aeops.catalog import context as context_module
from aeops.catalog.diff import SKUS_UNKNOWN, diff_catalog
from aeops.config import ConfigError, ExportGuardConfig, load_config
from aeops.reports.guard_texts import check_lines, decision_text, move_lines
from aeops.store import session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import Change
from aeops.sync import guard_hold, pushing
from aeops.sync.export_guard import evaluate
from aeops.verify.fake import FakeMarketplace

DEFAULTS = ExportGuardConfig()
DAG = "aliexpress_catalog_sync"
RUN = "scheduled__2026-12-06"


def catalog(n: int = 10, price: str = "10.00", discount: str | None = None, stock: int = 5
            ) -> dict[int, dict[str, Any]]:
    """``n`` products of one SKU each, as the export (desired) or the store's state (current) holds them."""
    return {pid: {"title": f"p{pid}", "skus": {f"S{pid}": {"price": price, "discount_price": discount,
                                                            "stock": stock}}} for pid in range(1, n + 1)}


def with_skus(products: dict[int, dict[str, Any]], changes: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {pid: {**p, "skus": {code: dict(v) for code, v in p["skus"].items()}} for pid, p in products.items()}
    for pid, values in changes.items():
        out[pid]["skus"][f"S{pid}"].update(values)
    return out


def judge(desired, current, baseline=None, config: ExportGuardConfig = DEFAULTS):
    return evaluate(desired, current, diff_catalog(desired, current), baseline, config)


def check(result, name: str) -> dict[str, Any]:
    return next(c for c in result.checks if c["check"] == name)


def test_an_export_that_matches_the_store_is_not_held() -> None:
    result = judge(catalog(), catalog(), baseline=list(range(1, 11)))
    assert not result.held and result.tripped == []
    assert [c["count"] for c in result.checks] == [0, 0, 0, 0]


# -- changed prices: more than 20% of the compared SKUs ------------------------------------------------------
def test_two_of_ten_prices_changed_is_at_the_limit_and_three_is_over_it() -> None:
    at_limit = judge(with_skus(catalog(), {1: {"price": "11.00"}, 2: {"price": "11.00"}}), catalog())
    assert not at_limit.held and check(at_limit, "changed_prices") | {"tripped": False} == {
        "check": "changed_prices", "count": 2, "of": 10, "value": 20.0, "limit": 20.0, "tripped": False}
    over = judge(with_skus(catalog(), {i: {"price": "11.00"} for i in (1, 2, 3)}), catalog())
    assert over.held and over.tripped == ["changed_prices"]
    assert check(over, "changed_prices")["value"] == 30.0


def test_a_changed_discount_is_a_changed_price() -> None:
    result = judge(with_skus(catalog(discount="8.00"), {i: {"discount_price": "7.50"} for i in (1, 2, 3)}),
                   catalog(discount="8.00"))
    assert result.tripped == ["changed_prices"]


# -- price move: any price by more than 50% ------------------------------------------------------------------
def test_one_price_halved_is_not_held_but_one_more_cent_down_is() -> None:
    halved = judge(with_skus(catalog(), {1: {"price": "5.00"}}), catalog())
    assert not halved.held and check(halved, "price_move")["value"] == 50.0
    cut = judge(with_skus(catalog(), {1: {"price": "4.99"}}), catalog())
    assert cut.held and cut.tripped == ["price_move"]
    assert check(cut, "price_move")["count"] == 1
    assert cut.moves["prices"][0] | {} == {"product_id": 1, "sku_code": "S1", "old": "10.00", "new": "4.99",
                                           "old_discount": None, "new_discount": None, "percent": -50.1}


def test_a_price_raised_past_the_limit_or_a_discount_cut_past_it_is_held() -> None:
    assert judge(with_skus(catalog(), {1: {"price": "15.01"}}), catalog()).tripped == ["price_move"]
    assert judge(with_skus(catalog(price="20.00", discount="10.00"), {1: {"discount_price": "4.00"}}),
                 catalog(price="20.00", discount="10.00")).tripped == ["price_move"]


def test_every_price_at_a_cent_is_held_with_the_largest_moves_first() -> None:
    desired = with_skus(catalog(), {i: {"price": "0.01"} for i in range(1, 11)})
    desired[3]["skus"]["S3"]["price"] = "9.00"
    result = judge(desired, catalog())
    assert result.tripped == ["changed_prices", "price_move"]
    assert [m["percent"] for m in result.moves["prices"]][:2] == [-99.9, -99.9]
    assert result.moves["prices"][-1]["product_id"] == 3  # -10%: the smallest move last


# -- zero stock: more than 20% of the SKUs in stock --------------------------------------------------------
def test_three_of_ten_skus_in_stock_dropping_to_zero_is_held_two_is_not() -> None:
    assert not judge(with_skus(catalog(), {1: {"stock": 0}, 2: {"stock": 0}}), catalog()).held
    result = judge(with_skus(catalog(), {i: {"stock": 0} for i in (1, 2, 3)}), catalog())
    assert result.tripped == ["zero_stock"]
    assert check(result, "zero_stock") | {} == {"check": "zero_stock", "count": 3, "of": 10, "value": 30.0,
                                                "limit": 20.0, "tripped": True}
    assert [m["sku_code"] for m in result.moves["zero_stock"]] == ["S1", "S2", "S3"]


def test_skus_already_out_of_stock_are_not_counted() -> None:
    current = with_skus(catalog(), {i: {"stock": 0} for i in range(1, 8)})  # 3 in stock
    result = judge(with_skus(current, {8: {"stock": 0}}), current)
    assert check(result, "zero_stock")["of"] == 3 and result.tripped == ["zero_stock"]  # 1 of 3


# -- dropped products: more than 10% of the previous export's products ---------------------------------------
def test_one_of_ten_products_leaving_the_export_is_not_held_two_are() -> None:
    previous = list(range(1, 11))
    nine = {pid: p for pid, p in catalog().items() if pid != 10}
    assert not judge(nine, catalog(), baseline=previous).held
    eight = {pid: p for pid, p in catalog().items() if pid not in (9, 10)}
    result = judge(eight, catalog(), baseline=previous)
    assert result.tripped == ["dropped_products"] and result.moves["dropped_products"] == [9, 10]


def test_a_first_export_has_no_previous_one_to_miss_products_from() -> None:
    assert check(judge(catalog(2), catalog(2), baseline=None), "dropped_products")["of"] == 0


# -- only what aeops knows -----------------------------------------------------------------------------------
def test_values_never_read_written_blind_on_a_first_run_count_in_no_check() -> None:
    current = {pid: {"title": f"p{pid}", "skus": {}, SKUS_UNKNOWN: True} for pid in range(1, 11)}
    result = judge(with_skus(catalog(), {i: {"price": "0.01", "stock": 0} for i in range(1, 11)}), current)
    assert not result.held and [c["of"] for c in result.checks] == [0, 0, 0, 0]


def test_a_disabled_guard_holds_nothing_but_still_records_its_checks() -> None:
    result = judge(with_skus(catalog(), {1: {"price": "0.01"}}), catalog(),
                   config=ExportGuardConfig(enabled=False))
    assert not result.held and result.tripped == ["price_move"]


# -- per-store settings --------------------------------------------------------------------------------------
def test_each_store_has_its_own_thresholds_and_keys_left_out_keep_their_defaults() -> None:
    cfg = load_config({"stores": [{"name": "strict"},
                                  {"name": "relaxed", "export_guard": {"changed_prices_percent": 40,
                                                                       "price_move_percent": 80}}]})
    assert cfg.store("strict").export_guard == DEFAULTS
    relaxed = cfg.store("relaxed").export_guard
    assert (relaxed.changed_prices_percent, relaxed.price_move_percent, relaxed.zero_stock_percent,
            relaxed.dropped_products_percent) == (40, 80, 20, 10)
    desired = with_skus(catalog(), {i: {"price": "4.00"} for i in (1, 2, 3)})  # 30% of the SKUs, -60%
    assert judge(desired, catalog(), config=cfg.store("strict").export_guard).tripped == [
        "changed_prices", "price_move"]
    assert not judge(desired, catalog(), config=relaxed).held


@pytest.mark.parametrize("guard", [{"changed_prices_percent": 120}, {"price_move_percent": 0},
                                   {"zero_stock": 20}])
def test_a_threshold_that_cannot_be_is_refused_naming_it(guard: dict) -> None:
    with pytest.raises(ConfigError, match="export_guard"):
        load_config({"stores": [{"name": "demo", "export_guard": guard}]})


# -- the words -------------------------------------------------------------------------------------------------
def test_the_checks_and_moves_read_in_the_stores_language() -> None:
    result = judge(with_skus(catalog(), {i: {"price": "5.00"} for i in range(1, 11)}), catalog())
    assert check_lines(result.checks, "en", tripped_only=True) == [
        "⚠ 10 of 10 SKUs change price (100%; the limit is 20%)"]
    assert check_lines(result.checks, "zh-CN", tripped_only=True) == [
        "⚠ 10 个 SKU 中有 10 个改价（100%；上限 20%）"]
    assert move_lines(result.moves, "en")[0] == "product `1` SKU `S1`: price 10.00 → 5.00 (-50.0%)"
    assert move_lines(result.moves, "zh-CN")[0] == "商品 `1` SKU `S1`：价格 10.00 → 5.00（-50.0%）"


# -- the hold, through the steps the DAG's tasks call ------------------------------------------------------
@pytest.fixture
def setup(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(context_module, "load_airflow_config", lambda: pytest.fail("settings were passed"))
    config = load_config({"stores": [{"name": "demo", "language": "en", "reports": str(tmp_path / "r")},
                                     {"name": "demo-kids"}]})
    return Ledger(sqlite_url), config


def plan_run(ledger: Ledger, config, store: str, desired, current, *, dry_run: bool = False) -> int:
    """A store's run of the daily sync that planned ``desired`` against ``current`` (what ``plan`` stores)."""
    run = ledger.runs.start(store, DAG, RUN)
    changes = diff_catalog(desired, current)
    ledger.changes.store_plan(run, store, changes)
    guard_hold.guard_plan(context_module.context(store, config), run, desired, current, changes, dry_run=dry_run)
    return run


def statuses(ledger: Ledger, run: int) -> set[str]:
    with session_scope(ledger.url) as s:
        return set(s.scalars(select(Change.status).where(Change.sync_run_id == run)))


def test_a_held_store_is_left_out_of_the_push_while_the_other_store_goes(setup) -> None:
    ledger, config = setup
    held = plan_run(ledger, config, "demo", with_skus(catalog(), {i: {"price": "5.00"} for i in range(1, 11)}),
                    catalog())
    free = plan_run(ledger, config, "demo-kids", with_skus(catalog(), {1: {"price": "10.50"}}), catalog())

    chunks = pushing.collect_chunks(DAG, RUN, config=config)

    assert {c["sync_run_id"] for c in chunks} == {free}
    assert guard_hold.waits_for_a_person("demo", DAG, RUN, config)
    assert not guard_hold.waits_for_a_person("demo-kids", DAG, RUN, config)
    assert ledger.runs.get(held).counts["guard_held"] == 1 and ledger.runs.get(free).counts["guard_held"] == 0
    assert pushing.push_held("demo-kids", DAG, RUN, config=config) == {"skipped": "not held"}
    assert pushing.push_held("demo", DAG, RUN, config=config) == {"skipped": "not decided"}


def test_the_form_shows_the_checks_and_largest_moves_in_the_stores_language(setup) -> None:
    ledger, config = setup
    for store in ("demo", "demo-kids"):
        plan_run(ledger, config, store, with_skus(catalog(), {i: {"price": "5.00"} for i in range(1, 11)}),
                 catalog())
    en = guard_hold.approval_form("demo", DAG, RUN, link="http://airflow/x", wait_hours=6, config=config)
    zh = guard_hold.approval_form("demo-kids", DAG, RUN, link="http://airflow/x", wait_hours=6, config=config)
    assert en["subject"] == "Approve the held catalog export for demo" and en["lang"] == "en"
    assert "- ⚠ 10 of 10 SKUs change price (100%; the limit is 20%)" in en["body"]
    assert "- product `1` SKU `S1`: price 10.00 → 5.00 (-50.0%)" in en["body"]
    assert "No answer within 6 hours counts as Reject." in en["body"]
    assert zh["subject"] == "批准店铺 demo-kids 被拦下的商品目录导出" and zh["lang"] == "zh-CN"
    assert "6 小时内未答复按拒绝处理" in zh["body"]
    again = guard_hold.approval_form("demo", DAG, RUN, link="http://airflow/x", wait_hours=6, config=config)
    assert again == en  # asked again (a retried task): the same form
    notices = [row.payload.get("text", "") for row in ledger.outbox.waiting()]
    assert sum(t.startswith("Catalog export held for approval (demo)") for t in notices) == 1  # one Slack notice
    assert sum("商品目录导出已拦下" in t for t in notices) == 1


def test_reject_writes_nothing_and_is_recorded_with_who_and_when(setup) -> None:
    ledger, config = setup
    run = plan_run(ledger, config, "demo", with_skus(catalog(), {i: {"price": "0.01"} for i in range(1, 11)}),
                   catalog())
    at = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    decided = guard_hold.record_decision("demo", DAG, RUN, guard_hold.REJECT, {"id": "1", "name": "ops-lead"}, at,
                                         config=config)

    assert decided == {"decision": "rejected", "by": "ops-lead", "at": at.isoformat()}
    guard = ledger.guards.of_run(run)
    assert (guard.decision, guard.decided_by, guard.decided_at) == ("rejected", "ops-lead", at)
    assert statuses(ledger, run) == {"rejected"}  # never sent, never retried
    market = FakeMarketplace()
    assert pushing.push_held("demo", DAG, RUN, client=market, config=config) == {"skipped": "rejected"}
    assert market.writes == [] and pushing.collect_chunks(DAG, RUN, config=config) == []
    assert guard_hold.approval_form("demo", DAG, RUN, link="x", wait_hours=6, config=config) is None  # decided
    assert decision_text(guard, "en") == ("Held by the export guard and rejected by ops-lead: nothing was written to "
                                          "the marketplace.")
    # a rejected export is not what the next one is compared with
    assert ledger.guards.baseline_products("demo", run + 1) is None


def test_no_answer_is_a_timeout_not_a_persons_rejection(setup) -> None:
    ledger, config = setup
    run = plan_run(ledger, config, "demo", with_skus(catalog(), {1: {"price": "0.01"}}), catalog())
    assert guard_hold.record_decision("demo", DAG, RUN, guard_hold.REJECT, None, None,
                                      config=config)["decision"] == "timed out"
    assert statuses(ledger, run) == {"rejected"}


def test_approve_pushes_the_held_export(setup) -> None:
    ledger, config = setup
    market = FakeMarketplace()
    market.seed(range(1, 11), {"S": ("10.00", None, 5)}, datetime(2026, 12, 5, tzinfo=UTC))
    current = {pid: {"title": f"p{pid}", "skus": {"S": {"price": "10.00", "discount_price": None, "stock": 5}}}
               for pid in range(1, 11)}
    desired = {pid: {"title": f"p{pid}", "skus": {"S": {"price": "5.00", "discount_price": None, "stock": 5}}}
               for pid in range(1, 11)}
    run = plan_run(ledger, config, "demo", desired, current)
    guard_hold.record_decision("demo", DAG, RUN, guard_hold.APPROVE, {"id": "7", "name": "ops"}, None, config=config)

    totals = pushing.push_held("demo", DAG, RUN, client=market, config=config)

    assert totals and "skipped" not in totals
    assert [api for api, _ids in market.writes] and statuses(ledger, run) == {"confirmed"}
    assert ledger.guards.baseline_products("demo", run + 1) == list(range(1, 11))  # approved: the next baseline


def test_a_dry_run_records_what_it_would_hold_and_asks_nobody(setup) -> None:
    ledger, config = setup
    run = plan_run(ledger, config, "demo", with_skus(catalog(), {1: {"price": "0.01"}}), catalog(), dry_run=True)
    guard = ledger.guards.of_run(run)
    assert guard.held and guard.dry_run
    assert not guard_hold.waits_for_a_person("demo", DAG, RUN, config)
    assert guard_hold.approval_form("demo", DAG, RUN, link="x", wait_hours=6, config=config) is None
    assert decision_text(guard, "en").startswith("Dry run: the export guard would hold this export")
