"""The recorded batch push: what one clean batch costs the aeops DB, and that its records are whole."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.store import session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import ApiWrite, Change
from aeops.verify.fake import FakeMarketplace


class CountingLedger(Ledger):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sessions = 0

    @contextmanager
    def transaction(self):
        self.sessions += 1
        with super().transaction() as s:
            yield s


def test_a_clean_batch_of_twenty_costs_four_transactions_and_records_before_and_after(sqlite_url) -> None:
    market = FakeMarketplace()
    market.seed(range(1, 21), {"S": ("20.00", "15.00", 10)}, datetime.now(UTC) - timedelta(days=1))
    ledger = CountingLedger(sqlite_url)
    run = ledger.runs.start("demo", "unit", "push")
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": "15.00"}]}) for pid in range(1, 21)])
    ids = ledger.changes.open_ids([run])[(run, "price")]
    ledger.sessions = 0

    counts = push_batch(ledger, market, run, "price", ids)

    assert counts == {"confirmed": 20}
    assert ledger.sessions == 4  # what is open; the record before sending; the answer; the final counts
    with session_scope(sqlite_url) as s:
        (write,) = s.query(ApiWrite).all()
        assert write.outcome == "answered" and sorted(write.product_ids) == list(range(1, 21))
        assert {c.status for c in s.query(Change)} == {"confirmed"}


def test_a_write_is_taken_as_applied_only_when_the_product_shows_every_value_it_carried() -> None:
    """What a re-read after a lost answer (or a refused blind write) decides from: each field, each SKU."""
    from aeops.catalog.push import _applied
    from aeops.marketplace.models import Product, Qualification

    state = {"title": "Mug", "freight_template_id": "1002", "main_image_url": "https://ae01.alicdn.com/kf/Sabc.jpg",
             "skus": {"A": {"price": "10.00", "discount_price": "8.00", "stock": 5},
                      "B": {"price": "12.00", "discount_price": None, "stock": 0}}}
    price = {"skus": [{"sku_code": "A", "price": "10.00", "discount_price": "8.00"},
                      {"sku_code": "B", "price": "12.00", "discount_price": None}]}
    assert _applied("price", price, state, None)
    for code, field, value in [("A", "price", "10.01"), ("A", "discount_price", None), ("B", "price", "12.50"),
                               ("B", "discount_price", "11.00")]:
        other = {"skus": [dict(i, **{field: value}) if i["sku_code"] == code else i for i in price["skus"]]}
        assert not _applied("price", other, state, None), (code, field)
    assert not _applied("price", {"skus": [{"sku_code": "C", "price": "1.00", "discount_price": None}]}, state, None)

    assert _applied("inventory", {"skus": [{"sku_code": "A", "inventory": "5"}, {"sku_code": "B", "inventory": 0}]},
                    state, None)
    assert not _applied("inventory", {"skus": [{"sku_code": "A", "inventory": 5}, {"sku_code": "B", "inventory": 1}]},
                        state, None)
    assert not _applied("inventory", {"skus": [{"sku_code": "C", "inventory": 0}]}, state, None)

    assert _applied("edit", {"fields": {"title": "Mug", "freight_template_id": 1002}}, state, None)
    assert not _applied("edit", {"fields": {"title": "Cup"}}, state, None)
    assert not _applied("edit", {"fields": {"freight_template_id": "1003"}}, state, None)
    pushed = {"main_image": "mug.jpg", "main_image_pushed_url": "https://ae01.alicdn.com/kf/Sabc.jpg"}
    assert _applied("edit", {"fields": pushed}, state, None)
    assert not _applied("edit", {"fields": {**pushed, "main_image_pushed_url": "https://ae01.alicdn.com/kf/Sx.jpg"}},
                        state, None)

    entry = {"key": "cpc", "type": "image", "value": "https://ae01.alicdn.com/kf/Scert.jpg"}
    carrying = Product(1, qualifications=[Qualification("cpc", "image", "https://ae01.alicdn.com/kf/Scert.jpg")])
    assert _applied("qualification", {"qualification": entry}, state, carrying)
    assert not _applied("qualification", {"qualification": {**entry, "key": "ce"}}, state, carrying)
    assert not _applied("qualification", {"qualification": {**entry, "value": "https://ae01.alicdn.com/kf/So.jpg"}},
                        state, carrying)
    assert not _applied("qualification", {"qualification": entry}, state, None)  # the product could not be read
