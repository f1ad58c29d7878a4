"""The minimal change set: per product and field, what the marketplace must be told.

Three kinds of write, matching the platform's calls:

- ``price``: SKUs whose price or discount differs (the discount is always sent with its price, because a
  price update without ``discount_price`` erases the discount);
- ``inventory``: SKUs whose stock differs;
- ``edit``: product fields (title, freight template, main image) that differ; never ``sku_info_list``. The
  main image differs when the SHA-256 of the export's source image differs from the one aeops recorded for
  the image the platform shows (no record: :mod:`aeops.catalog.main_image_match` compares the pictures first); a URL is
  never compared with a file name.

A SKU or product the marketplace does not have cannot be created by these calls: it becomes an
``unpushable`` change with a reason, reported instead of written.

A product seen only on a list page (a store's first run: :data:`SKUS_UNKNOWN`) has its price and stock written
blind, since the export's values are idempotent; title, freight template and main image come from the list page
and are compared as usual (never written on a guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aeops.catalog.model import PRODUCT_FIELDS

KINDS = ("price", "inventory", "edit")
SKUS_UNKNOWN = "skus_unknown"
"""A product state's mark: seen on a list page only (a first run), its SKUs' values never read. Its price and stock
are written blind (SKU by SKU until each value is confirmed); a SKU it lacks is not called missing on a guess."""


@dataclass(frozen=True)
class PlannedChange:
    """One change aeops plans for a product: its kind, the values to send and the values it replaces."""
    product_id: int
    kind: str  # price | inventory | edit | unpushable
    payload: dict[str, Any]
    previous: dict[str, Any] = field(default_factory=dict)


def diff_product(product_id: int, desired: dict[str, Any], current: dict[str, Any] | None) -> list[PlannedChange]:
    """Changes that make ``current`` (the marketplace) equal ``desired`` (the export)."""
    if current is None:
        return [
            PlannedChange(
                product_id,
                "unpushable",
                {"reason": "PRODUCT-NOT-ON-MARKETPLACE",
                 "message": "product id not found in the store; create the product in the seller center first"},
            )
        ]
    changes: list[PlannedChange] = []
    current_skus: dict[str, dict[str, Any]] = current.get("skus", {})
    unknown = bool(current.get(SKUS_UNKNOWN))  # seen on a list page only: SKU values never read
    price_items, price_prev, stock_items, stock_prev, missing = [], [], [], [], []
    blind_price = blind_stock = False
    for code, want in desired["skus"].items():
        have = current_skus.get(code)
        if have is None and not unknown:
            missing.append(code)
            continue
        have = have or {}  # unknown values are written blind: price, discount and stock writes are idempotent
        price_unread, stock_unread = unknown and "price" not in have, unknown and "stock" not in have
        blind_price, blind_stock = blind_price or price_unread, blind_stock or stock_unread
        if (price_unread or want["price"] != have.get("price")
                or want["discount_price"] != have.get("discount_price")):
            price_items.append({"sku_code": code, "price": want["price"], "discount_price": want["discount_price"]})
            price_prev.append({"sku_code": code, "price": have.get("price"),
                               "discount_price": have.get("discount_price")})
        if stock_unread or want["stock"] != have.get("stock"):
            stock_items.append({"sku_code": code, "inventory": want["stock"]})
            stock_prev.append({"sku_code": code, "inventory": have.get("stock")})
    if price_items:  # "blind": a value never read was restated (verification samples these, see verify.runner)
        changes.append(PlannedChange(product_id, "price", {"skus": price_items} | ({"blind": True} if blind_price
                                                                                  else {}), {"skus": price_prev}))
    if stock_items:
        changes.append(PlannedChange(product_id, "inventory", {"skus": stock_items} | ({"blind": True} if blind_stock
                                                                                      else {}), {"skus": stock_prev}))
    edits = {f: desired[f] for f in PRODUCT_FIELDS
             if f != "main_image" and desired.get(f) and desired.get(f) != current.get(f)}
    previous = {f: current.get(f) for f in edits}
    if main_image_differs(desired, current):
        edits.update(main_image=desired["main_image"], main_image_sha256=desired.get("main_image_sha256"))
        previous.update(main_image=current.get("main_image"), main_image_url=current.get("main_image_url"))
    if edits:
        changes.append(PlannedChange(product_id, "edit", {"fields": edits}, {"fields": previous}))
    if missing:
        changes.append(
            PlannedChange(
                product_id,
                "unpushable",
                {"reason": "SKU-NOT-ON-MARKETPLACE", "skus": missing,
                 "message": f"SKU(s) {', '.join(missing)} not on the marketplace product; add them in the seller "
                 "center (aeops never replaces a product's SKU list)"},
            )
        )
    return changes


def main_image_differs(desired: dict[str, Any], current: dict[str, Any]) -> bool:
    """The export's main image is not the one the platform shows: by the source's SHA-256 against the record
    (a source whose bytes could not be read falls back to comparing source names, never a URL with a name)."""
    source = desired.get("main_image")
    if not source:
        return False
    want = desired.get("main_image_sha256")
    if want:
        return want != current.get("main_image_sha256")
    return source != current.get("main_image")


def diff_catalog(desired: dict[int, dict[str, Any]], current: dict[int, dict[str, Any] | None]) -> list[PlannedChange]:
    """Changes for every desired product, in product id order (deterministic batches)."""
    changes: list[PlannedChange] = []
    for pid in sorted(desired):
        changes.extend(diff_product(pid, desired[pid], current.get(pid)))
    return changes


def apply_change(current: dict[str, Any], change_kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The product state after a confirmed write (what aeops records as confirmed)."""
    state = {**current, "skus": {code: dict(v) for code, v in current.get("skus", {}).items()}}
    if change_kind == "price":
        for item in payload["skus"]:
            sku = state["skus"].setdefault(item["sku_code"], {})
            sku["price"], sku["discount_price"] = item["price"], item["discount_price"]
    elif change_kind == "inventory":
        for item in payload["skus"]:
            state["skus"].setdefault(item["sku_code"], {})["stock"] = item["inventory"]
    elif change_kind == "edit":
        state.update(payload["fields"])
    return state



def repush(product_id: int, kind: str, desired: dict[str, Any], current: dict[str, Any]) -> PlannedChange | None:
    """The write of ``kind`` that states the export's values again although the marketplace already shows them:
    how a change that stayed unverified is retried (price, discount and stock writes are idempotent). An edit
    repeats only the title and freight template: a main image is never sent again on a guess (each image edit
    starts the platform's review)."""
    have: dict[str, dict[str, Any]] = current.get("skus", {})
    skus = [code for code in desired["skus"] if code in have]
    want = desired["skus"]
    if kind == "price" and skus:
        payload = [{"sku_code": c, "price": want[c]["price"], "discount_price": want[c]["discount_price"]}
                   for c in skus]
        previous = [{"sku_code": c, "price": have[c].get("price"), "discount_price": have[c].get("discount_price")}
                    for c in skus]
        return PlannedChange(product_id, "price", {"skus": payload}, {"skus": previous})
    if kind == "inventory" and skus:
        payload = [{"sku_code": c, "inventory": want[c]["stock"]} for c in skus]
        previous = [{"sku_code": c, "inventory": have[c].get("stock")} for c in skus]
        return PlannedChange(product_id, "inventory", {"skus": payload}, {"skus": previous})
    if kind == "edit":
        fields = {f: desired[f] for f in ("title", "freight_template_id") if desired.get(f)}
        if fields:
            previous_fields = {f: current.get(f) for f in fields}
            return PlannedChange(product_id, "edit", {"fields": fields}, {"fields": previous_fields})
    return None
