"""Read a product's storefront page as a shopper sees it: one language site, one device.

``StorefrontReader`` is the interface the verification uses; two implementations:

- :class:`SimulatorStorefrontReader` reads the simulator's ``/store/{site}/item/{id}.html?device=...``
  pages over HTTP (base URL = the marketplace connection's host) and its data-center completion figure.
  Tested against the real simulator.
- :class:`HttpStorefrontReader` reads the real AliExpress storefront (a URL template per language site,
  a user agent per device, a fresh cookie-less request for the anonymous view). It has no data-center
  figure (that lives behind the seller login). It was never run against the live site (no network here).

Both storefronts' answers go through :func:`read_answer`: an anti-bot page, a login or geo redirect or a page
without item data is *unreadable* with its cause (:mod:`aeops.verify.unreadable`), anything else is parsed by
:func:`aeops.verify.page_parser.parse_item_page` (tested on every saved real page in
``tests/fixtures/aliexpress/``). Pages carry no seller SKU codes: readers take the product's SKU-id map
(``sku_codes``, from the product query) to key SKUs by code.

Every reader returns a :class:`PageView`, never an exception: an unreadable page has ``unreadable`` set (not a
problem of the product), a page that could not be fetched or is wrong has ``error`` set, so one bad page never
stops a verification pass.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from typing import Any, Protocol, runtime_checkable

import httpx

from aeops.marketplace.tls import tls_context
from aeops.verify.page_parser import NO_DATA, PageView, Shipping, SkuView, parse_item_page, run_params_data, sku_key
from aeops.verify.unreadable import classify

__all__ = ["DEVICES", "NO_DATA", "HttpStorefrontReader", "PageView", "Shipping", "SimulatorStorefrontReader", "SkuView",
           "StorefrontReader", "parse_item_page", "read_answer", "reader_for_connection", "run_params_data",
           "sku_key", "with_sku_codes"]

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


@runtime_checkable
class StorefrontReader(Protocol):
    """Reads storefront pages; ``completion_rate`` is the marketplace's own figure (None: not available).

    ``sku_codes`` maps a product id to its SKU-id map (the platform's SKU id -> the seller's SKU code, from the
    product query); pages are keyed by SKU ids, so a product missing from it reads with page ids only.
    """

    sku_codes: dict[int, dict[str, str]]

    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        """A product's storefront page on ``site`` for ``device``."""

    def completion_rate(self, seller_id: int | None) -> float | None:
        """The seller's information-update completion rate (None: it cannot be read here)."""

    def close(self) -> None:
        """Close the reader's connections."""


# ----------------------------------------------------------------------------------------- reading
def read_answer(url: str, final_url: str, status: int, text: str, product_id: int, site: str, device: str,
                sku_codes: Mapping[str, str] | None, headers: Mapping[str, str] | None = None) -> PageView:
    """One storefront answer as a :class:`PageView`: unreadable (an anti-bot page, a login or geo redirect, a
    page without item data) with its cause, an HTTP error, or the parsed page."""
    location = (headers or {}).get("location") if 300 <= status < 400 else None
    view = parse_item_page(text, product_id, site, device, sku_codes) if status == 200 else None
    has_data = view is not None and view.unreadable is None
    cause = classify(url, final_url, status, text, headers, location, has_data=has_data)
    if cause is not None:
        return PageView(product_id, site, device, unreadable=cause[0], detail=cause[1][:300])
    if view is None:
        return PageView(product_id, site, device, error=f"HTTP {status}")
    return view


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
                                      cookies=jar, verify=tls_context(),
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

    def _fast_get(self, url: str, device: str, site: str) -> tuple[int, str, dict[str, str]]:
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
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, body.decode("utf-8", "replace"), headers

    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        """A product's page from the simulator's storefront."""
        url = f"{self.base_url}/store/{site}/item/{int(product_id)}.html?device={device}"
        try:
            if self._transport is None:
                status, text, headers = self._fast_get(url, device, site)
                final = url
            else:
                response = self._get(url, device, site)
                status, text, final = response.status_code, response.text, str(response.url)
                headers = {k.lower(): v for k, v in response.headers.items()}
        except (httpx.HTTPError, http.client.HTTPException, OSError) as exc:
            return PageView(product_id, site, device, error=f"{type(exc).__name__}: {exc}"[:300])
        return read_answer(url, final, status, text, product_id, site, device, self.sku_codes.get(int(product_id)),
                           headers)

    def close(self) -> None:
        """Close the HTTP clients and the kept-alive connections."""
        super().close()
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def completion_rate(self, seller_id: int | None) -> float | None:
        """The seller's completion rate from the simulator's data center (None when it cannot be read)."""
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
        """The URL of a product's page on ``site`` for ``device``."""
        if device == "mobile":
            return self.mobile_url.format(product_id=int(product_id)) + f"?lang={site}"
        template = self.site_urls.get(site, DEFAULT_SITE_URLS["en"])
        return template.format(product_id=int(product_id))

    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        """A product's page from AliExpress (an HTTP error is a page with its error)."""
        url = self.url(product_id, site, device)
        try:
            response = self._get(url, device, site)
        except httpx.HTTPError as exc:
            return PageView(product_id, site, device, error=f"{type(exc).__name__}: {exc}"[:300])
        headers = {k.lower(): v for k, v in response.headers.items()}
        return read_answer(url, str(response.url), response.status_code, response.text, product_id, site, device,
                           self.sku_codes.get(int(product_id)), headers)

    def completion_rate(self, seller_id: int | None) -> float | None:
        """None: the seller center's figure needs the seller's login."""
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
