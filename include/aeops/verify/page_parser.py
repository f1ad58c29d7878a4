"""Read an AliExpress item page's data: what a shopper sees, per SKU, in the seller's base currency.

The page embeds its data as a JavaScript literal (docs/aliexpress-api.md §2.13); three generations are read:

- ``*Component`` (2023+): ``window.runParams = { data: {...} };`` then statements such as
  ``window.runParams.is23 = true;``; SKUs in ``priceComponent.skuPriceList``;
- ``*Module`` (c. 2019-2023): the same literal, SKUs in ``skuModule.skuPriceList``; after ``data`` the literal
  goes on with JavaScript, not JSON (``csrfToken: '1c74ezi2lno_z'``), and more statements follow;
- the flat page (c. 2015-2019): ``window.runParams.<name>=...;`` statements and ``var skuProducts=[...]``.

``data`` is an unquoted key, so the literal is not JSON as a whole; the ``data`` object itself is JSON. It is
read with the standard library's JSON decoder from its first ``{`` (``JSONDecoder.raw_decode`` stops at the end
of the value), never by counting brackets: strings holding escaped quotes (``\\"``), brackets or whole escaped
JSON documents (``skuJson``, ``freightExt``) are read as JSON strings, and whatever follows the value is left
alone.

Prices: ``skuVal.skuCalPrice`` is the list price in the seller's **base currency**
(``currencyComponent.baseCurrencyCode``, what the API's ``sku_price`` is in); ``skuAmount`` and
``skuActivityAmount`` are **display** amounts in the visitor's currency (``currencyCode``), the base amount
times ``currencyRate`` rounded to the cent. A base-currency figure is compared as it is; a display amount is
never turned back into a base price (a rate above 1 rounds several base prices to one display amount): the
expected base price is converted to the display currency and must round to the amount shown
(:meth:`SkuView.discount_is`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from aeops.catalog.model import money

_CENT = Decimal("0.01")
_DECODER = json.JSONDecoder()
_RUN_PARAMS = re.compile(r"window\.runParams\s*=\s*")
_DATA_KEY = re.compile(r"""(?:^|[{,\s])["']?data["']?\s*:\s*(?=\{)""")
_KEY = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*))\s*:\s*""")
_BARE = re.compile(r"""\s*(?:'(?:[^'\\]|\\.)*'|[^,}]*)""")
_LEGACY_SKUS = re.compile(r"var\s+skuProducts\s*=\s*(?=\[)")
_FLAT_PARAM = re.compile(r"""window\.runParams\.(baseCurrencyCode|currencyCode|currencyRate)\s*=\s*["']([^"']*)["']""")
_GENERATIONS = ("priceComponent", "skuModule", "skuComponent", "priceModule")


@dataclass(frozen=True)
class SkuView:
    """One SKU as the page shows it: list price and discounted price in the seller's base currency, stock.

    When the page gives the discounted price only as a display amount in another currency, ``discount_price``
    is that amount converted at the page's rate (for reports) and ``discount_shown`` / ``rate`` keep what the
    page shows; :meth:`discount_is` compares with them. Neither takes part in equality.
    """

    price: str | None
    discount_price: str | None
    stock: int | None
    discount_shown: str | None = field(default=None, compare=False)
    rate: str | None = field(default=None, compare=False)

    def discount_is(self, expected: str | None) -> bool:
        """The page shows the discounted price ``expected`` (a base-currency amount, or None for none)."""
        if self.discount_price == expected:
            return True
        if expected is None or self.discount_shown is None or not self.rate:
            return False
        return _display(expected, self.rate) == self.discount_shown


Shipping = frozenset[tuple[str, bool]]
"""The logistics services a page offers: (service code such as ``CAINIAO_STANDARD``, free shipping?)."""


@dataclass(frozen=True)
class PageView:
    """What one storefront page shows.

    ``unreadable`` is the cause when the storefront did not show the product page at all (``anti_bot``,
    ``login``, ``geo_redirect``, ``no_data``): nothing is known about the product from it, it is not a failure
    of the product. ``error`` is set when a page was answered but is wrong or could not be fetched (an HTTP error,
    a page without SKU prices): that is a problem of the page.

    ``skus`` is keyed by the seller's SKU code when the product's SKU-id map was given, else by the page's SKU
    id (then ``page_ids`` holds each such key's numeric ``skuId``, so :func:`~aeops.verify.page_reader.with_sku_codes`
    can key it once the map is read); ``shipping`` is None when the page has no shipping block; ``last_modified`` is
    None on the real page (it shows none; the simulator adds one, see :mod:`aeops.marketplace.simulator.item_pages`).
    """

    product_id: int
    site: str
    device: str
    last_modified: datetime | None = None
    skus: dict[str, SkuView] = field(default_factory=dict)
    shipping: Shipping | None = None
    error: str | None = None
    page_ids: dict[str, str] = field(default_factory=dict)  # unmapped key -> the page's numeric skuId
    unreadable: str | None = None
    detail: str | None = None  # why it is unreadable (a URL, a marker), for logs and reports
    title: str | None = None  # the product's subject as this site shows it (None: the page has none)
    main_image: str | None = None  # the first image of the gallery (None: the page has none)

    @property
    def prices(self) -> dict[str, str | None]:
        """The page's price per SKU code."""
        return {code: s.price for code, s in self.skus.items()}

    @property
    def stocks(self) -> dict[str, int | None]:
        """The page's stock per SKU code."""
        return {code: s.stock for code, s in self.skus.items()}

    @property
    def readable(self) -> bool:
        """Whether the page could be read (no reason it is unreadable)."""
        return self.unreadable is None


# ----------------------------------------------------------------------------------------- the literal
def _skip_value(text: str, at: int) -> int | None:
    """The index after the JavaScript value at ``text[at]`` (JSON, a quoted string, a bare word), or None."""
    while at < len(text) and text[at].isspace():
        at += 1
    if at < len(text) and text[at] in "{[\"-0123456789tfn":
        try:
            return _DECODER.raw_decode(text, at)[1]
        except ValueError:
            if text[at] in "{[":
                return None
    match = _BARE.match(text, at)
    return match.end() if match else None


def _data_of_literal(text: str, brace: int) -> dict[str, Any] | None:
    """The ``data`` object of the object literal whose ``{`` is at ``brace``: its top-level keys are read one
    by one (quoted or not), the values before ``data`` skipped; None when the literal cannot be walked."""
    at = brace + 1
    while True:
        key = _KEY.match(text, at)
        if key is None:
            return None
        name = next(g for g in key.groups() if g is not None)
        if name == "data":
            try:
                value, _ = _DECODER.raw_decode(text, key.end())
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
        end = _skip_value(text, key.end())
        if end is None:
            return None
        rest = text[end:].lstrip()
        if not rest.startswith(","):
            return None
        at = len(text) - len(rest) + 1


def _legacy_data(text: str) -> dict[str, Any] | None:
    """The flat page's ``var skuProducts=[...]`` and ``window.runParams.currency*`` as a ``*Module``-shaped dict."""
    match = _LEGACY_SKUS.search(text)
    if match is None:
        return None
    try:
        skus, _ = _DECODER.raw_decode(text, match.end())
    except ValueError:
        return None
    flat = dict(_FLAT_PARAM.findall(text))
    return {"skuModule": {"skuPriceList": skus}, "currencyComponent": flat}


def run_params_data(text: str) -> dict[str, Any] | None:
    """``window.runParams.data`` of an item page (any of the three generations), or None."""
    for match in _RUN_PARAMS.finditer(text):
        brace = match.end()
        if brace >= len(text) or text[brace] != "{":
            continue
        try:  # a page whose literal is JSON as a whole
            whole, _ = _DECODER.raw_decode(text, brace)
        except ValueError:
            whole = None
        if isinstance(whole, dict):
            if isinstance(whole.get("data"), dict):
                return whole["data"]
            continue  # window.runParams = {}; (the flat page's first statement)
        data = _data_of_literal(text, brace)
        if data is None:  # a literal that cannot be walked: the first ``data: {`` after its brace
            key = _DATA_KEY.search(text, brace)
            try:
                data = _DECODER.raw_decode(text, key.end())[0] if key else None
            except ValueError:
                data = None
        if isinstance(data, dict) and any(k in data for k in _GENERATIONS):
            return data
    return _legacy_data(text)


# ----------------------------------------------------------------------------------------- SKUs
def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _money(value: Any) -> str | None:
    try:
        return money(str(value).replace(",", "") if isinstance(value, str) else value)
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _display(base: str, rate: str) -> str | None:
    """A base-currency amount in the display currency, rounded to the cent as the page rounds it."""
    amount, factor = _decimal(base), _decimal(rate)
    if amount is None or factor is None:
        return None
    return str((amount * factor).quantize(_CENT, rounding=ROUND_HALF_UP))


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) or str(value).isdigit():
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sku_key(sku_attr: str) -> str:
    """A page's ``skuAttr`` (``"14:771#Black Rose Red;200000124:100010483"``) as the API's SKU id
    (``"14:771;200000124:100010483"``): the seller's custom value names after ``#`` dropped."""
    return ";".join(part.split("#", 1)[0].strip() for part in str(sku_attr).split(";") if part.strip())


@dataclass(frozen=True)
class Currencies:
    """The page's currencies: the seller's base currency, the visitor's display currency, display per base."""

    base: str | None
    display: str | None
    rate: Decimal | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Currencies:
        """The page's currencies (base, display and the rate between them) from its data."""
        block = data.get("currencyComponent") or {}
        common = data.get("commonModule") or {}
        base = block.get("baseCurrencyCode")
        display = block.get("currencyCode") or common.get("currencyCode")
        rate = _decimal(block.get("currencyRate")) if block.get("currencyRate") not in (None, "") else None
        if rate is None and base and base == display:
            rate = Decimal(1)
        return cls(base or None, display or None, rate if rate and rate > 0 else None)

    def amount(self, block: Any) -> tuple[str | None, str | None]:
        """A ``{currency, value}`` amount: (in the base currency exactly, else None; as displayed)."""
        if not isinstance(block, Mapping):
            return None, None
        value = _money(block.get("value"))
        currency = block.get("currency")
        if value is None:
            return None, None
        if currency and currency == self.base:
            return value, value
        if self.rate == 1 and (not currency or currency == self.display):
            return value, value
        return None, value


def _sku_view(entry: Mapping[str, Any], cur: Currencies) -> SkuView:
    """Price, discounted price and stock of one ``skuPriceList`` / ``skuProducts`` entry.

    List price: ``skuCalPrice`` (base currency), else ``skuAmount`` when it is in the base currency, else
    ``skuAmount`` converted at the page's rate. Discounted price (only when ``isActivity`` is not false):
    ``actSkuCalPrice`` (base, older pages), else ``skuActivityAmount`` in the base currency, else the display
    amount kept for :meth:`SkuView.discount_is`. Stock: ``inventory`` (``availQuantity`` can be lower: reserved
    units).
    """
    val = entry.get("skuVal") or {}
    price = _money(val.get("skuCalPrice"))
    if price is None:
        exact, shown = cur.amount(val.get("skuAmount"))
        price = exact or _base(shown, cur.rate)
    discount = shown_discount = None
    if val.get("isActivity", True) is not False:
        discount = _money(val.get("actSkuCalPrice"))
        if discount is None and val.get("skuActivityAmount"):
            discount, shown_discount = cur.amount(val.get("skuActivityAmount"))
            if discount is None:
                discount = _base(shown_discount, cur.rate)
            else:
                shown_discount = None
    stock = _int(val.get("inventory"))
    rate = None if shown_discount is None or cur.rate is None else str(cur.rate)
    return SkuView(price, discount, _int(val.get("availQuantity")) if stock is None else stock,
                   discount_shown=shown_discount, rate=rate)


def _base(shown: str | None, rate: Decimal | None) -> str | None:
    """A display amount in the base currency at the page's rate (an approximation, for reports)."""
    if shown is None or not rate:
        return None
    return str((Decimal(shown) / rate).quantize(_CENT, rounding=ROUND_HALF_UP))


def _entries(data: Mapping[str, Any]) -> list[Any] | None:
    price = data.get("priceComponent") or {}
    entries = price.get("skuPriceList")
    if entries is None and isinstance(price.get("skuJson"), str):
        try:
            entries = json.loads(price["skuJson"])
        except ValueError:
            entries = None
    if entries is None:
        entries = (data.get("skuModule") or {}).get("skuPriceList")
    return entries if isinstance(entries, list) else None


def _shipping(data: Mapping[str, Any]) -> Shipping | None:
    block = data.get("webGeneralFreightCalculateComponent")
    if not isinstance(block, Mapping):
        return None
    offers = set()
    for option in block.get("originalLayoutResultList") or []:
        biz = (option or {}).get("bizData") or {}
        code = biz.get("deliveryOptionCode") or biz.get("deliveryProviderCode")
        if code:
            offers.add((str(code), str(biz.get("shippingFee") or "").lower() == "free"))
    return frozenset(offers)


NO_DATA = "no window.runParams data on the page (layout changed?)"


def parse_item_page(text: str, product_id: int, site: str, device: str,
                    sku_codes: Mapping[str, str] | None = None) -> PageView:
    """Read an item page (the real AliExpress page of any generation, and the simulator's, which has the
    current structure).

    SKUs come from ``priceComponent.skuPriceList`` (else its ``skuJson``, else ``skuModule.skuPriceList``, else the
    flat page's ``skuProducts``), keyed by the API's SKU id (:func:`sku_key` of ``skuAttr``) mapped to the
    seller's code through ``sku_codes`` (the page's numeric ``skuId`` is tried too); the shipping block from
    ``webGeneralFreightCalculateComponent``; the title from ``productInfoComponent.subject`` (older:
    ``titleModule``), the main image from ``imageComponent.imagePathList`` (older: ``imageModule``); the
    last-modified time only from the simulator's ``simulatorComponent.gmtModified``. A page without the data is
    unreadable (``no_data``), not an error.
    """
    data = run_params_data(text)
    if data is None:
        return PageView(product_id, site, device, unreadable="no_data", detail=NO_DATA)
    cur = Currencies.of(data)
    codes = sku_codes or {}
    skus: dict[str, SkuView] = {}
    page_ids: dict[str, str] = {}
    for entry in _entries(data) or []:
        if not isinstance(entry, Mapping):
            continue
        numeric = str(entry.get("skuIdStr") or entry.get("skuId") or "")
        key = sku_key(entry.get("skuAttr") or "") or numeric
        code = codes.get(key) or codes.get(numeric)
        if code is None:
            code, page_ids[key] = key, numeric
        skus[code] = _sku_view(entry, cur)
    modified = _when((data.get("simulatorComponent") or {}).get("gmtModified"))
    if not skus:
        return PageView(product_id, site, device, error="the page's data has no SKU price list")
    info = data.get("productInfoComponent") or data.get("titleModule") or {}
    images = (data.get("imageComponent") or data.get("imageModule") or {}).get("imagePathList") or []
    return PageView(product_id, site, device, modified, skus, _shipping(data), page_ids=page_ids,
                    title=str(info["subject"]) if info.get("subject") else None,
                    main_image=str(images[0]) if images and images[0] else None)
