"""aeops.marketplace: the AliExpress Open Platform client, its Airflow hook and the local simulator.

Public API (keep it small; later issues build on it):

* ``sign(app_secret, api_name, params) -> str``: the documented HMAC-SHA256 request signature.
* ``AliExpressClient(base_url, app_key, app_secret, access_token, qps=20, *, seller_id=None,
  refresh_token=None, rate_limit="memory"|"file:///dir"|"redis://..."|RateLimiter, ...)`` with
  ``list_products``, ``iter_products``, ``get_product``, ``update_prices[_batch]``,
  ``update_inventory[_batch]``, ``edit_product``, ``upload_image``, ``list_freight_templates``,
  ``freight_settings``,
  ``refresh_access_token``, ``merchant_profile``, ``call`` (any API).
* ``MarketplaceClient``: the Protocol of what aeops' steps call (``aeops.marketplace.interface``); the client
  satisfies it, and so do the tests' fakes.
* Records: ``SkuPrice``, ``SkuStock``, ``Product``, ``Sku``, ``ProductOutcome`` (success/failed/unknown),
  ``BatchResult``, ``UpdateReport``, ``FreightTemplate``, ``FreightService``, ``TokenInfo``, ``MerchantProfile``,
  ``PhotoUpload``.
* Errors: ``ApiError`` > ``AuthError`` > ``SignatureError``; ``QuotaExhausted``, ``Throttled(ban_seconds)``,
  ``ServerError``; ``OutcomeUnknown`` (a write whose answer was lost).
* ``chunked(items, 20)``, ``make_rate_limiter(spec, qps)``; secrets are registered in :mod:`aeops.secrets`.
* ``AliExpressHook`` (import from ``aeops.marketplace.hooks``; imports Airflow) and the simulator
  (``aeops.marketplace.simulator``: ``aeops simulator``, ``SimState``, ``Faults``, ``create_app``).
"""

from __future__ import annotations

from typing import Any

from aeops.marketplace.client import AliExpressClient, chunked, parse_batch_result
from aeops.marketplace.errors import (
    ApiError,
    AuthError,
    OutcomeUnknown,
    QuotaExhausted,
    ServerError,
    SignatureError,
    Throttled,
)
from aeops.marketplace.interface import MarketplaceClient
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
    Sku,
    SkuPrice,
    SkuStock,
    TokenInfo,
    UpdateReport,
)
from aeops.marketplace.ratelimit import make_rate_limiter
from aeops.marketplace.signing import sign

__all__ = [
    "MAX_PRODUCTS_PER_CALL", "MAX_SKUS_PER_PRODUCT_INVENTORY", "PRODUCT_STATUSES", "AliExpressClient",
    "ApiError", "AuthError", "BatchResult", "FreightService", "FreightTemplate", "MarketplaceClient", "MerchantProfile",
    "OutcomeUnknown", "PhotoUpload", "Product", "ProductOutcome", "QuotaExhausted", "ServerError", "SignatureError",
    "Sku", "SkuPrice", "SkuStock", "Throttled", "TokenInfo", "UpdateReport", "chunked", "make_rate_limiter",
    "parse_batch_result", "sign",
]


def __getattr__(name: str) -> Any:  # lazy: importing the client must not import Airflow
    if name == "AliExpressHook":
        from aeops.marketplace.hooks import AliExpressHook  # lazy: import cycle

        return AliExpressHook
    raise AttributeError(name)
