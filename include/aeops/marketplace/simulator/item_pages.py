"""Storefront item pages per language site and device, and the data center's completion figure.

A page has the structure of the real item page (docs/aliexpress-api.md §2.13; saved real pages in
``tests/fixtures/aliexpress/``): its data is a ``window.runParams = { data: {...} }`` literal of ``*Component``
objects. SKUs are keyed by the platform's SKU ids and property values, never by the seller's SKU codes:
``priceComponent.skuPriceList[]`` (``skuId``, ``skuAttr`` = ``"14:<value id>"``, ``skuVal.skuCalPrice`` the
list price, ``skuVal.skuActivityAmount`` the discounted price, ``skuVal.inventory``/``availQuantity`` the
stock) and ``skuComponent.productSKUPropertyList``; the shipping block
(``webGeneralFreightCalculateComponent.originalLayoutResultList[].bizData``) lists the logistics services the
product's freight template offers the site's country, free or charged. The real page carries no seller SKU
code, no freight template id and no last-modified time; the ``rich`` profile adds one thing the real page lacks,
``data.simulatorComponent.gmtModified`` (the version's last-modified time, epoch ms), marked as such (the
``documented`` profile does not: :mod:`~.profiles`).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aeops.marketplace.simulator import photobank
from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.products import COLOR_PROPERTY_ID, FREIGHT_SETTINGS, now_ms, sku_identity, view
from aeops.marketplace.simulator.state import SimState

SHIP_TO = {"en": ("US", "United States"), "ru": ("RU", "Russian Federation"), "es": ("ES", "Spain"),
           "fr": ("FR", "France"), "pt": ("BR", "Brazil")}
CURRENCY = "USD"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _amount(value: str) -> dict[str, Any]:
    return {"currency": CURRENCY, "formatedAmount": f"US ${Decimal(value):.2f}", "value": float(value)}


def _sku_entry(sku: dict[str, Any]) -> dict[str, Any]:
    price, discount, stock = sku["price"], sku.get("discount_price"), int(sku["stock"])
    val: dict[str, Any] = {"skuAmount": _amount(price), "skuCalPrice": f"{Decimal(price):.2f}",
                           "availQuantity": stock, "inventory": stock, "isActivity": discount is not None,
                           "hideOriPrice": False, "optionalWarrantyPrice": []}
    if discount is not None:
        off = int((1 - Decimal(discount) / Decimal(price)) * 100) if Decimal(price) else 0
        val.update(skuActivityAmount=_amount(discount), discount=str(off), discountTips=f"-{off}%")
    shown = discount if discount is not None else price
    return {"skuId": int(sku["sku_num_id"]), "skuIdStr": str(sku["sku_num_id"]),
            "skuAttr": f"{COLOR_PROPERTY_ID}:{sku['property_value_id']}", "skuPropIds": str(sku["property_value_id"]),
            "salable": stock > 0, "skuVal": val,
            "freightExt": json.dumps({"d0": f"{Decimal(shown):.2f}", "d1": CURRENCY, "p0": str(sku["sku_num_id"]),
                                      "p1": f"{Decimal(shown):.2f}", "p3": CURRENCY}, separators=(",", ":"))}


def _shipping(template_id: int, site: str) -> dict[str, Any]:
    code, country = SHIP_TO.get(site, SHIP_TO["en"])
    options = []
    for setting in FREIGHT_SETTINGS.get(int(template_id), []):
        fee = Decimal(setting["fee"])
        options.append({"bizData": {
            "deliveryOptionCode": setting["logistics_company"], "deliveryProviderCode": setting["logistics_company"],
            "deliveryProviderName": setting["service_name"], "company": setting["service_name"],
            "shippingFee": "free" if setting["free_shipping"] else "charge", "displayAmount": float(fee),
            "displayCurrency": CURRENCY, "formattedAmount": f"US ${fee:.2f}", "currency": CURRENCY,
            "shipFrom": "China", "shipFromCode": "CN", "shipTo": country, "shipToCode": code,
            "deliveryDayMin": setting["delivery_days"][0], "deliveryDayMax": setting["delivery_days"][1]}})
    return {"originalLayoutResultList": options, "usingNewFreight": True,
            "shippingFeeText": "Free shipping" if options and all(o["bizData"]["shippingFee"] == "free"
                                                                  for o in options) else ""}


def _slug(subject: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-")[:80] or "item"


def page_data(product: dict[str, Any], shown: dict[str, Any], site: str, device: str, public_url: str,
              at_ms: int, *, assumed: bool = True) -> dict[str, Any]:
    """The ``window.runParams`` object of an item page showing version ``shown`` of ``product`` (``assumed``:
    with the simulator's last-modified time, which the real page lacks)."""
    skus = [{**sku_identity(int(product["product_id"]), i), **{k: v for k, v in s.items() if v is not None}}
            | {"discount_price": s.get("discount_price")} for i, s in enumerate(shown["skus"])]
    price_list = [_sku_entry(s) for s in skus]
    prices = [Decimal(s["price"]) for s in skus] or [Decimal(0)]
    values = [{"propertyValueId": s["property_value_id"], "propertyValueIdLong": s["property_value_id"],
               "propertyValueName": s["property_value_name"], "propertyValueDisplayName": s["property_value_name"],
               "skuPropertyTips": s["property_value_name"], "skuPropertyValueTips": s["property_value_name"],
               "skuPropertyValueShowOrder": 1} for s in skus]
    slug = _slug(shown["subject"])
    images = [f"{public_url.rstrip('/')}/kf/{photobank.image_id(n)}/{slug}{Path(n).suffix or '.jpg'}"
              if photobank.image_id(n) else photobank.url_of(public_url, n) for n in shown.get("main_images") or []]
    total = sum(int(s["stock"]) for s in skus)
    data = {
        "productInfoComponent": {"id": product["product_id"], "idStr": str(product["product_id"]),
                                 "subject": shown["subject"], "src": "approved", "categoryId": 0,
                                 "minPrice": float(min(prices)), "maxPrice": float(max(prices))},
        "metaDataComponent": {"title": f"{shown['subject']} - AliExpress"},
        "priceComponent": {"skuPriceList": price_list,
                           "skuJson": json.dumps(price_list, sort_keys=True, separators=(",", ":")),
                           "origPrice": {"minAmount": _amount(str(min(prices))), "maxAmount": _amount(str(max(prices))),
                                         "minPrice": float(min(prices)), "maxPrice": float(max(prices))}},
        "skuComponent": {"hasSkuProperty": bool(skus), "selectedSkuAttr": price_list[0]["skuAttr"] if skus else "",
                         "skuPropertyJson": json.dumps([[s["property_value_id"] for s in skus]]),
                         "productSKUPropertyList": [{"skuPropertyId": COLOR_PROPERTY_ID, "skuPropertyName": "Color",
                                                     "order": 1, "showType": "colour_atla", "showTypeColor": False,
                                                     "sizeProperty": False, "skuPropertyValues": values}]},
        "inventoryComponent": {"totalQuantity": total, "totalAvailQuantity": total},
        "imageComponent": {"imagePathList": images, "imageServer": public_url.rstrip("/"), "imageExist": bool(images)},
        "webGeneralFreightCalculateComponent": _shipping(shown["freight_template_id"], site),
        "currencyComponent": {"baseCurrencyCode": CURRENCY, "currencyCode": CURRENCY, "currencyRate": 1.0,
                              "baseCurrencySymbol": "US $", "currencySymbol": "US $", "multiCurrency": False},
        "itemStatusComponent": {"status": 0 if product.get("status") == "onSelling" else 1},
        "userComponent": {"currentTime": at_ms, "userCountryCode": SHIP_TO.get(site, SHIP_TO["en"])[0]},
    }
    if assumed:
        data["simulatorComponent"] = {"gmtModified": shown["gmt_modified_ms"], "device": device,
                                      "note": "added by the aeops simulator: the real item page has no last-modified "
                                              "time"}
    return {"data": data}


def item_page(state: SimState, faults: Faults, site: str, product_id: int, device: str, *,
              public_url: str = "http://127.0.0.1", assumed: bool = True) -> str | None:
    """The item page of ``product_id`` on language ``site`` as ``device`` sees it now (None: no such product)."""
    product = state.product(product_id)
    if product is None:
        return None
    at = now_ms()
    shown = view(product, site, device, faults, at)
    data = page_data(product, shown, site, device, public_url, at, assumed=assumed)["data"]
    blob = json.dumps(data, separators=(",", ":"))
    blob = blob.replace("</", "<\\/")  # never end the script element early
    title = html.escape(shown["subject"])
    return (f'<!doctype html>\n<html lang="{site}"><head><meta charset="utf-8">\n<title>{title} - AliExpress</title>'
            f'</head>\n<body data-device="{device}">\n<h1>{title}</h1>\n<script>\n'
            f"window.runParams = {{\n    data: {blob}\n}};\nwindow.runParams.is23 = true;\n</script>\n</body></html>\n")


def completion_rate(state: SimState, faults: Faults, seller_id: int) -> dict[str, Any]:
    """The data center's "information update completion rate" of one seller: the share of its products with no
    update pending (not in review or refused by it, every storefront view showing the latest write)."""
    at = now_ms()
    total, incomplete = state.incomplete_products(seller_id, faults, at)
    return {"seller_id": seller_id, "products": total, "complete": total - len(incomplete),
            "rate": 1.0 if total == 0 else round((total - len(incomplete)) / total, 6),
            "incomplete_product_ids": sorted(incomplete)[:1000], "as_of": _iso(at)}
