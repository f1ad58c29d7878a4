"""The simulated catalog's data: the demo app and sellers, products from export rows, versions and views.

A product is a JSON-able dict (see :mod:`aeops.marketplace.simulator.state` for the whole layout). Every
write stamps a new version (:func:`record_write`); a storefront view (language site x device) shows the
newest version that has propagated (:func:`view`), which is how slow propagation, stale sites and a device
that never updates are simulated.

SKUs carry the platform's identities, distinct from the seller's ``sku_code``: ``sku_id`` is the API's
``"<property id>:<property value id>"`` (one "Color" property, id 14, a value per SKU) and ``sku_num_id``
the 17-digit number item pages key their SKU list by (``skuId``). Main images are photobank entries
(``main_images``: image file names such as ``S<32 hex><char>.jpg``, rendered as URLs by the API and pages)
or, for rows seeded with an http(s) URL, that URL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from aeops.demo import ALL_DEMO_SELLERS, DEMO_APP_KEY, DEMO_APP_SECRET
from aeops.marketplace.simulator.faults import Faults

FREIGHT_TEMPLATES = [
    {"template_id": 1001, "template_name": "Standard Shipping", "is_default": True},
    {"template_id": 1002, "template_name": "Free Shipping", "is_default": False},
    {"template_id": 1003, "template_name": "Express (DHL)", "is_default": False},
]
FREIGHT_SETTINGS = {  # what each template offers a buyer: logistics service, its name, free or charged
    1001: [{"logistics_company": "CAINIAO_STANDARD", "service_name": "AliExpress Standard Shipping",
            "free_shipping": False, "fee": "2.99", "delivery_days": [12, 20]}],
    1002: [{"logistics_company": "CAINIAO_STANDARD", "service_name": "AliExpress Standard Shipping",
            "free_shipping": True, "fee": "0.00", "delivery_days": [12, 20]}],
    1003: [{"logistics_company": "DHL", "service_name": "DHL", "free_shipping": False, "fee": "19.99",
            "delivery_days": [3, 7]}],
}
COLOR_PROPERTY_ID = 14
COLOR_VALUES = [(193, "Black"), (29, "White"), (10, "Red"), (173, "Blue"), (175, "Green"), (366, "Yellow"),
                (1052, "Pink"), (496, "Purple"), (771, "Beige"), (691, "Gray"), (200004889, "Army Green"),
                (200004890, "Dark Grey"), (350852, "Multicolor"), (350853, "Silver")]
DAY_MS = 86_400_000
KEEP_VERSIONS = 8


def now_ms() -> int:
    """Now in epoch milliseconds (the platform's time format)."""
    return int(time.time() * 1000)


def default_state(at_ms: int | None = None) -> dict[str, Any]:
    """The demo app and sellers of :mod:`aeops.embedded` with an empty catalog (tokens valid for a year)."""
    at = now_ms() if at_ms is None else at_ms
    sellers = {}
    for name, (_conn_id, seller_id, access, refresh) in ALL_DEMO_SELLERS.items():
        sellers[str(seller_id)] = {
            "seller_id": seller_id, "app_key": DEMO_APP_KEY, "shop_name": f"{name} store",
            "product_posting_forbidden": False,  # documented (aliexpress.solution.merchant.profile.get)
            "account_status": "normal", "merchant_type": "enterprise",  # assumed: answered by the rich profile only
            "access_tokens": {access: at + 365 * DAY_MS}, "refresh_tokens": {refresh: at + 730 * DAY_MS},
            "freight_templates": [dict(t) for t in FREIGHT_TEMPLATES],
        }
    return {"version": 1, "apps": {DEMO_APP_KEY: {"secret": DEMO_APP_SECRET, "name": "aeops demo app"}},
            "sellers": sellers, "products": {}, "photobank": []}


def _money(value: Any, field_name: str, row: int) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"row {row}: {field_name} {value!r} is not a number") from None
    return format(number, "f")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def sku_identity(product_id: int, index: int) -> dict[str, Any]:
    """The platform's identity of a product's ``index``-th SKU: API id, the page's numeric id, the colour value."""
    value_id, name = COLOR_VALUES[index] if index < len(COLOR_VALUES) else (200000000 + index, f"Colour {index}")
    digest = hashlib.sha256(f"{product_id}:{index}".encode()).digest()
    return {"sku_id": f"{COLOR_PROPERTY_ID}:{value_id}",
            "sku_num_id": 12_000_000_000_000_000 + int.from_bytes(digest[:8], "big") % 10**15,
            "property_value_id": value_id, "property_value_name": name}


def products_from_rows(rows: Iterable[Mapping[str, Any]], seller_id: int, at_ms: int) -> dict[str, dict[str, Any]]:
    """Catalog products from canonical export rows (one row per SKU; product fields repeat per row).

    ``main_images`` holds the row's ``main_image`` cell as given;
    :meth:`~aeops.marketplace.simulator.state.SimState.seed_rows` puts local files into the photobank and replaces the
    names by photobank image names.
    """
    products: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=1):
        pid_text = _text(row.get("product_id"))
        if pid_text is None:
            continue
        try:
            pid = int(Decimal(pid_text)) if "." in pid_text or "e" in pid_text.lower() else int(pid_text)
        except (ValueError, InvalidOperation):
            raise ValueError(f"row {n}: product_id {pid_text!r} is not an integer") from None
        if not 0 < pid < 2**63:
            raise ValueError(f"row {n}: product_id {pid_text!r} is out of range")
        seller = int(_text(row.get("seller_id")) or seller_id)
        product = products.setdefault(str(pid), {
            "product_id": pid, "seller_id": seller, "subject": _text(row.get("title")) or f"Product {pid}",
            "status": _text(row.get("status")) or "onSelling",
            "freight_template_id": int(float(_text(row.get("freight_template_id")) or 1001)),
            "category": _text(row.get("category")), "brand": _text(row.get("brand")),
            "main_images": [u for u in [_text(row.get("main_image"))] if u],
            "gmt_create_ms": at_ms, "gmt_modified_ms": at_ms, "skus": [], "versions": [],
        })
        stock_text = _text(row.get("stock"))
        product["skus"].append({
            **sku_identity(pid, len(product["skus"])),
            "sku_code": _text(row.get("sku_code")),
            "price": _money(row.get("price"), "price", n) or "0.01",
            "discount_price": _money(row.get("discount_price"), "discount_price", n),
            "stock": int(float(stock_text)) if stock_text else 0,
        })
    for product in products.values():
        product["versions"] = [snapshot(product, at_ms)]
    return products


SNAPSHOT_SKU_KEYS = ("sku_id", "sku_num_id", "property_value_id", "property_value_name", "sku_code", "price",
                     "discount_price", "stock")


def snapshot(product: Mapping[str, Any], at_ms: int) -> dict[str, Any]:
    """What storefront views show for ``product`` once a write at ``at_ms`` has propagated."""
    return {"at_ms": at_ms, "gmt_modified_ms": product["gmt_modified_ms"], "subject": product["subject"],
            "freight_template_id": product["freight_template_id"],
            "main_images": list(product.get("main_images") or []),
            "skus": [{k: s.get(k) for k in SNAPSHOT_SKU_KEYS} for s in product["skus"]]}


def record_write(product: dict[str, Any], at_ms: int) -> None:
    """Stamp a write: new last-modified time and a new version (the first, seeded one is always kept)."""
    product["gmt_modified_ms"] = max(at_ms, int(product.get("gmt_modified_ms", 0)) + 1)
    versions = product.setdefault("versions", [])
    versions.append(snapshot(product, at_ms))
    if len(versions) > KEEP_VERSIONS:
        del versions[1:len(versions) - KEEP_VERSIONS + 1]


def view(product: Mapping[str, Any], site: str, device: str, faults: Faults, at_ms: int) -> dict[str, Any]:
    """The version a storefront (language ``site``, ``device``) shows at ``at_ms``."""
    versions = product.get("versions") or [snapshot(product, product.get("gmt_create_ms", 0))]
    if device == faults.never_device or faults.is_stale(int(product["product_id"]), site):
        return versions[0]
    delay = int(faults.propagation_s * 1000)
    shown = versions[0]
    for version in versions:
        if version["at_ms"] + delay <= at_ms:
            shown = version
    return shown
