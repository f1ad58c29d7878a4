"""The canonical product shape both sides of a diff are turned into.

A product is a plain JSON-able dict so it can be stored as-is in ``product_state.fields``::

    {"title": str, "freight_template_id": str,
     "main_image": str,             # the export's source image (a file name or URL): desired side, or the record
     "main_image_sha256": str,      # of the source's bytes (desired), or of the one aeops pushed (the record)
     "main_image_url": str,         # the platform's side: the photobank URL of the image it shows
     "main_image_pushed_url": str,  # the record: the URL aeops pushed (or matched by pHash) for ``main_image``
     "sku_ids": {platform SKU id: sku_code},   # what item pages (keyed by SKU ids) are read with
     "skus": {sku_code: {"price": "12.50", "discount_price": "9.99" | None, "stock": 5}}}

Prices are decimal strings with two places (never floats), stock an int. :func:`desired_from_rows` builds
it from an export's rows, :func:`from_marketplace` from the platform's product answer. The platform's image is
a URL and the export's a file name: they are never compared (see :mod:`aeops.catalog.main_image_match`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from aeops.catalog.main_image_match import same_image_url

PRODUCT_FIELDS = ("title", "freight_template_id", "main_image")
CENT = Decimal("0.01")


def money(value: Any) -> str | None:
    """``12.5`` / ``"12.50"`` / ``Decimal`` -> ``"12.50"``; empty -> None. Raises ValueError on junk."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "" or text.lower() in {"nan", "none", "null"}:
        return None
    try:
        return str(Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None


def desired_from_rows(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Products as the export wants them, from validated rows (one dict per SKU row, canonical columns).

    Product-level fields come from the product's first row; later rows of the same product repeat them.
    """
    products: dict[int, dict[str, Any]] = {}
    for row in rows:
        pid = int(row["product_id"])
        product = products.get(pid)
        if product is None:
            product = {
                "title": str(row.get("title") or ""),
                "freight_template_id": str(row.get("freight_template_id") or ""),
                "main_image": str(row.get("main_image") or ""),
                "skus": {},
            }
            products[pid] = product
        product["skus"][str(row["sku_code"])] = {
            "price": money(row.get("price")),
            "discount_price": money(row.get("discount_price")),
            "stock": int(Decimal(str(row.get("stock")))),
        }
    return products


def from_marketplace(product: Any, previous: Any = None) -> dict[str, Any]:
    """A marketplace product (:class:`aeops.marketplace.Product`) in the canonical shape.

    The platform's main image is its URL (``main_image_url``), never a source name. ``previous`` is the
    product's known state (``fields``): when the platform still shows the photobank URL aeops recorded for a
    source image, that record (``main_image``, ``main_image_sha256``, ``main_image_pushed_url``) is kept.
    """
    urls = list(getattr(product, "image_urls", None) or [])
    url = urls[0] if urls else ""
    fields: dict[str, Any] = {
        "title": product.subject or "",
        "freight_template_id": "" if product.freight_template_id is None else str(product.freight_template_id),
        "main_image_url": url,
        "sku_ids": {str(s.sku_id): str(s.sku_code) for s in product.skus if s.sku_id and s.sku_code},
        "skus": {
            str(s.sku_code): {"price": money(s.price), "discount_price": money(s.discount_price),
                              "stock": s.stock}
            for s in product.skus if s.sku_code
        },
    }
    prev_fields = (previous.fields if previous is not None else None) or {}
    pushed = prev_fields.get("main_image_pushed_url")
    if pushed and same_image_url(pushed, url) and prev_fields.get("main_image_sha256"):
        fields.update(main_image=prev_fields.get("main_image"), main_image_sha256=prev_fields["main_image_sha256"],
                      main_image_pushed_url=pushed)
    return fields


def cell_text(value: Any) -> str | None:
    """An export cell as text; None for empty cells (pandas gives NaN for them)."""
    if value is None or value != value:
        return None
    text = str(value).strip()
    return text or None
