"""A store's first run: products seen only on a list page get their price and stock written blind, never a title
or image; what the writes confirm makes the next plan an ordinary one."""

from __future__ import annotations

from aeops.catalog.diff import SKUS_UNKNOWN, apply_change, diff_product
from aeops.marketplace.models import Product, Sku
from aeops.sync.planning import from_list_page

DESIRED = {"title": "Mug", "freight_template_id": "1001", "main_image": "",
           "skus": {"A": {"price": "10.00", "discount_price": "9.00", "stock": 3},
                    "B": {"price": "12.00", "discount_price": None, "stock": 0}}}


def listed(subject: str = "Mug", skus: list | None = None) -> Product:
    return Product(product_id=7, subject=subject, status="onSelling", freight_template_id=1001,
                   gmt_modified="2026-11-30 10:00:00", skus=skus or [], image_urls=["https://ae01/x.jpg"])


def test_a_product_seen_only_on_a_list_page_gets_blind_price_and_stock_writes_only() -> None:
    current = from_list_page(listed())
    assert current[SKUS_UNKNOWN] and current["main_image_url"] == "https://ae01/x.jpg"

    changes = {c.kind: c for c in diff_product(7, DESIRED, current)}

    assert set(changes) == {"price", "inventory"}  # no edit (title and template match the list), no "missing SKU"
    assert [i["sku_code"] for i in changes["price"].payload["skus"]] == ["A", "B"]
    assert changes["inventory"].payload == {"skus": [{"sku_code": "A", "inventory": 3},
                                                     {"sku_code": "B", "inventory": 0}], "blind": True}
    assert changes["price"].payload["blind"]  # verification samples blind writes instead of paging them all


def test_a_title_is_compared_with_the_list_page_never_written_blind() -> None:
    same = {c.kind for c in diff_product(7, DESIRED, from_list_page(listed("Mug")))}
    other = [c for c in diff_product(7, DESIRED, from_list_page(listed("Old mug"))) if c.kind == "edit"]
    assert "edit" not in same
    assert other[0].payload == {"fields": {"title": "Mug"}}


def test_what_the_blind_writes_confirm_ends_the_blind_writes() -> None:
    state = from_list_page(listed())
    price = next(c for c in diff_product(7, DESIRED, state) if c.kind == "price")
    state = apply_change(state, "price", price.payload)  # the price write was confirmed, the stock write failed
    assert {c.kind for c in diff_product(7, DESIRED, state)} == {"inventory"}
    assert "blind" not in diff_product(7, {**DESIRED, "skus": {**DESIRED["skus"], "A": {
        **DESIRED["skus"]["A"], "price": "11.00"}}}, state)[0].payload  # read values: an ordinary change
    stock = next(c for c in diff_product(7, DESIRED, state) if c.kind == "inventory")
    assert diff_product(7, DESIRED, apply_change(state, "inventory", stock.payload)) == []


def test_a_list_page_with_skus_is_used_as_read_and_a_missing_sku_is_still_unpushable() -> None:
    page = listed(skus=[Sku("1", "A", "10.00", "9.00", 3)])
    current = from_list_page(page)
    assert SKUS_UNKNOWN not in current
    kinds = {c.kind: c for c in diff_product(7, DESIRED, current)}
    assert set(kinds) == {"unpushable"} and kinds["unpushable"].payload["skus"] == ["B"]


def test_sku_ids_read_for_verification_are_kept_with_what_the_list_page_gave(sqlite_url) -> None:
    from aeops.store.ledger import Ledger

    ledger = Ledger(sqlite_url)
    ledger.products.save_seen("demo", {7: (from_list_page(listed()), None)})
    ledger.products.record_sku_ids("demo", {7: {"14:193": "A"}})
    fields = ledger.products.load("demo")[7].fields
    assert fields["sku_ids"] == {"14:193": "A"} and fields["title"] == "Mug" and fields[SKUS_UNKNOWN]


def test_a_refused_blind_write_is_read_once_and_dropped_when_the_product_already_shows_it(sqlite_url) -> None:
    from datetime import UTC, datetime, timedelta

    from aeops.catalog.push import push_batch
    from aeops.marketplace.models import BatchResult, ProductOutcome
    from aeops.store.ledger import Ledger
    from aeops.verify.fake import FakeMarketplace

    class Refusing(FakeMarketplace):
        def update_prices_batch(self, updates):  # the platform is busy: every product refused, nothing applied
            return BatchResult("price", {pid: ProductOutcome(pid, "failed", "S00-10-10000-001", "busy")
                                         for pid in updates})

    market = Refusing()
    market.seed([1, 2], {"A": ("10.00", "9.00", 3)}, datetime.now(UTC) - timedelta(days=1))
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", "aliexpress_catalog_sync", "first")
    blind = {pid: {**from_list_page(listed()), "skus": {}} for pid in (1, 2)}
    ledger.products.save_seen("demo", {pid: (fields, None) for pid, fields in blind.items()})
    wanted = {1: "10.00", 2: "11.00"}  # product 1 already shows the export's price, product 2 does not
    changes = [c for pid in (1, 2) for c in diff_product(pid, {**DESIRED, "skus": {"A": {
        "price": wanted[pid], "discount_price": "9.00", "stock": 3}}}, blind[pid]) if c.kind == "price"]
    ledger.changes.store_plan(run, "demo", changes)

    counts = push_batch(ledger, market, run, "price", [c.id for c in ledger.changes.of_run(run)])

    assert counts == {"failed": 1}  # product 1 is not reported failed while right: its change is gone
    (left,) = ledger.changes.of_run(run)
    assert left.product_id == 2 and left.error_code == "S00-10-10000-001"
    state = ledger.products.load("demo")[1].fields
    assert state["skus"]["A"]["price"] == "10.00" and SKUS_UNKNOWN not in state  # what was read is recorded
