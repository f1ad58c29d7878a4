"""``aeops simulator``: a local AliExpress Open Platform over real HTTP (FastAPI + uvicorn).

Run ``aeops simulator --port 8765 --state sim.json --seed-from export.csv --faults qps=20,latency_ms=120``.
The same :class:`~aeops.marketplace.client.AliExpressClient` talks to it and to api-sg.aliexpress.com.

Demo app and sellers (from :mod:`aeops.embedded`, created in a new state file)::

    app key 500001, secret "demo-app-secret-not-for-production"
    seller 2000000001 ("demo"):      access "demo-access-token-main", refresh "demo-refresh-token-main"
    seller 2000000002 ("demo-kids"): access "demo-access-token-kids", refresh "demo-refresh-token-kids"
    tokens valid 365 days (refresh 730) from state creation; account_status "normal"
    freight templates of every seller: 1001 Standard Shipping (default), 1002 Free Shipping, 1003 Express (DHL)

Endpoints:

``POST /sync`` (also ``?method=``)
    Form (urlencoded or multipart) with ``app_key, method, timestamp, sign_method=sha256, session`` (or
    ``access_token``), ``sign`` and business params. Checks, in order: app key (``InvalidAppKey``),
    timestamp within 7200 s (``InvalidTimestamp``), signature (``IncompleteSignature``), token
    (``IllegalAccessToken``), per-seller QPS / ``throttle`` fault (``ApiCallLimit ... ban will last 1
    seconds``), ``daily_quota`` (``AppCallLimit``, sub_code ``accesscontrol.limited-by-app-access-count``),
    ``server_error`` fault (type ``SYSTEM``). Errors use the /sync shape
    ``{"error_response": {"type", "code", "msg", "request_id", "_trace_id_"}}``; success
    ``{"<method with _>_response": {..., "request_id"}}`` with ``simplify=false``-style list wrappers.
    Methods: ``aliexpress.solution.product.list.get``, ``aliexpress.solution.product.info.get``,
    ``aliexpress.solution.batch.product.price.update`` / ``.inventory.update`` (20 products, 200 SKUs a
    product, price 0.01-999999, discount < price, omitted discount erases it, stock 0-999999 and <= 999999
    a product; per-product ``update_successful_list`` / ``update_failed_list``),
    ``aliexpress.solution.product.edit`` (``sku_info_list`` replaces every SKU, like the real one),
    ``aliexpress.photobank.redefining.uploadimageforsdk`` (multipart ``image_bytes`` <= 3 MB, unsigned),
    ``aliexpress.freight.redefining.listfreighttemplate``, ``aliexpress.merchant.profile.get``
    (``profile.account_status``).
``POST /rest/auth/token/refresh``
    /rest protocol (signature with the path prefix); answers the documented token fields with
    ``code "0"``; errors in the /rest shape ``{"type", "code", "message", "request_id"}``, and an unknown
    refresh token in the legacy TOP shape (``code 15``, ``sub_code isv.refresh-token-invalid``).
``GET /store/{site}/item/{product_id}.html?device=desktop|mobile|anonymous``
    The storefront page per language site (en, ru, es, fr, pt) and device: ``<meta name="last-modified"
    content="<ISO UTC>">``, ``<meta name="last-modified-ms">``, price/stock/freight template in the HTML
    and in ``<script type="application/json" id="product-data">``. A view shows a write only after
    ``propagation_s``; ``stale_site`` pairs and ``never_device`` keep the seeded values.
``GET /datacenter/{seller_id}/information-update-completion-rate``
    ``{"seller_id", "rate", "products", "complete", "incomplete_product_ids"}``: share of the seller's products
    whose latest write every (site, device) view shows.
``GET /_sim/state[?views=false]``
    The whole state (apps, sellers, products with SKUs and ``gmt_modified_ms``) plus per-product views.
``GET /_sim/health``
    ``{"ok": true, "faults": {...}}``.

Faults (``--faults``, see :class:`~aeops.marketplace.sim_state.Faults`): ``throttle, item_fail,
server_error, lost_response, stale_site`` (probabilities), ``propagation_s, latency_ms, qps, daily_quota,
never_device, seed``. ``lost_response`` applies the call, then closes the connection mid-answer.
QPS windows, daily quotas and random draws are per simulator process; the catalog is shared.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import html
import io
import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Receive, Scope, Send

from aeops.marketplace.signing import sign
from aeops.marketplace.sim_state import (
    DEVICES,
    SITES,
    Faults,
    SimState,
    Tx,
    now_ms,
    record_write,
    view,
)

log = logging.getLogger(__name__)
TIMESTAMP_WINDOW_MS = 7200 * 1000
MAX_PHOTO_BYTES = 3 * 1024 * 1024
MAX_MONEY = Decimal("999999")
MIN_PRICE = Decimal("0.01")
FILE_PARAMS = {"image_bytes"}


class SimError(Exception):
    """An error answer: ``shape`` is sync | rest | top."""

    def __init__(self, code: str, msg: str, *, err_type: str = "ISV", shape: str = "sync",
                 sub_code: str | None = None) -> None:
        super().__init__(msg)
        self.code, self.msg, self.err_type, self.shape, self.sub_code = code, msg, err_type, shape, sub_code


class _Dropped(Exception):
    """Answer with a truncated response (the connection closes mid-answer)."""


def _request_id() -> str:
    return uuid.uuid4().hex[:13]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _gmt(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _parse_gmt(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)


def _wrap(items: list[Any], name: str, simplify: bool) -> Any:
    return items if simplify else {name: items}


class Simulator:
    """The protocol logic, independent of the web framework (the FastAPI app only moves bytes)."""

    def __init__(self, state: SimState, faults: Faults | None = None, *,
                 public_url: str = "http://127.0.0.1") -> None:
        self.state = state
        self.faults = faults or Faults()
        self.public_url = public_url
        self._rng = self.faults.rng()
        self._rng_lock = threading.Lock()
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._app_calls: collections.Counter[str] = collections.Counter()
        self._meter_lock = threading.Lock()

    def _draw(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < probability

    # ------------------------------------------------------------------ checks
    def _authenticate(self, api: str, params: dict[str, str], shape: str) -> dict[str, Any] | None:
        app = self.state.app(params.get("app_key", ""))
        if app is None:
            raise SimError("InvalidAppKey", "The app key is invalid or does not exist", shape=shape)
        raw_ts = params.get("timestamp", "")
        try:
            ts = int(raw_ts) if raw_ts.isdigit() else int(
                datetime.fromisoformat(raw_ts.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise SimError("InvalidTimestamp", f"Invalid timestamp {raw_ts!r}", shape=shape) from None
        if abs(now_ms() - ts) > TIMESTAMP_WINDOW_MS:
            raise SimError("InvalidTimestamp", "The timestamp is more than 7200 s away from the platform clock",
                           shape=shape)
        if params.get("sign_method", "sha256").lower() != "sha256":
            raise SimError("IncompleteSignature", "Unsupported sign_method; use sha256", shape=shape)
        signed = {k: v for k, v in params.items() if k != "sign" and k not in FILE_PARAMS}
        if sign(app["secret"], api, signed) != params.get("sign", "").upper():
            raise SimError("IncompleteSignature", "The request signature does not conform to platform standards",
                           shape=shape)
        token = params.get("session") or params.get("access_token")
        if token is None:
            return None
        for seller in self.state.sellers().values():
            expiry = seller["access_tokens"].get(token)
            if expiry is not None and seller["app_key"] == params["app_key"]:
                if expiry < now_ms():
                    raise SimError("IllegalAccessToken", "The specified access token has expired", shape=shape)
                return seller
        raise SimError("IllegalAccessToken", "The specified access token is invalid or expired", shape=shape)

    def _meter(self, app_key: str, seller_id: int | None) -> None:
        faults = self.faults
        with self._meter_lock:
            self._app_calls[app_key] += 1
            if faults.daily_quota and self._app_calls[app_key] > faults.daily_quota:
                raise SimError("AppCallLimit", "App call limit exceeded: daily quota used up; ban until 24:00 "
                               "(GMT+8)", sub_code="accesscontrol.limited-by-app-access-count")
            if faults.qps and seller_id is not None:
                window = self._calls[str(seller_id)]
                now = time.monotonic()
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= faults.qps:
                    raise SimError("ApiCallLimit", "Api access frequency exceeds the limit. this ban will last "
                                   "1 seconds")
                window.append(now)
        if self._draw(faults.throttle):
            raise SimError("ApiCallLimit", "Api access frequency exceeds the limit. this ban will last 1 seconds")
        if self._draw(faults.server_error):
            raise SimError("ServiceUnavailable", "The request has failed due to a temporary failure of the server",
                           err_type="SYSTEM")

    # ------------------------------------------------------------------ entry points
    def handle_sync(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
        method = params.get("method", "")
        seller = self._authenticate(method, params, "sync")
        if seller is None:
            raise SimError("MissingParameter", "session (access token) is required")
        self._meter(params["app_key"], seller["seller_id"])
        handler = _SYNC_METHODS.get(method)
        if handler is None:
            raise SimError("InvalidApi", f"The API {method!r} does not exist")
        body = handler(self, seller, params, files)
        body["request_id"] = _request_id()
        if self._draw(self.faults.lost_response):
            raise _Dropped()
        return {method.replace(".", "_") + "_response": body}

    def handle_rest(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        self._authenticate(path, params, "rest")
        self._meter(params["app_key"], None)
        if path != "/auth/token/refresh":
            raise SimError("InvalidApiPath", f"The API path {path!r} does not exist", shape="rest")
        token = params.get("refresh_token", "")
        at = now_ms()
        with self.state.write() as tx:
            for seller in tx.sellers().values():
                expiry = seller["refresh_tokens"].get(token)
                if expiry is None or seller["app_key"] != params["app_key"]:
                    continue
                if expiry < at:
                    raise SimError("IllegalRefreshToken", "The refresh token has expired; re-authorise",
                                   shape="rest")
                new_access = "sim-at-" + uuid.uuid4().hex
                access_expiry = at + 30 * 86_400_000
                seller["access_tokens"][new_access] = access_expiry
                seller_id = seller["seller_id"]
                break
            else:
                raise SimError("15", "Remote service error", shape="top", sub_code="isv.refresh-token-invalid")
        if self._draw(self.faults.lost_response):
            raise _Dropped()
        return {"access_token": new_access, "refresh_token": token, "expires_in": (access_expiry - at) // 1000,
                "refresh_expires_in": (expiry - at) // 1000, "expire_time": access_expiry,
                "refresh_token_valid_time": expiry, "seller_id": str(seller_id), "user_id": str(seller_id),
                "havana_id": str(seller_id), "user_nick": f"seller{seller_id}", "account": f"seller{seller_id}",
                "account_platform": "seller_center", "sp": "ae", "locale": "en_US", "code": "0",
                "request_id": _request_id()}

    # ------------------------------------------------------------------ storefront and data center
    def storefront(self, site: str, product_id: int, device: str) -> str | None:
        product = self.state.product(product_id)
        if product is None:
            return None
        shown = view(product, site, device, self.faults, now_ms())
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

    def completion_rate(self, seller_id: int) -> dict[str, Any]:
        at = now_ms()
        total, incomplete = self.state.incomplete_products(seller_id, self.faults, at)
        return {"seller_id": seller_id, "products": total, "complete": total - len(incomplete),
                "rate": 1.0 if total == 0 else round((total - len(incomplete)) / total, 6),
                "incomplete_product_ids": sorted(incomplete)[:1000], "as_of": _iso(at)}


# ---------------------------------------------------------------------- /sync methods
def _json_param(params: dict[str, str], name: str) -> Any:
    if not params.get(name):
        raise SimError("MissingParameter", f"Missing required parameter {name}")
    try:
        return json.loads(params[name], parse_float=Decimal)
    except ValueError:
        raise SimError("InvalidParameter", f"{name} is not valid JSON") from None


def _own_product(source: SimState | Tx, seller: dict[str, Any], product_id: Any) -> dict[str, Any] | None:
    """The seller's product ``product_id`` from the state or a write transaction, else None."""
    product = source.product(product_id)
    if product is None or int(product["seller_id"]) != int(seller["seller_id"]):
        return None
    return product


def _product_list(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    query = _json_param(params, "aeop_a_e_product_list_query")
    status = query.get("product_status_type")
    if status not in {"onSelling", "offline", "auditing", "editingRequired"}:
        raise SimError("InvalidParameter", "product_status_type must be onSelling, offline, auditing or "
                       "editingRequired")
    page, size = int(query.get("current_page") or 1), int(query.get("page_size") or 20)
    if not 1 <= size < 100:
        raise SimError("InvalidParameter", "page_size must be less than 100")
    start = _parse_gmt(query["gmt_modified_start"]) if query.get("gmt_modified_start") else None
    end = _parse_gmt(query["gmt_modified_end"]) if query.get("gmt_modified_end") else None
    try:
        only = int(query["product_id"]) if query.get("product_id") else None
    except (TypeError, ValueError):
        raise SimError("InvalidParameter", "product_id must be an integer") from None
    count, items = sim.state.list_products(int(seller["seller_id"]), status, modified_from=start, modified_to=end,
                                           product_id=only, offset=(page - 1) * size, limit=size if page >= 1 else 0)
    total_page = (count + size - 1) // size
    simplify = params.get("simplify") == "true"
    dtos = [{"product_id": p["product_id"], "subject": p["subject"],
             "product_min_price": min((s["discount_price"] or s["price"] for s in p["skus"]), key=Decimal,
                                      default=None),
             "product_max_price": max((s["price"] for s in p["skus"]), key=Decimal, default=None),
             "currency_code": "USD", "freight_template_id": p["freight_template_id"],
             "image_u_r_ls": ";".join(p.get("main_image_urls") or []), "gmt_create": _gmt(p["gmt_create_ms"]),
             "gmt_modified": _gmt(p["gmt_modified_ms"]), "ws_display": "expire_offline"
             if p["status"] == "offline" else ""} for p in items]
    return {"result": {"success": True, "current_page": page, "total_page": total_page,
                       "product_count": count,
                       "aeop_a_e_product_display_d_t_o_list": _wrap(dtos, "item_display_dto", simplify)}}


def _product_info(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    product = _own_product(sim.state, seller, params.get("product_id", "0"))
    if product is None:
        return {"result": {"success": False, "error_code": "F00-00-10007-010",
                           "error_message": "product not found"}}
    skus = [{"id": s["sku_id"], "sku_code": s["sku_code"], "sku_price": s["price"],
             "sku_discount_price": s["discount_price"], "ipm_sku_stock": s["stock"], "sku_stock": s["stock"] > 0,
             "currency_code": "USD"} for s in product["skus"]]
    return {"result": {
        "success": True, "product_id": product["product_id"], "subject": product["subject"],
        "product_status_type": product["status"], "freight_template_id": product["freight_template_id"],
        "category_id": product.get("category"), "brand": product.get("brand"),
        "image_u_r_ls": ";".join(product.get("main_image_urls") or []),
        "gmt_create": _gmt(product["gmt_create_ms"]), "gmt_modified": _gmt(product["gmt_modified_ms"]),
        "aeop_ae_product_s_k_us": _wrap(skus, "global_aeop_ae_product_sku", params.get("simplify") == "true")}}


def _entry_ids(entries: list[Any]) -> list[int]:
    """The well-formed product ids of a batch (to load them in one query)."""
    ids = []
    for entry in entries:
        try:
            ids.append(int(entry.get("product_id")))
        except (AttributeError, TypeError, ValueError):
            continue
    return [i for i in ids if 0 <= i < 2**63]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _check_price_item(product: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str, str] | None:
    codes = [i.get("sku_code") for i in items]
    if any(not c for c in codes):
        return "F00-00-10007-006", "Field:sku_code is empty"
    if len(set(codes)) != len(codes):
        return "F00-00-10007-007", "duplicate sku_code"
    known = {s["sku_code"] for s in product["skus"]}
    for item in items:
        if item["sku_code"] not in known:
            return "F00-00-10007-008", f"sku_code {item['sku_code']} does not exist in product"
        price = _decimal(item.get("price"))
        if price is None or not MIN_PRICE <= price <= MAX_MONEY:
            return "F00-00-10007-011", f"sku {item['sku_code']}: price must be between 0.01 and 999999"
        discount = _decimal(item.get("discount_price"))
        if item.get("discount_price") not in (None, "") and (discount is None or not MIN_PRICE <= discount < price):
            return "F00-00-10007-012", f"sku {item['sku_code']}: discount_price must be at least 0.01 and below price"
    return None


def _check_stock_item(product: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str, str] | None:
    if len(items) > 200:
        return "F00-00-10007-013", "at most 200 SKUs per product"
    codes = [i.get("sku_code") for i in items]
    if any(not c for c in codes):
        return "F00-00-10007-006", "Field:sku_code is empty"
    if len(set(codes)) != len(codes):
        return "F00-00-10007-007", "duplicate sku_code"
    current = {s["sku_code"]: s["stock"] for s in product["skus"]}
    for item in items:
        if item["sku_code"] not in current:
            return "F00-00-10007-008", f"sku_code {item['sku_code']} does not exist in product"
        try:
            stock = int(str(item.get("inventory")))
        except ValueError:
            return "F00-00-10007-014", f"sku {item['sku_code']}: inventory must be an integer"
        if not 0 <= stock <= 999999:
            return "F00-00-10007-014", f"sku {item['sku_code']}: inventory must be between 0 and 999999"
        current[item["sku_code"]] = stock
    if sum(current.values()) > 999999:
        return "F00-00-10007-015", "total inventory of a product must not exceed 999999"
    return None


def _batch_update(kind: str):  # noqa: ANN202 - a handler factory
    def handler(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
        entries = _json_param(params, "mutiple_product_update_list")
        if not isinstance(entries, list) or not entries:
            raise SimError("InvalidParameter", "mutiple_product_update_list must be a non-empty JSON array")
        if len(entries) > 20:
            raise SimError("InvalidParameter", "mutiple_product_update_list: at most 20 products per call")
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        at = now_ms()
        with sim.state.write() as tx:
            tx.products(_entry_ids(entries))
            seen: set[int] = set()
            for entry in entries:
                try:
                    pid = int(entry.get("product_id"))
                except (TypeError, ValueError):
                    raise SimError("InvalidParameter", "product_id is required") from None
                items = entry.get("multiple_sku_update_list") or []
                product = _own_product(tx, seller, pid)
                problem: tuple[str, str] | None
                if pid in seen:
                    problem = ("F00-00-10007-016", "product_id appears twice in one call")
                elif product is None:
                    problem = ("F00-00-10007-010", "product not found")
                elif not items:
                    problem = ("F00-00-10007-009", "multiple_sku_update_list is empty")
                else:
                    problem = (_check_price_item if kind == "price" else _check_stock_item)(product, items)
                seen.add(pid)
                if problem is None and sim._draw(sim.faults.item_fail):
                    problem = ("S00-10-10000-001", "system busy, please retry later")
                if problem is not None:
                    failed.append({"product_id": pid, "error_code": problem[0], "error_message": problem[1]})
                    continue
                by_code = {s["sku_code"]: s for s in product["skus"]}
                for item in items:
                    sku = by_code[item["sku_code"]]
                    if kind == "price":
                        sku["price"] = format(Decimal(str(item["price"])), "f")
                        discount = item.get("discount_price")
                        # documented hazard: an omitted discount_price is erased
                        sku["discount_price"] = None if discount in (None, "") else format(Decimal(str(discount)), "f")
                    else:
                        sku["stock"] = int(str(item["inventory"]))
                record_write(product, at)
                ok.append({"product_id": pid})
        simplify = params.get("simplify") == "true"
        body: dict[str, Any] = {"update_success": not failed,
                                "update_successful_list": _wrap(ok, "synchronize_product_response_dto", simplify),
                                "update_failed_list": _wrap(failed, "synchronize_product_response_dto", simplify)}
        if failed:
            body["update_error_code"] = failed[0]["error_code"]
            body["update_error_message"] = failed[0]["error_message"]
        return body

    return handler


def _range(value: Any, low: float, high: float) -> bool:
    try:
        return low <= float(value) <= high
    except (TypeError, ValueError):
        return False


def _product_edit(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    req = _json_param(params, "edit_product_request")
    if not isinstance(req, dict) or not req.get("product_id"):
        raise SimError("MissingParameter", "edit_product_request.product_id is required")
    pid = int(req["product_id"])

    def fail(code: str, msg: str) -> dict[str, Any]:
        return {"result": {"success": False, "product_id": pid, "error_code": code, "error_message": msg}}

    with sim.state.write() as tx:
        product = _own_product(tx, seller, pid)
        if product is None:
            return fail("F00-00-10007-010", "product not found")
        templates = {t["template_id"] for t in seller["freight_templates"]}
        if "freight_template_id" in req and int(req["freight_template_id"]) not in templates:
            return fail("090019", "freight template is invalid")
        if "weight" in req and not _range(req["weight"], 0.001, 500):
            return fail("F00-00-10007-020", "weight must be between 0.001 and 500 kg")
        for dim in ("package_length", "package_width", "package_height"):
            if dim in req and not _range(req[dim], 1, 700):
                return fail("F00-00-10007-021", f"{dim} must be between 1 and 700 cm")
        images = req.get("main_image_urls_list")
        if images is not None and (not isinstance(images, list) or not 1 <= len(images) <= 6):
            return fail("F00-00-10007-022", "main_image_urls_list takes 1 to 6 images")
        for entry in req.get("multi_language_subject_list") or []:
            if len(str(entry.get("subject", ""))) > 128:
                return fail("F00-00-10007-023", "subject is limited to 128 characters")
        if "freight_template_id" in req:
            product["freight_template_id"] = int(req["freight_template_id"])
        if images is not None:
            product["main_image_urls"] = [str(u) for u in images]
        subjects = req.get("multi_language_subject_list") or []
        english = [e for e in subjects if str(e.get("locale", "")).startswith("en")] or subjects
        if english:
            product["subject"] = str(english[0]["subject"])
        for key in ("weight", "package_length", "package_width", "package_height", "shipping_lead_time"):
            if key in req:
                product[key] = req[key]
        if "sku_info_list" in req:  # the real hazard: every existing SKU is replaced
            product["skus"] = [{"sku_id": f"14:{200 + i}", "sku_code": s.get("sku_code"),
                                "price": format(Decimal(str(s.get("price", "0.01"))), "f"),
                                "discount_price": s.get("discount_price"), "stock": int(s.get("inventory", 0))}
                               for i, s in enumerate(req["sku_info_list"])]
        record_write(product, now_ms())
    return {"result": {"success": True, "product_id": pid}}


def _photo_upload(sim: Simulator, seller: dict[str, Any], params: dict[str, str],
                  files: dict[str, bytes]) -> dict[str, Any]:
    content = files.get("image_bytes")
    name = params.get("file_name", "")
    if content is None:
        raise SimError("MissingParameter", "image_bytes (multipart file) is required")
    if not name or len(name) > 256:
        return {"result": {"success": False, "error_code": "13004", "error_message": "file_name is required, <= 256"}}
    if len(content) > MAX_PHOTO_BYTES:
        return {"result": {"success": False, "error_code": "13002", "error_message": "image larger than 3 MB"}}
    width = height = None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as img:
            width, height = img.size
    except Exception:  # noqa: BLE001 - not an image
        return {"result": {"success": False, "error_code": "13003", "error_message": "not a readable image"}}
    digest = hashlib.sha256(content).hexdigest()[:24]
    url = f"{sim.public_url}/photobank/{seller['seller_id']}/{digest}{Path(name).suffix or '.jpg'}"
    with sim.state.write() as tx:
        tx.add_photo({"seller_id": seller["seller_id"], "file_name": name, "url": url,
                      "size": len(content), "group_id": params.get("group_id"), "at_ms": now_ms()})
        used = tx.photobank_used(seller["seller_id"])
    return {"result": {"success": True, "status": "SUCCESS", "photobank_url": url, "width": width,
                       "height": height, "photobank_used_size": used, "photobank_total_size": 2 * 1024**3}}


def _freight_list(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    templates = [dict(t) for t in seller["freight_templates"]]
    return {"result_success": True, "aeop_freight_template_d_t_o_list":
            _wrap(templates, "aeop_freight_template_dto", params.get("simplify") == "true")}


def _profile(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    return {"profile": {"seller_id": seller["seller_id"], "shop_name": seller["shop_name"], "country": "CN",
                        "account_status": seller["account_status"]}}


_SYNC_METHODS = {
    "aliexpress.solution.product.list.get": _product_list,
    "aliexpress.solution.product.info.get": _product_info,
    "aliexpress.solution.batch.product.price.update": _batch_update("price"),
    "aliexpress.solution.batch.product.inventory.update": _batch_update("inventory"),
    "aliexpress.solution.product.edit": _product_edit,
    "aliexpress.photobank.redefining.uploadimageforsdk": _photo_upload,
    "aliexpress.freight.redefining.listfreighttemplate": _freight_list,
    "aliexpress.merchant.profile.get": _profile,
}


def _error_body(err: SimError) -> dict[str, Any]:
    rid = _request_id()
    if err.shape == "rest":
        return {"type": err.err_type, "code": err.code, "message": err.msg, "request_id": rid}
    if err.shape == "top":
        return {"error_response": {"code": int(err.code), "msg": err.msg, "sub_code": err.sub_code,
                                   "sub_msg": "refresh_token is invalid", "request_id": rid}}
    body = {"type": err.err_type, "code": err.code, "msg": err.msg, "request_id": rid, "_trace_id_": rid}
    if err.sub_code:
        body["sub_code"] = err.sub_code
    return {"error_response": body}


# ---------------------------------------------------------------------- the web app
def create_app(state: SimState, faults: Faults | None = None, *, public_url: str = "http://127.0.0.1") -> Any:
    """The FastAPI application serving :class:`Simulator` (``app.state.sim`` holds it)."""
    sim = Simulator(state, faults, public_url=public_url)
    app = FastAPI(title="aeops AliExpress Open Platform simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim

    class DroppedResponse(Response):
        """Announce a body, send a fragment, end: the client sees the connection die mid-answer."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"', "more_body": False})

    async def read_params(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
        params = dict(request.query_params)
        files: dict[str, bytes] = {}
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
            else:
                params[key] = str(value)
        return params, files

    def latency() -> None:
        if sim.faults.latency_ms:
            time.sleep(sim.faults.latency_ms / 1000)

    def answer(fn: Any, *args: Any) -> Response:
        latency()
        try:
            return JSONResponse(fn(*args))
        except SimError as err:
            return JSONResponse(_error_body(err))
        except _Dropped:
            return DroppedResponse()

    @app.post("/sync")
    async def sync(request: Request) -> Response:
        params, files = await read_params(request)
        return await run_in_threadpool(answer, sim.handle_sync, params, files)

    @app.post("/rest/{path:path}")
    async def rest(path: str, request: Request) -> Response:
        params, _files = await read_params(request)
        return await run_in_threadpool(answer, sim.handle_rest, "/" + path, params)

    @app.get("/store/{site}/item/{product_id}.html")
    def store(site: str, product_id: int, device: str = "desktop") -> Response:
        if site not in SITES or device not in DEVICES:
            return HTMLResponse("<h1>404</h1>", status_code=404)
        page = sim.storefront(site, product_id, device)
        if page is None:
            return HTMLResponse("<h1>Product not found</h1>", status_code=404)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/datacenter/{seller_id}/information-update-completion-rate")
    def completion(seller_id: int) -> Response:
        return JSONResponse(sim.completion_rate(seller_id))

    @app.get("/_sim/state")
    def sim_state(views: bool = True) -> Response:
        return JSONResponse(state.snapshot_with_views(sim.faults, views=views))

    @app.get("/_sim/health")
    def health() -> Response:
        return JSONResponse({"ok": True, "faults": vars(sim.faults)})

    return app


def simulator_command(args: argparse.Namespace) -> int:
    """``aeops simulator``: serve until interrupted."""
    from aeops.cli import CommandError

    try:
        faults = Faults.parse(args.faults)
    except ValueError as exc:
        raise CommandError(f"--faults: {exc}") from None
    state_path = Path(args.state or os.environ.get("AEOPS_SIMULATOR_STATE") or "aeops-sim-state.json")
    try:
        state = SimState(state_path)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot use state file {state_path}: {exc}") from None
    if args.seed_from:
        try:
            count = state.seed_from_export(args.seed_from)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot seed from {args.seed_from}: {exc}") from None
        log.info("seeded %d products from %s", count, args.seed_from)
    import uvicorn

    public_url = f"http://{args.host}:{args.port}"
    log.info("simulator on %s (state %s, faults %s)", public_url, state_path, args.faults or "none")
    uvicorn.run(create_app(state, faults, public_url=public_url), host=args.host, port=args.port,
                log_level="warning")
    return 0
