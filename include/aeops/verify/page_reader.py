"""Read a product's storefront page as a shopper sees it: one language site, one device.

``StorefrontReader`` is the interface the verification uses; two implementations:

- :class:`SimulatorStorefrontReader` reads the simulator's ``/store/{site}/item/{id}.html?device=...``
  pages over HTTP (base URL = the marketplace connection's host) and its data-center completion figure.
  Tested against the real simulator.
- :class:`HttpStorefrontReader` reads the real AliExpress storefront (a URL template per language site,
  a user agent per device, a fresh cookie-less request for the anonymous view). It has no data-center
  figure (that lives behind the seller login). It was never run against the live site (no network here).

Both pages go through one parser, :func:`parse_item_page`: the simulator's pages have the real page's
structure (``window.runParams`` with SKUs keyed by SKU ids and property values), and the parser is tested on
saved real-shaped pages of both known generations (``tests/fixtures/aliexpress/``). Pages carry no seller SKU
codes: readers take the product's SKU-id map (``sku_codes``, from the product query) to key SKUs by code.

Every reader returns a :class:`PageView`; a page that cannot be fetched or parsed is a ``PageView`` with
``error`` set, never an exception, so one bad page never stops a verification pass.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from typing import Any, Protocol, runtime_checkable

import httpx

from aeops.catalog.model import money

DEVICES = ("desktop", "mobile", "anonymous")

# What a browser / the app sends; the anonymous view is a desktop browser without cookies.
USER_AGENTS = {
    "desktop": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36"),
    "mobile": ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/131.0.0.0 Mobile Safari/537.36 AliApp(AliExpress/8.110.3)"),
    "anonymous": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36"),
}


@dataclass(frozen=True)
class SkuView:
    price: str | None
    discount_price: str | None
    stock: int | None


Shipping = frozenset[tuple[str, bool]]
"""The logistics services a page offers: (service code such as ``CAINIAO_STANDARD``, free shipping?)."""


@dataclass(frozen=True)
class PageView:
    """What one storefront page shows. ``error`` is set when the page could not be read or parsed.

    ``skus`` is keyed by the seller's SKU code when the product's SKU-id map was given, else by the page's SKU
    id (then ``page_ids`` holds each such key's numeric ``skuId``, so :func:`with_sku_codes` can key it once the
    map is read); ``shipping`` is None when the page has no shipping block; ``last_modified`` is None on the
    real page (it shows none; the simulator adds one, see :mod:`aeops.marketplace.simulator.item_pages`).
    """

    product_id: int
    site: str
    device: str
    last_modified: datetime | None = None
    skus: dict[str, SkuView] = field(default_factory=dict)
    shipping: Shipping | None = None
    error: str | None = None
    page_ids: dict[str, str] = field(default_factory=dict)  # unmapped key -> the page's numeric skuId
    title: str | None = None  # the product's subject as this site shows it (None: the page has none)
    main_image: str | None = None  # the first image of the gallery (None: the page has none)

    @property
    def prices(self) -> dict[str, str | None]:
        return {code: s.price for code, s in self.skus.items()}

    @property
    def stocks(self) -> dict[str, int | None]:
        return {code: s.stock for code, s in self.skus.items()}


@runtime_checkable
class StorefrontReader(Protocol):
    """Reads storefront pages; ``completion_rate`` is the marketplace's own figure (None: not available).

    ``sku_codes`` maps a product id to its SKU-id map (the platform's SKU id -> the seller's SKU code, from the
    product query); pages are keyed by SKU ids, so a product missing from it reads with page ids only.
    """

    sku_codes: dict[int, dict[str, str]]

    def fetch(self, product_id: int, site: str, device: str) -> PageView: ...

    def completion_rate(self, seller_id: int | None) -> float | None: ...

    def close(self) -> None: ...


# ----------------------------------------------------------------------------------------- parsing
_RUN_PARAMS = re.compile(r"window\.runParams\s*=\s*")
_DATA_KEY = re.compile(r"""(?:^|[{,\s])["']?data["']?\s*:\s*(?=\{)""")
_CENT = Decimal("0.01")


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


def _balanced_json(text: str, start: int) -> Any:
    """The JSON value (object or array) that starts at ``text[start]``, by bracket matching."""
    opening = text[start]
    closing = {"{": "}", "[": "]"}[opening]
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return json.loads(text[start : i + 1])
    raise ValueError("unbalanced JSON")


def run_params_data(text: str) -> dict[str, Any] | None:
    """``window.runParams.data`` of an item page: the object after ``window.runParams =`` is a JavaScript literal
    whose ``data`` key is unquoted on the real page (``{ data: {...} }``), so the ``data`` object is found by its
    key and read as JSON by bracket matching."""
    for match in _RUN_PARAMS.finditer(text):
        brace = text.find("{", match.end())
        if brace < 0:
            continue
        try:
            whole = _balanced_json(text, brace)
            if isinstance(whole, dict) and isinstance(whole.get("data"), dict):
                return whole["data"]
        except ValueError:
            pass
        key = _DATA_KEY.search(text, brace)
        if key is None:
            continue
        try:
            data = _balanced_json(text, key.end())
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def sku_key(sku_attr: str) -> str:
    """A page's ``skuAttr`` (``"14:771#Black Rose Red;200000124:100010483"``) as the API's SKU id
    (``"14:771;200000124:100010483"``): the seller's custom value names after ``#`` dropped."""
    return ";".join(part.split("#", 1)[0].strip() for part in str(sku_attr).split(";") if part.strip())


def _base(value: Any, rate: Decimal) -> str | None:
    """A display-currency amount in the seller's base currency (``amount / currencyRate``, to the cent)."""
    try:
        amount = Decimal(str(value).replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return str((amount / rate).quantize(_CENT, rounding=ROUND_HALF_UP)) if rate else None


def _sku_view(entry: Mapping[str, Any], rate: Decimal) -> SkuView:
    """Price, discounted price and stock of one ``skuPriceList`` entry, in the seller's base currency.

    ``skuCalPrice`` is the list price in the base currency (the API's ``sku_price``); the discounted price is
    ``actSkuCalPrice`` (older pages) or ``skuActivityAmount / currencyRate`` (current pages; none when
    ``isActivity`` is false); the stock is ``inventory`` (``availQuantity`` can be lower: reserved units).
    """
    val = entry.get("skuVal") or {}
    price = _money(val.get("skuCalPrice")) or _base((val.get("skuAmount") or {}).get("value"), rate)
    discount = None
    if val.get("isActivity", True) is not False:
        discount = _money(val.get("actSkuCalPrice"))
        if discount is None and val.get("skuActivityAmount"):
            discount = _base((val.get("skuActivityAmount") or {}).get("value"), rate)
    stock = _int(val.get("inventory"))
    return SkuView(price, discount, _int(val.get("availQuantity")) if stock is None else stock)


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


def parse_item_page(text: str, product_id: int, site: str, device: str,
                    sku_codes: Mapping[str, str] | None = None) -> PageView:
    """Read an item page (the real AliExpress page in its current ``*Component`` or older ``*Module`` form, and
    the simulator's, which has the same structure).

    SKUs come from ``priceComponent.skuPriceList`` (else ``skuModule.skuPriceList``), keyed by the API's SKU id
    (:func:`sku_key` of ``skuAttr``) mapped to the seller's code through ``sku_codes`` (the page's numeric
    ``skuId`` is tried too); the shipping block from ``webGeneralFreightCalculateComponent``; the title from
    ``productInfoComponent.subject`` (older: ``titleModule``), the main image from ``imageComponent.imagePathList``
    (older: ``imageModule``); the last-modified time only from the simulator's ``simulatorComponent.gmtModified``.
    """
    data = run_params_data(text)
    if data is None:
        return PageView(product_id, site, device, error="no window.runParams data on the page (layout changed?)")
    price = data.get("priceComponent") or {}
    entries = price.get("skuPriceList")
    if entries is None and isinstance(price.get("skuJson"), str):
        try:
            entries = json.loads(price["skuJson"])
        except ValueError:
            entries = None
    if entries is None:
        entries = (data.get("skuModule") or {}).get("skuPriceList")
    try:
        rate = Decimal(str((data.get("currencyComponent") or {}).get("currencyRate") or 1))
    except InvalidOperation:
        rate = Decimal(1)
    codes = sku_codes or {}
    skus: dict[str, SkuView] = {}
    page_ids: dict[str, str] = {}
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        numeric = str(entry.get("skuIdStr") or entry.get("skuId") or "")
        key = sku_key(entry.get("skuAttr") or "") or numeric
        code = codes.get(key) or codes.get(numeric)
        if code is None:
            code, page_ids[key] = key, numeric
        skus[code] = _sku_view(entry, rate)
    modified = _when((data.get("simulatorComponent") or {}).get("gmtModified"))
    if not skus:
        return PageView(product_id, site, device, error="the page's data has no SKU price list")
    info = data.get("productInfoComponent") or data.get("titleModule") or {}
    images = (data.get("imageComponent") or data.get("imageModule") or {}).get("imagePathList") or []
    return PageView(product_id, site, device, modified, skus, _shipping(data), page_ids=page_ids,
                    title=str(info["subject"]) if info.get("subject") else None,
                    main_image=str(images[0]) if images and images[0] else None)


def with_sku_codes(page: PageView, sku_codes: Mapping[str, str]) -> PageView:
    """``page`` read without its product's SKU-id map, keyed by the seller's codes now that the map is known
    (the same lookup as :func:`parse_item_page`: the API's SKU id, then the page's numeric ``skuId``)."""
    if page.error or not page.page_ids:
        return page
    skus: dict[str, SkuView] = {}
    left: dict[str, str] = {}
    for key, view in page.skus.items():
        numeric = page.page_ids.get(key)
        code = key if numeric is None else sku_codes.get(key) or sku_codes.get(numeric)
        if code is None:
            code, left[key] = key, numeric or ""
        skus[code] = view
    return replace(page, skus=skus, page_ids=left)


# ----------------------------------------------------------------------------------------- readers
class _HttpBase:
    """httpx plumbing shared by both readers: one cookie-keeping client per device, anonymous without cookies."""

    def __init__(self, timeout: float = 15.0, transport: httpx.BaseTransport | None = None,
                 user_agents: Mapping[str, str] | None = None,
                 sku_codes: Mapping[int, Mapping[str, str]] | None = None) -> None:
        self.user_agents = {**USER_AGENTS, **(user_agents or {})}
        self.sku_codes: dict[int, dict[str, str]] = {int(p): dict(m) for p, m in (sku_codes or {}).items()}
        self._timeout, self._transport = timeout, transport
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        self.requests = 0  # page and figure requests made, for reports and the benchmark

    def _client(self, device: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(device)
            if client is None:
                # the anonymous view never stores or sends a cookie (a jar whose policy refuses every domain)
                jar = CookieJar(DefaultCookiePolicy(allowed_domains=[])) if device == "anonymous" else None
                client = httpx.Client(timeout=self._timeout, transport=self._transport, follow_redirects=True,
                                      cookies=jar,
                                      headers={"User-Agent": self.user_agents.get(device, USER_AGENTS["desktop"]),
                                               "Accept-Language": "en"})
                self._clients[device] = client
            self.requests += 1
            return client

    def _get(self, url: str, device: str, site: str) -> httpx.Response:
        return self._client(device).get(url, headers={"Accept-Language": site, "Cache-Control": "no-cache"})

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


class SimulatorStorefrontReader(_HttpBase):
    """The simulator's storefront: ``{base}/store/{site}/item/{id}.html?device=...``.

    Pages go through one keep-alive ``http.client`` connection per thread (about twice the pages per
    second of an ``httpx.Client`` for the same CPU; a whole-store repricing is ~100,000 pages). Sessions are
    kept per device from ``Set-Cookie`` (one host: name=value only), never for the anonymous view. With a
    ``transport`` (tests) pages go through httpx clients instead.
    """

    def __init__(self, base_url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.base_url = base_url.rstrip("/")
        for suffix in ("/sync", "/rest"):
            if self.base_url.endswith(suffix):
                self.base_url = self.base_url[: -len(suffix)]
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._sessions: dict[str, dict[str, str]] = {}

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not fresh:
            return conn
        if conn is not None:
            conn.close()
        parts = urllib.parse.urlsplit(self.base_url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = self._local.conn = kind(parts.netloc, timeout=self._timeout)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _fast_get(self, url: str, device: str, site: str) -> tuple[int, str]:
        with self._lock:
            self.requests += 1
            session = dict(self._sessions.get(device, {}))
        headers = {"User-Agent": self.user_agents.get(device, USER_AGENTS["desktop"]), "Accept-Language": site,
                   "Cache-Control": "no-cache"}
        if session and device != "anonymous":
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in session.items())
        path = url[len(self.base_url):] or "/"
        for attempt in (1, 2):  # a kept-alive connection the server has closed fails once: GET again
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                if attempt == 2:
                    raise
        if device != "anonymous":
            for value in response.headers.get_all("Set-Cookie") or []:
                morsels = SimpleCookie(value)
                with self._lock:
                    self._sessions.setdefault(device, {}).update({k: m.value for k, m in morsels.items()})
        return response.status, body.decode("utf-8", "replace")

    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        url = f"{self.base_url}/store/{site}/item/{int(product_id)}.html?device={device}"
        try:
            if self._transport is None:
                status, text = self._fast_get(url, device, site)
            else:
                response = self._get(url, device, site)
                status, text = response.status_code, response.text
        except (httpx.HTTPError, http.client.HTTPException, OSError) as exc:
            return PageView(product_id, site, device, error=f"{type(exc).__name__}: {exc}"[:300])
        if status != 200:
            return PageView(product_id, site, device, error=f"HTTP {status}")
        return parse_item_page(text, product_id, site, device, self.sku_codes.get(int(product_id)))

    def close(self) -> None:
        super().close()
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def completion_rate(self, seller_id: int | None) -> float | None:
        if seller_id is None:
            return None
        try:
            response = self._client("desktop").get(
                f"{self.base_url}/datacenter/{int(seller_id)}/information-update-completion-rate")
            response.raise_for_status()
            return float(response.json()["rate"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None


DEFAULT_SITE_URLS = {
    "en": "https://www.aliexpress.com/item/{product_id}.html",
    "ru": "https://aliexpress.ru/item/{product_id}.html",
    "es": "https://es.aliexpress.com/item/{product_id}.html",
    "fr": "https://fr.aliexpress.com/item/{product_id}.html",
    "pt": "https://pt.aliexpress.com/item/{product_id}.html",
}
MOBILE_URL = "https://m.aliexpress.com/item/{product_id}.html"


class HttpStorefrontReader(_HttpBase):
    """The real AliExpress storefront (UNTESTED against the live site; parsing is best effort).

    ``site_urls`` maps a language site to a URL template with ``{product_id}``; the mobile view uses
    ``mobile_url`` (with ``?lang={site}``) and the app's user agent; the anonymous view is a desktop
    browser with no cookies. Logged-in views would need a buyer session, which aeops does not keep.
    """

    def __init__(self, site_urls: Mapping[str, str] | None = None, mobile_url: str = MOBILE_URL, **kw: Any) -> None:
        super().__init__(**kw)
        self.site_urls = {**DEFAULT_SITE_URLS, **(site_urls or {})}
        self.mobile_url = mobile_url

    def url(self, product_id: int, site: str, device: str) -> str:
        if device == "mobile":
            return self.mobile_url.format(product_id=int(product_id)) + f"?lang={site}"
        template = self.site_urls.get(site, DEFAULT_SITE_URLS["en"])
        return template.format(product_id=int(product_id))

    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        try:
            response = self._get(self.url(product_id, site, device), device, site)
        except httpx.HTTPError as exc:
            return PageView(product_id, site, device, error=f"{type(exc).__name__}: {exc}"[:300])
        if response.status_code != 200:
            return PageView(product_id, site, device, error=f"HTTP {response.status_code}")
        return parse_item_page(response.text, product_id, site, device, self.sku_codes.get(int(product_id)))

    def completion_rate(self, seller_id: int | None) -> float | None:
        return None  # the seller center's data-center figure needs the seller's login; not read


def reader_for_connection(base_url: str, extra: Mapping[str, Any] | None = None, *,
                          sku_codes: Mapping[int, Mapping[str, str]] | None = None, **kw: Any) -> StorefrontReader:
    """The reader for a marketplace connection: extra ``storefront`` = ``simulator`` | ``aliexpress``;
    without it, a host under aliexpress.com means the real storefront and anything else the simulator.

    ``sku_codes`` (product id -> {platform SKU id: seller SKU code}, from the product query) is what maps the
    pages' SKU ids back to the export's codes; verification adds products to ``reader.sku_codes`` as it goes."""
    choice = str((extra or {}).get("storefront") or "").lower()
    if not choice:
        host = httpx.URL(base_url).host or ""
        choice = "aliexpress" if host == "aliexpress.com" or host.endswith(".aliexpress.com") else "simulator"
    if choice == "aliexpress":
        return HttpStorefrontReader(sku_codes=sku_codes, **kw)
    return SimulatorStorefrontReader(base_url, sku_codes=sku_codes, **kw)
