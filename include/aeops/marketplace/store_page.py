"""Read the store's own page (``/store/<store number>``) as a shopper sees it on each device.

The page embeds ``window.runParams = {"data": {"storeModule": {...}}}`` (see
:mod:`aeops.marketplace.simulator.shop_pages` and docs/simulator.md for which fields are taken from real
AliExpress pages and which are assumed). The banners and the response time are assumed fields: a page without
them (the simulator's ``documented`` profile; a real page, as far as public samples show) lists them in
``StorePageView.unreadable``, and aeops reports them "cannot be checked here" instead of a difference.
:func:`read_store_page` returns a :class:`StorePageView`; a page that cannot be fetched or parsed is a view with
``error`` set, never an exception.

Where the pages are: the simulator serves ``{base_url}/store/{num}?device=...``; the real storefront is
``https://www.aliexpress.com/store/{num}`` with a device's user agent (untested against the live site).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

DEVICES = ("desktop", "mobile", "anonymous")
REAL_STORE_URL = "https://www.aliexpress.com/store/{num}"
USER_AGENTS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
               "Safari/537.36",
    "mobile": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
              "Mobile Safari/537.36 AliApp(AliExpress/8.110.3)",
    "anonymous": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
                 "Safari/537.36",
}
_RUN_PARAMS = re.compile(r"window\.runParams\s*=\s*(\{.*?\});\s*</script>", re.S)
MAX_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class StorePageView:
    """What the store page shows on one device (``error`` when it could not be read)."""

    device: str
    url: str
    name: str | None = None
    logo_url: str | None = None
    banner_urls: tuple[str, ...] = ()
    response_time_hours: float | None = None
    error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    unreadable: frozenset[str] = frozenset()  # settings the page carries no field for: "banners", "response_time"


def page_url(base_url: str, store_num: int, device: str, *, real: bool) -> str:
    """The URL of a store's page for ``device``: the real AliExpress store page, or the simulator's."""
    if real:
        return REAL_STORE_URL.format(num=store_num)
    return f"{base_url.rstrip('/')}/store/{store_num}?device={device}"


def is_real_storefront(base_url: str, extra: Mapping[str, Any] | None = None) -> bool:
    """Same rule as item pages: extra ``storefront`` wins, else a host under aliexpress.com is the real one."""
    choice = str((extra or {}).get("storefront") or "").lower()
    if choice:
        return choice == "aliexpress"
    host = httpx.URL(base_url).host or ""
    return host == "aliexpress.com" or host.endswith(".aliexpress.com")


def _absolute(url: str | None, page: str) -> str | None:
    if not url:
        return None
    if url.startswith("//"):
        return httpx.URL(page).scheme + ":" + url
    return str(httpx.URL(page).join(url))


def parse_store_page(text: str, device: str, url: str) -> StorePageView:
    """The store header's fields from the page's ``window.runParams`` data."""
    match = _RUN_PARAMS.search(text)
    if not match:
        return StorePageView(device, url, error="no window.runParams data in the page")
    try:
        module = json.loads(match.group(1))["data"]["storeModule"]
    except (ValueError, KeyError, TypeError) as exc:
        return StorePageView(device, url, error=f"unreadable store data: {type(exc).__name__}")
    hours = (module.get("responseTime") or {}).get("hours")
    banners = tuple(u for u in (_absolute((b or {}).get("imageUrl"), url) for b in module.get("banners") or []) if u)
    unreadable = frozenset(name for name, key in (("banners", "banners"), ("response_time", "responseTime"))
                           if key not in module)  # assumed fields: a page without them cannot tell
    return StorePageView(device, url, name=module.get("storeName"), logo_url=_absolute(module.get("logo"), url),
                         banner_urls=banners, response_time_hours=None if hours is None else float(hours),
                         raw=module, unreadable=unreadable)


def read_store_page(client: httpx.Client, base_url: str, store_num: int, device: str, *,
                    real: bool = False) -> StorePageView:
    """Fetch and parse the store page for ``device`` (a fresh cookie-less request each time)."""
    url = page_url(base_url, store_num, device, real=real)
    try:
        response = client.get(url, headers={"User-Agent": USER_AGENTS[device]})
    except httpx.HTTPError as exc:
        return StorePageView(device, url, error=f"{type(exc).__name__}: {exc}"[:200])
    if response.status_code != 200:
        return StorePageView(device, url, error=f"HTTP {response.status_code}")
    return parse_store_page(response.text, device, url)


def fetch_image(client: httpx.Client, url: str) -> bytes:
    """An image the page links to (logo, banner); ValueError with one line when it cannot be had."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code} for {url}")
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_IMAGE_BYTES:
                    raise ValueError(f"{url} is larger than {MAX_IMAGE_BYTES // 2**20} MB")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise ValueError(f"{type(exc).__name__} fetching {url}") from None
