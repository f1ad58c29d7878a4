"""The change set is minimal: unchanged products cost nothing; discounts are never silently erased."""

from __future__ import annotations

import pytest

from aeops.catalog.batching import batches, chunks
from aeops.catalog.diff import apply_change, diff_catalog, diff_product
from aeops.catalog.model import desired_from_rows, money

PID = 1005001234567890123  # beyond 2**53


def rows(**over):
    base = {"product_id": str(PID), "sku_code": "A-1", "title": "Mug", "price": "12.5", "discount_price": "9.99",
            "stock": "5", "freight_template_id": "1001", "main_image": "mug.jpg"}
    return [{**base, **over}]


def test_money_normalises_and_rejects_junk() -> None:
    assert money("12.5") == "12.50" and money(3) == "3.00" and money("") is None and money(None) is None
    with pytest.raises(ValueError):
        money("12,5 EUR")


def test_desired_keeps_64_bit_ids_exact() -> None:
    desired = desired_from_rows(rows())
    assert list(desired) == [PID]
    assert desired[PID]["skus"]["A-1"] == {"price": "12.50", "discount_price": "9.99", "stock": 5}


def test_unchanged_product_costs_no_write() -> None:
    desired = desired_from_rows(rows())
    assert diff_catalog(desired, {PID: desired[PID]}) == []


def test_price_change_sends_discount_too() -> None:
    desired = desired_from_rows(rows(price="13"))
    current = desired_from_rows(rows())[PID]
    (change,) = diff_product(PID, desired[PID], current)
    assert change.kind == "price"
    assert change.payload == {"skus": [{"sku_code": "A-1", "price": "13.00", "discount_price": "9.99"}]}
    assert change.previous["skus"][0]["price"] == "12.50"


def test_stock_and_fields_are_separate_kinds() -> None:
    desired = desired_from_rows(rows(stock="7", title="Big mug", freight_template_id="1002"))
    current = desired_from_rows(rows())[PID]
    kinds = {c.kind: c for c in diff_product(PID, desired[PID], current)}
    assert set(kinds) == {"inventory", "edit"}
    assert kinds["inventory"].payload == {"skus": [{"sku_code": "A-1", "inventory": 7}]}
    assert kinds["edit"].payload == {"fields": {"title": "Big mug", "freight_template_id": "1002"}}


def test_missing_product_or_sku_is_reported_not_written() -> None:
    desired = desired_from_rows(rows() + rows(sku_code="A-2"))
    (missing_product,) = diff_product(PID, desired[PID], None)
    assert missing_product.kind == "unpushable" and missing_product.payload["reason"] == "PRODUCT-NOT-ON-MARKETPLACE"
    current = desired_from_rows(rows())[PID]
    (missing_sku,) = diff_product(PID, desired[PID], current)
    assert missing_sku.payload["skus"] == ["A-2"]


def test_apply_change_gives_the_desired_state() -> None:
    desired = desired_from_rows(rows(price="13", stock="1", title="New"))[PID]
    state = desired_from_rows(rows())[PID]
    for change in diff_product(PID, desired, state):
        state = apply_change(state, change.kind, change.payload)
    assert state == desired


def test_batches_of_twenty_and_edits_one_by_one() -> None:
    assert [len(b) for b in batches(list(range(41)), "price")] == [20, 20, 1]
    assert [len(b) for b in batches(list(range(3)), "edit")] == [1, 1, 1]


def test_chunks_carry_at_most_the_given_number_of_calls() -> None:
    found = chunks("demo", 7, "inventory", list(range(250)), chunk_batches=5)
    assert [len(c["batches"]) for c in found] == [5, 5, 3]
    assert found[0] == {"store": "demo", "sync_run_id": 7, "kind": "inventory", "batches": found[0]["batches"]}
    assert [i for c in found for b in c["batches"] for i in b] == list(range(250))
