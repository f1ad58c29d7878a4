"""``AliExpressClient``: the one client aeops uses for the AliExpress Open Platform (and its simulator).

Wire format (docs/aliexpress-api.md §0-§1): business APIs are ``POST {base_url}/sync`` with every
parameter (system + business + ``sign``) in an ``application/x-www-form-urlencoded`` body, the seller token
as ``session``; system APIs are ``POST {base_url}/rest{path}`` (e.g. ``/rest/auth/token/refresh``) with the
token, if any, as ``access_token``. Timestamps are epoch milliseconds, ``sign_method=sha256``.

Behaviour that callers rely on:

* every call waits for the per-seller rate limiter first (``qps``; ``rate_limit`` picks the backend, see
  :mod:`aeops.marketplace.ratelimit`), which spaces calls ``1 / (RATE_HEADROOM x qps)`` apart: a call granted
  on time can reach the platform a few milliseconds late and the next one on time, and in the strict sliding
  second the platform counts that is ``qps + 1`` calls, answered ``ApiCallLimit`` (a ban of a second, 2 s with
  the retry). 5% below the limit leaves 50 ms of such jitter per second;
* reads are retried on ``ApiCallLimit`` (wait ``N+1`` s from "ban will last N seconds"), server errors and
  transport errors (exponential backoff with jitter, tenacity);
* writes are retried only when the platform *answered* with a throttle/server error or the request never
  left (connect failure). When a write was sent and its answer was lost (read timeout, dropped connection,
  unparseable answer, bare gateway 5xx) it is **not** retried: its products come back ``unknown`` and the
  caller re-reads them;
* ``AuthError``/``SignatureError``/``QuotaExhausted`` stop at once, except an access token the platform refused
  while ``on_token_refused`` is set: that call is sent once more after it switched the client to a newer token;
* JSON is decoded with ints kept as ``int`` and decimals as ``Decimal`` (64-bit ids stay exact);
* the app secret, tokens and signatures are registered with :mod:`aeops.secrets` (``register_secret``) (and Airflow's
  masker inside a task) and never logged.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import tenacity

from aeops.marketplace.errors import (
    ApiError,
    AuthError,
    OutcomeUnknown,
    ServerError,
    Throttled,
    error_from_payload,
)
from aeops.marketplace.models import (
    MAX_PRODUCTS_PER_CALL,
    MAX_SKUS_PER_PRODUCT_INVENTORY,
    PRODUCT_STATUSES,
    BatchResult,
    FreightService,
    FreightTemplate,
    MerchantProfile,
    PhotoUpload,
    Product,
    ProductOutcome,
    ProductPage,
    Qualification,
    QualificationSpec,
    Sku,
    SkuPrice,
    SkuStock,
    TokenInfo,
    UpdateReport,
    money,
)
from aeops.marketplace.ratelimit import RateLimiter, make_rate_limiter
from aeops.marketplace.signing import clean_params, sign, timestamp_ms
from aeops.marketplace.tls import tls_context
from aeops.marketplace.transport import KeepAliveTransport
from aeops.secrets import get_logger, redact, register_secret

log = get_logger(__name__)

API_PRODUCT_LIST = "aliexpress.solution.product.list.get"
API_PRODUCT_INFO = "aliexpress.solution.product.info.get"
API_PRICE_UPDATE = "aliexpress.solution.batch.product.price.update"
API_INVENTORY_UPDATE = "aliexpress.solution.batch.product.inventory.update"
API_PRODUCT_EDIT = "aliexpress.solution.product.edit"
API_PHOTO_UPLOAD = "aliexpress.photobank.redefining.uploadimageforsdk"
API_FREIGHT_LIST = "aliexpress.freight.redefining.listfreighttemplate"
API_FREIGHT_SETTING = "aliexpress.freight.redefining.getfreightsettingbytemplatequery"
API_MERCHANT_PROFILE = "aliexpress.solution.merchant.profile.get"
API_CATEGORY_QUALIFICATIONS = "aliexpress.category.qualifications.list"
API_TOKEN_REFRESH = "/auth/token/refresh"
TOKEN_PATHS = "/auth/token/"  # /auth/token/create, /auth/token/refresh (§3.3)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=utf-8"
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def chunked(items: Sequence[Any], size: int = MAX_PRODUCTS_PER_CALL) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size`` (the platform's 20-products-per-call limit)."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _as_list(value: Any) -> list[Any]:
    """A platform list, unwrapping ``simplify=false`` wrappers such as ``{"item_display_dto": [...]}``."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            (inner,) = value.values()
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                return [inner]
        return [value]
    return [value]


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _decode(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal)


RATE_HEADROOM = 0.95
"""Share of the store's ``qps`` the built-in limiters pace at (see the module's docstring)."""


class AliExpressClient:
    """A signed, rate-limited, retrying client for one seller of one app.

    ``base_url`` is the gateway root (``https://api-sg.aliexpress.com`` or the simulator's URL); a trailing
    ``/sync`` or ``/rest`` is ignored. ``rate_limit`` is ``"memory"`` (default), ``"file:///dir"``,
    ``"redis://host:port/db"`` or a :class:`RateLimiter`; use a shared backend when several processes call
    for the same seller. ``clock``/``sleep``/``transport`` exist for tests and benchmarks.
    """

    def __init__(self, base_url: str, app_key: str, app_secret: str, access_token: str | None = None,
                 qps: float = 20.0, *, seller_id: int | None = None, refresh_token: str | None = None,
                 rate_limit: str | RateLimiter | None = "memory", burst: int = 1, timeout: float = 30.0,
                 max_attempts: int = 6, backoff_initial: float = 0.5, backoff_max: float = 30.0,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, platform_tz: str = "Asia/Shanghai") -> None:
        base = base_url.rstrip("/")
        for suffix in ("/sync", "/rest"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        self.base_url = base
        self.app_key = str(app_key)
        self._secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.seller_id = seller_id
        self.max_attempts = max(1, max_attempts)
        self._clock, self._sleep = clock, sleep
        self.platform_tz = platform_tz  # the zone of the platform's naive gmt_* strings (Beijing time)
        self._platform_tz = ZoneInfo(platform_tz)
        self._limiter = (rate_limit if rate_limit is not None and not isinstance(rate_limit, str)
                         else make_rate_limiter(rate_limit, qps * RATE_HEADROOM, burst))
        self._backoff = tenacity.wait_exponential_jitter(initial=backoff_initial, max=backoff_max,
                                                         jitter=backoff_initial)
        # http.client connections kept alive per thread (a third of httpx's own transport's CPU per call)
        self._http = httpx.Client(timeout=timeout, transport=transport or KeepAliveTransport(), verify=tls_context())
        for secret in (app_secret, access_token, refresh_token):
            register_secret(secret)
        self.calls = 0  # HTTP requests sent (attempts), for reports and benchmarks
        self.app_limits: Any = None  # aeops.marketplace.app_limits.AppLimits: set by the client factory
        # called with the access token the platform refused: switches the client to a newer one or raises
        # (aeops.catalog.context.client_for sets it: aeops.catalog.credentials)
        self.on_token_refused: Callable[[str | None], None] | None = None

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._http.close()

    def __enter__(self) -> AliExpressClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the secret or tokens
        return f"AliExpressClient(base_url={self.base_url!r}, app_key={self.app_key!r}, seller_id={self.seller_id!r})"

    @property
    def limiter_key(self) -> str:
        """The rate-limit key: one bucket per (app, seller) whatever process calls."""
        who = str(self.seller_id) if self.seller_id is not None else hashlib.sha256(
            (self.access_token or "").encode()).hexdigest()[:16]
        return f"{self.app_key}:{who}"

    def signed_params(self, api: str, params: Mapping[str, Any] | None = None) -> dict[str, str]:
        """System + business parameters with ``sign``, exactly as they will be sent."""
        rest = api.startswith("/")
        system: dict[str, Any] = {"app_key": self.app_key, "sign_method": "sha256",
                                  "timestamp": timestamp_ms(self._clock())}
        if rest:  # the token calls are the app's own: no seller token (it may be the expired one being replaced)
            system["access_token"] = None if api.startswith(TOKEN_PATHS) else self.access_token
        else:
            system.update(method=api, format="json", session=self.access_token)
        merged = clean_params({**system, **(params or {})})
        merged["sign"] = sign(self._secret, api, merged)
        return dict(sorted(merged.items()))

    def build_request(self, api: str, params: Mapping[str, Any] | None = None, *,
                      files: Mapping[str, tuple[str, bytes, str]] | None = None) -> httpx.Request:
        """The signed HTTP request for one call (files go multipart and are not signed)."""
        url = f"{self.base_url}/rest{api}" if api.startswith("/") else f"{self.base_url}/sync"
        fields = self.signed_params(api, params)
        if files:
            return self._http.build_request("POST", url, data=fields, files=dict(files))
        body = urllib.parse.urlencode(list(fields.items())).encode("ascii")
        return self._http.build_request("POST", url, content=body, headers={"Content-Type": FORM_CONTENT_TYPE})

    def _send_once(self, api: str, params: Mapping[str, Any] | None, files: Any, write: bool) -> dict[str, Any]:
        waited = self._limiter.acquire(self.limiter_key)
        if self.app_limits is not None:  # the app's limits, shared by every store (aeops.marketplace.app_limits)
            waited += self.app_limits.acquire(self.app_key, api)
        request = self.build_request(api, params, files=files)
        self.calls += 1
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except _CONNECT_ERRORS as exc:  # never reached the platform: safe to retry, even a write
            raise ServerError(f"could not connect: {type(exc).__name__}", code="Transport", answered=False,
                              api=api) from exc
        except httpx.TransportError as exc:
            if write:
                raise OutcomeUnknown(f"{api}: answer lost ({type(exc).__name__}); re-read before retrying") from exc
            raise ServerError(f"transport error: {type(exc).__name__}", code="Transport", answered=False,
                              api=api) from exc
        elapsed = time.perf_counter() - started
        try:
            payload = _decode(response.content)
        except ValueError:
            payload = None
        log.debug("%s -> HTTP %s in %.0f ms (rate-limit wait %.0f ms)", api, response.status_code,
                  elapsed * 1000, waited * 1000)
        error = error_from_payload(payload, api=api, http_status=response.status_code)
        if error is not None:
            log.info("%s answered %s", api, redact(error))
            raise error
        if response.status_code >= 500 or payload is None or not isinstance(payload, dict):
            if write:
                raise OutcomeUnknown(f"{api}: HTTP {response.status_code} without a platform answer; re-read")
            raise ServerError(f"HTTP {response.status_code} without a platform answer", code="HTTP",
                              answered=False, api=api, http_status=response.status_code)
        if response.status_code >= 400:
            raise ApiError(f"HTTP {response.status_code}", code="HTTP", api=api, http_status=response.status_code)
        if api.startswith("/"):
            return payload
        return payload.get(api.replace(".", "_") + "_response", payload)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Throttled):
            return float(exc.ban_seconds + 1)
        return float(self._backoff(state))

    def call(self, api: str, params: Mapping[str, Any] | None = None, *,
             files: Mapping[str, tuple[str, bytes, str]] | None = None, write: bool = False) -> dict[str, Any]:
        """One API call with retries; returns the response body (``<method>_response`` unwrapped for /sync).

        Raises the typed errors of :mod:`aeops.marketplace.errors`; for ``write=True`` a lost answer raises
        :class:`OutcomeUnknown` instead of being retried. A call the platform refuses for its access token
        (``AuthError.token_refused``: it was not carried out) is sent once more after ``on_token_refused`` switched
        the client to a newer token; a second refusal is raised.
        """
        token = self.access_token
        try:
            return self._call(api, params, files, write)
        except AuthError as exc:
            if not exc.token_refused or self.on_token_refused is None or api.startswith(TOKEN_PATHS):
                raise
            log.warning("%s: the platform refused the access token (%s); sending the call once more with a newer "
                        "token", api, exc.code)
            self.on_token_refused(token)
            return self._call(api, params, files, write)

    def _call(self, api: str, params: Mapping[str, Any] | None, files: Any, write: bool) -> dict[str, Any]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s attempt %d failed (%s); retrying in %.1f s", api, state.attempt_number,
                        redact(exc), state.upcoming_sleep)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, ApiError) and e.retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(self._send_once, api, params, files, write)

    # ------------------------------------------------------------------ reads
    def _datetime_param(self, value: datetime | str | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if value.tzinfo is not None:
            value = value.astimezone(self._platform_tz)
        return value.strftime("%Y-%m-%d %H:%M:%S")

    def list_products(self, status: str = "onSelling", *, page: int = 1, page_size: int = 50,
                      modified_since: datetime | str | None = None,
                      modified_until: datetime | str | None = None) -> ProductPage:
        """One page of ``aliexpress.solution.product.list.get`` (``page_size`` < 100)."""
        if status not in PRODUCT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(PRODUCT_STATUSES)}")
        if not 1 <= page_size < 100:
            raise ValueError("page_size must be between 1 and 99")
        query = {"product_status_type": status, "current_page": page, "page_size": page_size,
                 "gmt_modified_start": self._datetime_param(modified_since),
                 "gmt_modified_end": self._datetime_param(modified_until)}
        query = {k: v for k, v in query.items() if v is not None}
        body = self.call(API_PRODUCT_LIST, {"aeop_a_e_product_list_query": query})
        result = body.get("result", body)
        if result.get("success") is False:
            raise ApiError(str(result.get("error_message") or "list failed"), code=result.get("error_code"),
                           api=API_PRODUCT_LIST)
        products = [self._product_from(item, status) for item in
                    _as_list(result.get("aeop_a_e_product_display_d_t_o_list"))]
        return ProductPage(products, int(result.get("current_page") or page), int(result.get("total_page") or 0),
                           int(result.get("product_count") or 0))

    def iter_products(self, statuses: Iterable[str] = PRODUCT_STATUSES, *, page_size: int = 50,
                      modified_since: datetime | str | None = None,
                      modified_until: datetime | str | None = None) -> Iterator[Product]:
        """Every product in the given statuses, page by page."""
        for status in statuses:
            page = 1
            while True:
                result = self.list_products(status, page=page, page_size=page_size,
                                            modified_since=modified_since, modified_until=modified_until)
                yield from result.products
                if page >= result.total_page or not result.products:
                    break
                page += 1

    @staticmethod
    def _product_from(item: Mapping[str, Any], status: str | None = None) -> Product:
        skus = [Sku(sku_id=None if s.get("id") is None else str(s.get("id")), sku_code=s.get("sku_code"),
                    price=money(s.get("sku_price")), discount_price=money(s.get("sku_discount_price")),
                    stock=_int(s.get("ipm_sku_stock")))
                for s in _as_list(item.get("aeop_ae_product_s_k_us"))]
        images = item.get("image_u_r_ls") or ""
        urls = [u.strip() for u in (images if isinstance(images, list) else str(images).split(";")) if str(u).strip()]
        quals = [Qualification(str(q.get("key") or ""), str(q.get("type") or ""), str(q.get("value") or ""))
                 for q in _as_list(item.get("aeop_qualification_struct_list")) if isinstance(q, dict)]
        reason = item.get("ws_offline_reason") or None
        if reason and item.get("offline_reason_detail"):
            reason = f"{reason}: {item['offline_reason_detail']}"
        return Product(product_id=int(item["product_id"]), subject=item.get("subject"),
                       status=item.get("product_status_type") or status,
                       freight_template_id=_int(item.get("freight_template_id")),
                       gmt_modified=item.get("gmt_modified"), skus=skus, raw=dict(item), image_urls=urls,
                       audit_reason=item.get("audit_failure_reason") or None, qualifications=quals,
                       offline_reason=reason)

    def get_product(self, product_id: int) -> Product:
        """``aliexpress.solution.product.info.get``: the product with its SKUs (prices, stock)."""
        body = self.call(API_PRODUCT_INFO, {"product_id": int(product_id)})
        result = body.get("result", body)
        if "product_id" not in result:
            result = {**result, "product_id": int(product_id)}
        return self._product_from(result)

    def list_freight_templates(self) -> list[FreightTemplate]:
        """``aliexpress.freight.redefining.listfreighttemplate``."""
        body = self.call(API_FREIGHT_LIST)
        if body.get("result_success") is False:
            raise ApiError(str(body.get("result_error_desc") or "freight list failed"), api=API_FREIGHT_LIST)
        return [FreightTemplate(int(t["template_id"]), str(t.get("template_name", "")), bool(t.get("is_default")))
                for t in _as_list(body.get("aeop_freight_template_d_t_o_list"))]

    def freight_settings(self, template_id: int) -> list[FreightService]:
        """``aliexpress.freight.redefining.getfreightsettingbytemplatequery``: the logistics services a freight
        template offers, free or charged (the answer's field names are assumed, see docs/simulator.md)."""
        body = self.call(API_FREIGHT_SETTING, {"template_id": int(template_id)})
        if body.get("result_success") is False:
            raise ApiError(str(body.get("result_error_desc") or "freight setting query failed"),
                           code=body.get("result_error_code"), api=API_FREIGHT_SETTING)
        return [FreightService(str(s.get("logistics_company") or ""), str(s.get("service_name") or ""),
                               bool(s.get("free_shipping")))
                for s in _as_list(body.get("freight_setting_list")) if s.get("logistics_company")]

    def category_qualifications(self, category_id: int | str, locale: str = "en_US") -> list[QualificationSpec]:
        """``aliexpress.category.qualifications.list``: the qualification entries a category needs."""
        body = self.call(API_CATEGORY_QUALIFICATIONS, {"category_id": str(category_id), "locale": locale})
        result = body.get("result", body)
        if result.get("success") is False:
            raise ApiError(str(result.get("error_message") or "qualification list failed"),
                           code=result.get("error_code"), api=API_CATEGORY_QUALIFICATIONS)
        return [QualificationSpec(str(m.get("key") or ""), str(m.get("type") or ""), str(m.get("label") or ""),
                                  str(m.get("tips") or ""), str(m.get("required")).lower() == "true")
                for m in _as_list(result.get("qualification_module_list")) if isinstance(m, dict)]

    def merchant_profile(self) -> MerchantProfile:
        """The seller profile (``aliexpress.solution.merchant.profile.get``): whether the platform forbids the seller
        to post products (``product_posting_forbidden``: True, False, or None when the answer does not say)."""
        body = self.call(API_MERCHANT_PROFILE)
        profile = body.get("result", body) if isinstance(body.get("result"), dict) else body
        flag = profile.get("product_posting_forbidden")
        forbidden = flag if isinstance(flag, bool) else {"true": True, "false": False}.get(str(flag).strip().lower())
        return MerchantProfile(seller_id=self.seller_id, posting_forbidden=forbidden,
                               shop_name=str(profile["shop_name"]) if profile.get("shop_name") else None,
                               raw={k: v for k, v in profile.items() if k != "request_id"})

    # ------------------------------------------------------------------ writes
    def _batch_call(self, api: str, items: list[dict[str, Any]]) -> BatchResult:
        ids = [int(item["product_id"]) for item in items]
        try:
            body = self.call(api, {"mutiple_product_update_list": items}, write=True)
        except OutcomeUnknown as exc:
            log.warning("%s", exc)
            return BatchResult(api, {pid: ProductOutcome(pid, "unknown", None, "answer lost") for pid in ids},
                               answered=False)
        return parse_batch_result(api, ids, body)

    def update_prices_batch(self, updates: Mapping[int, Sequence[SkuPrice]]) -> BatchResult:
        """One ``batch.product.price.update`` call (at most 20 products)."""
        if len(updates) > MAX_PRODUCTS_PER_CALL:
            raise ValueError(f"at most {MAX_PRODUCTS_PER_CALL} products per call")
        items = [{"product_id": int(pid), "multiple_sku_update_list": [s.to_param() for s in skus]}
                 for pid, skus in updates.items()]
        return self._batch_call(API_PRICE_UPDATE, items)

    def update_prices(self, updates: Mapping[int, Sequence[SkuPrice]]) -> UpdateReport:
        """Price updates for any number of products, split into calls of 20."""
        report = UpdateReport()
        for chunk in chunked(list(updates.items())):
            report.batches.append(self.update_prices_batch(dict(chunk)))
        return report

    def update_inventory_batch(self, updates: Mapping[int, Sequence[SkuStock]]) -> BatchResult:
        """One ``batch.product.inventory.update`` call (at most 20 products, 200 SKUs each)."""
        if len(updates) > MAX_PRODUCTS_PER_CALL:
            raise ValueError(f"at most {MAX_PRODUCTS_PER_CALL} products per call")
        for pid, skus in updates.items():
            if len(skus) > MAX_SKUS_PER_PRODUCT_INVENTORY:
                raise ValueError(f"product {pid}: at most {MAX_SKUS_PER_PRODUCT_INVENTORY} SKUs per call")
        items = [{"product_id": int(pid), "multiple_sku_update_list": [s.to_param() for s in skus]}
                 for pid, skus in updates.items()]
        return self._batch_call(API_INVENTORY_UPDATE, items)

    def update_inventory(self, updates: Mapping[int, Sequence[SkuStock]]) -> UpdateReport:
        """Inventory updates for any number of products: 20 products a call, a product's SKUs in parts of 200
        (never two parts of one product in the same call); a product succeeds only if every part did."""
        parts: list[tuple[int, list[SkuStock]]] = []
        for pid, skus in updates.items():
            for chunk in chunked(list(skus), MAX_SKUS_PER_PRODUCT_INVENTORY):
                parts.append((int(pid), chunk))
        report = UpdateReport()
        while parts:
            batch: dict[int, list[SkuStock]] = {}
            rest: list[tuple[int, list[SkuStock]]] = []
            for pid, chunk in parts:
                if pid in batch or len(batch) >= MAX_PRODUCTS_PER_CALL:
                    rest.append((pid, chunk))
                else:
                    batch[pid] = chunk
            report.batches.append(self.update_inventory_batch(batch))
            parts = rest
        return report

    def edit_product(self, product_id: int, fields: Mapping[str, Any]) -> ProductOutcome:
        """``aliexpress.solution.product.edit`` with only the given fields.

        ``sku_info_list`` is refused: it replaces every SKU of the product. Use the batch price/inventory
        calls for SKUs.
        """
        if "sku_info_list" in fields:
            raise ValueError("edit_product refuses sku_info_list (it replaces ALL SKUs); use update_prices/"
                             "update_inventory")
        if not fields:
            raise ValueError("edit_product needs at least one field")
        pid = int(product_id)
        try:
            body = self.call(API_PRODUCT_EDIT, {"edit_product_request": {"product_id": pid, **fields}}, write=True)
        except OutcomeUnknown as exc:
            log.warning("%s", exc)
            return ProductOutcome(pid, "unknown", None, "answer lost")
        result = body.get("result", body)
        if result.get("success") is False or result.get("error_code"):
            return ProductOutcome(pid, "failed", str(result.get("error_code") or ""),
                                  str(result.get("error_message") or ""))
        if _int(result.get("product_id")) == pid:
            return ProductOutcome(pid, "success")
        return ProductOutcome(pid, "unknown", None, "product not confirmed in the answer")

    def set_qualifications(self, product_id: int, entries: Sequence[Qualification]) -> ProductOutcome:
        """Set qualification entries on a product (the product edit's ``aeop_qualification_struct_list``).

        Entries are set by key; the others stay (``deleteQualificationFlag`` is never sent: removing a
        qualification takes the product off sale)."""
        if not entries:
            raise ValueError("set_qualifications needs at least one entry")
        return self.edit_product(product_id, {"aeop_qualification_struct_list": [e.to_param() for e in entries]})

    def upload_image(self, file_name: str, content: bytes, *, group_id: str | None = None,
                     content_type: str = "image/jpeg") -> PhotoUpload:
        """Upload to the photobank (multipart; the image is not signed). Returns the ``photobank_url``."""
        if len(file_name) > 256:
            raise ValueError("file_name is limited to 256 characters")
        body = self.call(API_PHOTO_UPLOAD, {"file_name": file_name, "group_id": group_id},
                         files={"image_bytes": (file_name, content, content_type)}, write=True)
        result = body.get("result", body)
        ok = result.get("success", result.get("is_success"))
        if ok is False or not result.get("photobank_url"):
            raise ApiError(str(result.get("error_message") or "upload failed"), code=result.get("error_code"),
                           api=API_PHOTO_UPLOAD)
        return PhotoUpload(str(result["photobank_url"]), _int(result.get("width")), _int(result.get("height")),
                           raw=dict(result))

    def refresh_access_token(self, refresh_token: str | None = None) -> TokenInfo:
        """``/auth/token/refresh``; the client switches to the new access (and refresh) token."""
        token = refresh_token or self.refresh_token
        if not token:
            raise ValueError("no refresh token")
        body = self.call(API_TOKEN_REFRESH, {"refresh_token": token})
        info = TokenInfo(access_token=str(body["access_token"]), refresh_token=body.get("refresh_token"),
                         expire_time_ms=_int(body.get("expire_time")),
                         refresh_token_valid_time_ms=_int(body.get("refresh_token_valid_time")),
                         seller_id=_int(body.get("seller_id")), raw=dict(body))
        register_secret(info.access_token)
        register_secret(info.refresh_token)
        self.access_token = info.access_token
        self.refresh_token = info.refresh_token or self.refresh_token
        if self.seller_id is None:
            self.seller_id = info.seller_id
        return info


def parse_batch_result(api: str, product_ids: Sequence[int], body: Mapping[str, Any]) -> BatchResult:
    """Per-product outcomes of a batch price/inventory answer.

    ``update_successful_list`` -> success; ``update_failed_list`` -> failed(code, message); in both or in
    neither -> unknown (re-read before retrying). A call-level error with both lists empty fails them all.
    """
    result = body.get("result") if isinstance(body.get("result"), dict) else body
    succeeded = {int(e["product_id"]) for e in _as_list(result.get("update_successful_list")) if "product_id" in e}
    failed = {int(e["product_id"]): e for e in _as_list(result.get("update_failed_list")) if "product_id" in e}
    call_error = result.get("update_error_code")
    outcomes: dict[int, ProductOutcome] = {}
    for pid in product_ids:
        if pid in failed and pid not in succeeded:
            entry = failed[pid]
            outcomes[pid] = ProductOutcome(pid, "failed", str(entry.get("error_code") or ""),
                                           str(entry.get("error_message") or ""))
        elif pid in succeeded and pid not in failed:
            outcomes[pid] = ProductOutcome(pid, "success")
        elif not succeeded and not failed and call_error:
            outcomes[pid] = ProductOutcome(pid, "failed", str(call_error),
                                           str(result.get("update_error_message") or ""))
        else:
            outcomes[pid] = ProductOutcome(pid, "unknown", None, "not acknowledged by the platform")
    update_success = result.get("update_success")
    return BatchResult(api, outcomes, None if update_success is None else bool(update_success),
                       body.get("request_id"))
