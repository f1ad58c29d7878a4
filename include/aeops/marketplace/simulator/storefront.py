"""Storefront item pages per language site and device, and the data center's completion figure."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.products import now_ms, view
from aeops.marketplace.simulator.state import SimState


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def item_page(state: SimState, faults: Faults, site: str, product_id: int, device: str) -> str | None:
    """The item page of ``product_id`` on language ``site`` as ``device`` sees it now (None: no such product)."""
    product = state.product(product_id)
    if product is None:
        return None
    shown = view(product, site, device, faults, now_ms())
    data = {"product_id": product["product_id"], "site": site, "device": device,
            "last_modified": _iso(shown["gmt_modified_ms"]), "last_modified_ms": shown["gmt_modified_ms"],
            "subject": shown["subject"], "freight_template_id": shown["freight_template_id"],
            "skus": shown["skus"]}
    rows = "\n".join(
        f'<tr class="sku" data-sku-code="{html.escape(str(s["sku_code"]))}"><td class="price">{s["price"]}'
        f'</td><td class="discount-price">{s["discount_price"] or ""}</td><td class="stock">{s["stock"]}'
        "</td></tr>" for s in shown["skus"])
    return (f'<!doctype html>\n<html lang="{site}"><head><meta charset="utf-8">\n'
            f'<meta name="last-modified" content="{data["last_modified"]}">\n'
            f'<meta name="last-modified-ms" content="{data["last_modified_ms"]}">\n'
            f'<meta name="product-id" content="{product["product_id"]}">\n'
            f"<title>{html.escape(shown['subject'])}</title></head>\n<body data-device=\"{device}\">\n"
            f'<h1>{html.escape(shown["subject"])}</h1>\n'
            f'<div class="freight-template" data-template-id="{shown["freight_template_id"]}"></div>\n'
            f"<table>\n{rows}\n</table>\n"
            f'<script type="application/json" id="product-data">{json.dumps(data)}</script>\n'
            "</body></html>\n")


def completion_rate(state: SimState, faults: Faults, seller_id: int) -> dict[str, Any]:
    """The data center's "information update completion rate" of one seller."""
    at = now_ms()
    total, incomplete = state.incomplete_products(seller_id, faults, at)
    return {"seller_id": seller_id, "products": total, "complete": total - len(incomplete),
            "rate": 1.0 if total == 0 else round((total - len(incomplete)) / total, 6),
            "incomplete_product_ids": sorted(incomplete)[:1000], "as_of": _iso(at)}
