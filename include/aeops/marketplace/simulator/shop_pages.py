"""The store's own page (``/store/<store number>``) per device, and the test hook that changes what it shows.

A store page shows what the seller set in the seller center: the store name, the logo, the banner(s) and the
customer-service response time. The Open Platform has no API for any of them, so the simulator holds them as
"seller-center state" per seller (``sellers[<id>]["store_page"]``, images by content id in
``sellers[<id>]["store_images"]``), changed only through ``POST /_sim/store/{seller_id}`` (what a person
does in the seller center) and read by aeops only through the page, like a shopper.

Page structure (see docs/simulator.md for what is taken from real pages and what is assumed): the header
markup (banner, logo, name, response time) and a ``window.runParams = {"data": {...}}`` script whose
``storeModule`` uses the field names of AliExpress pages (``storeName``, ``storeNum``, ``storeURL``,
``sellerAdminSeq``, ``logo``, ``storeHomePage``, ``positiveRate``, ``followingNumber``, ``openTime``,
``topRatedSeller``); ``banners`` and ``responseTime`` are assumed names, left out (with their markup) in the
``documented`` profile (:mod:`~.profiles`). A device override
(``store_page.devices[<device>]``) lets one device lag behind the others, as propagation does on item pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from aeops.demo import ALL_DEMO_SELLERS, DEMO_STORE_NUMS
from aeops.marketplace.simulator.faults import DEVICES
from aeops.marketplace.simulator.state import SimState

FIELDS = ("name", "logo", "banners", "response_time_hours")
DEFAULT_RESPONSE_HOURS = 24.0
MAX_IMAGE_BYTES = 3 * 1024 * 1024


class StorePageError(ValueError):
    """A bad test-hook request (answered 400 with the message)."""


def default_store_num(seller_id: int) -> int:
    """The demo stores' numbers (aeops.demo.DEMO_STORE_NUMS); other sellers get 900000000 + the id's last digits."""
    for name, (_conn, sid, *_rest) in ALL_DEMO_SELLERS.items():
        if sid == int(seller_id):
            return DEMO_STORE_NUMS[name]
    return 900_000_000 + int(seller_id) % 100_000_000


def settings_of(seller: dict[str, Any]) -> dict[str, Any]:
    """A seller's store-page settings with defaults (name = the shop name, no logo, no banner, 24 h)."""
    page = dict(seller.get("store_page") or {})
    page.setdefault("store_num", default_store_num(int(seller["seller_id"])))
    page.setdefault("name", seller.get("shop_name") or f"Store {seller['seller_id']}")
    page.setdefault("logo", None)
    page.setdefault("banners", [])
    page.setdefault("response_time_hours", DEFAULT_RESPONSE_HOURS)
    page.setdefault("devices", {})
    return page


def _seller_by_store_num(state: SimState, store_num: int) -> dict[str, Any] | None:
    for seller in state.sellers().values():
        if int(settings_of(seller)["store_num"]) == int(store_num):
            return seller
    return None


def shown(seller: dict[str, Any], device: str) -> dict[str, Any]:
    """What ``device`` shows: the settings, with that device's override (a lagging device) on top."""
    page = settings_of(seller)
    view = {f: page[f] for f in FIELDS}
    view.update({k: v for k, v in (page["devices"].get(device) or {}).items() if k in FIELDS})
    return view


def _image_url(public_url: str, image_id: str | None) -> str | None:
    return f"{public_url.rstrip('/')}/kf/{image_id}.png" if image_id else None


def store_page(state: SimState, store_num: int, device: str, public_url: str, *, assumed: bool = True
               ) -> str | None:
    """The store page as ``device`` sees it (None: no such store); ``assumed``: with the banners and the response
    time, whose place and names no public page sample shows."""
    seller = _seller_by_store_num(state, store_num)
    if seller is None:
        return None
    view = shown(seller, device)
    seller_id = int(seller["seller_id"])
    logo = _image_url(public_url, view["logo"])
    banners = [u for u in (_image_url(public_url, b) for b in view["banners"]) if u]
    hours = view["response_time_hours"]
    store_url = f"//www.aliexpress.com/store/{store_num}"
    data = {
        "storeModule": {
            "name": "StoreModule", "storeName": view["name"], "storeNum": int(store_num), "storeURL": store_url,
            "sellerAdminSeq": seller_id, "logo": logo,
            "storeHomePage": f"https://m.aliexpress.com/store/storeHome.htm?sellerAdminSeq={seller_id}",
            "positiveRate": "97.1%", "followingNumber": 1204, "openTime": "Mar 3, 2021", "topRatedSeller": False,
            "countryCompleteName": "China", "hasStoreHeader": True,
        },
        "webEnv": {"host": "www.aliexpress.com", "language": "en", "site": "glo",
                   "ua:device": "pc" if device != "mobile" else "mobile"},
    }
    banner_html = response_html = ""
    if assumed:
        response = f"Responds within {hours:g} hours" if hours else ""
        data["storeModule"].update(banners=[{"imageUrl": u} for u in banners],
                                   responseTime={"hours": hours, "text": response})
        banner_html = "".join(f'<img class="store-banner-image" src="{html.escape(u)}" alt="">' for u in banners)
        response_html = f'<span class="response-time">{html.escape(response)}</span>'
    logo_html = f'<img class="shop-logo" src="{html.escape(logo)}" alt="">' if logo else ""
    name = html.escape(view["name"] or "")
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{name} - Small Orders Online Store on Aliexpress.com</title>\n"
        f'<link rel="canonical" href="https:{store_url}">\n</head>\n<body data-device="{device}">\n'
        f'<div id="store-header" class="store-header">\n<div class="store-banner">{banner_html}</div>\n'
        f'<div class="shop-info">{logo_html}<h1 class="shop-name">{name}</h1>{response_html}</div>\n'
        "</div>\n"
        f"<script>\nwindow.runParams = {json.dumps({'data': data})};\n</script>\n</body></html>\n"
    )


def image(state: SimState, image_id: str) -> bytes | None:
    """An image a store page links to (logo or banner), by content id."""
    for seller in state.sellers().values():
        encoded = (seller.get("store_images") or {}).get(image_id)
        if encoded:
            return base64.b64decode(encoded)
    return None


def _store_image(seller: dict[str, Any], encoded: str) -> str:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise StorePageError("images must be base64") from None
    if not data or len(data) > MAX_IMAGE_BYTES:
        raise StorePageError(f"an image must be 1 byte to {MAX_IMAGE_BYTES} bytes")
    image_id = hashlib.sha256(data).hexdigest()[:24]
    seller.setdefault("store_images", {})[image_id] = base64.b64encode(data).decode()
    return image_id


def set_store_page(state: SimState, seller_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """The test hook (a person in the seller center): change the name, logo, banners or response time.

    ``changes``: ``name``, ``logo_b64`` (None clears it), ``banners_b64`` (a list), ``response_time_hours``,
    ``store_num``; with ``device`` the change applies to that device only (it lags the others);
    ``"clear_devices": true`` drops every device override. Returns the new settings.
    """
    device = changes.get("device")
    if device is not None and device not in DEVICES:
        raise StorePageError(f"device must be one of {', '.join(DEVICES)}")
    unknown = set(changes) - {"name", "logo_b64", "banners_b64", "response_time_hours", "store_num", "device",
                              "clear_devices"}
    if unknown:
        raise StorePageError(f"unknown field(s): {', '.join(sorted(unknown))}")
    with state.write() as tx:
        sellers = tx.sellers()
        seller = sellers.get(str(int(seller_id)))
        if seller is None:
            raise StorePageError(f"no seller {seller_id}")
        page = settings_of(seller)
        target = page["devices"].setdefault(device, {}) if device else page
        if "name" in changes:
            target["name"] = str(changes["name"])
        if "logo_b64" in changes:
            target["logo"] = _store_image(seller, changes["logo_b64"]) if changes["logo_b64"] else None
        if "banners_b64" in changes:
            target["banners"] = [_store_image(seller, b) for b in changes["banners_b64"] or []]
        if "response_time_hours" in changes:
            value = changes["response_time_hours"]
            target["response_time_hours"] = None if value is None else float(value)
        if "store_num" in changes and not device:
            page["store_num"] = int(changes["store_num"])
        if changes.get("clear_devices"):
            page["devices"] = {}
        seller["store_page"] = page
        return {k: v for k, v in page.items()}


def register(app: Any, state: SimState, public_url: str, *, assumed: bool = True) -> None:
    """Add the store-page routes to the simulator's FastAPI app (``assumed``: the profile's choice)."""
    @app.get("/store/{store_num}")
    def store(store_num: int, device: str = "desktop") -> Response:
        if device not in DEVICES:
            return HTMLResponse("<h1>404</h1>", status_code=404)
        page = store_page(state, store_num, device, public_url, assumed=assumed)
        if page is None:
            return HTMLResponse("<h1>Store not found</h1>", status_code=404)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/_sim/store/{seller_id}")
    def get_settings(seller_id: int) -> Response:
        seller = state.sellers().get(str(seller_id))
        if seller is None:
            return JSONResponse({"error": f"no seller {seller_id}"}, status_code=404)
        return JSONResponse(settings_of(seller))

    @app.post("/_sim/store/{seller_id}")
    async def post_settings(seller_id: int, request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise StorePageError("the body must be a JSON object")
            return JSONResponse(set_store_page(state, seller_id, body))
        except (StorePageError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
