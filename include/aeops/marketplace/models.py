"""Plain records the client returns and accepts (ids are ``int``, money is ``Decimal``, never ``float``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

PRODUCT_STATUSES = ("onSelling", "offline", "auditing", "editingRequired")
MAX_PRODUCTS_PER_CALL = 20
MAX_SKUS_PER_PRODUCT_INVENTORY = 200

OutcomeStatus = Literal["success", "failed", "unknown"]


def money(value: Any) -> Decimal | None:
    """A price as an exact Decimal (``None`` stays ``None``); floats go through their shortest repr."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


@dataclass(frozen=True)
class SkuPrice:
    """One SKU's new price. ``discount_price`` is always sent when given: leaving it out erases it."""

    sku_code: str
    price: Decimal
    discount_price: Decimal | None = None

    def to_param(self) -> dict[str, Any]:
        """The SKU's price as the API's parameter (money formatted, discount price when set)."""
        item: dict[str, Any] = {"sku_code": self.sku_code, "price": format(money(self.price), "f")}
        if self.discount_price is not None:
            item["discount_price"] = format(money(self.discount_price), "f")
        return item


@dataclass(frozen=True)
class SkuStock:
    """One SKU's new inventory."""

    sku_code: str
    inventory: int

    def to_param(self) -> dict[str, Any]:
        """The SKU's stock as the API's parameter."""
        return {"sku_code": self.sku_code, "inventory": str(int(self.inventory))}


@dataclass(frozen=True)
class ProductOutcome:
    """What happened to one product in a write: success, failed (with the platform's code) or unknown.

    ``unknown`` means the product was in neither result list, or the answer was lost: re-read it
    (``get_product``) before any retry.
    """

    product_id: int
    status: OutcomeStatus
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class BatchResult:
    """The outcome of one batch write call (at most 20 products)."""

    api: str
    outcomes: dict[int, ProductOutcome]
    update_success: bool | None = None
    request_id: str | None = None
    answered: bool = True  # False: the answer was lost, every outcome is "unknown"


@dataclass
class UpdateReport:
    """All batches of one ``update_prices``/``update_inventory`` call, merged per product."""

    batches: list[BatchResult] = field(default_factory=list)

    @property
    def outcomes(self) -> dict[int, ProductOutcome]:
        """Each product's outcome over every batch (the worst one wins: failed, then unknown, then success)."""
        rank = {"success": 0, "unknown": 1, "failed": 2}
        merged: dict[int, ProductOutcome] = {}
        for batch in self.batches:
            for pid, outcome in batch.outcomes.items():
                if pid not in merged or rank[outcome.status] > rank[merged[pid].status]:
                    merged[pid] = outcome
        return merged

    def by_status(self, status: OutcomeStatus) -> list[int]:
        """The ids of the products whose outcome has ``status``, sorted."""
        return sorted(pid for pid, o in self.outcomes.items() if o.status == status)

    @property
    def calls(self) -> int:
        """How many API calls the update took."""
        return len(self.batches)


@dataclass(frozen=True)
class Sku:
    """One SKU of a product as the platform shows it (code, prices, stock)."""
    sku_id: str | None
    sku_code: str | None
    price: Decimal | None
    discount_price: Decimal | None
    stock: int | None


@dataclass(frozen=True)
class Qualification:
    """One entry of a product's ``aeop_qualification_struct_list``: ``value`` is a photobank image URL for
    ``type == "image"``, else text."""

    key: str
    type: str
    value: str

    def to_param(self) -> dict[str, str]:
        """The qualification as the API's parameter."""
        return {"key": self.key, "type": self.type, "value": self.value}


@dataclass(frozen=True)
class QualificationSpec:
    """One entry of ``aliexpress.category.qualifications.list``: what a category needs."""

    key: str
    type: str
    label: str
    tips: str
    required: bool


@dataclass
class Product:
    """One product as ``aliexpress.solution.product.info.get`` (or the list call) shows it.

    ``gmt_modified`` is the platform's naive local time string (see :func:`aeops.catalog.timestamps.parse_gmt`);
    ``image_urls`` are the main images' photobank URLs (``image_u_r_ls``); ``audit_reason`` is why the
    platform's review refused the product (``editingRequired``), when it says; ``qualifications`` is the
    product query's ``aeop_qualification_struct_list``; ``offline_reason`` why an ``offline`` product is off
    sale (``ws_offline_reason``, with its detail when given).
    """

    product_id: int
    subject: str | None = None
    status: str | None = None
    freight_template_id: int | None = None
    gmt_modified: str | None = None
    skus: list[Sku] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    image_urls: list[str] = field(default_factory=list)
    audit_reason: str | None = None
    qualifications: list[Qualification] = field(default_factory=list)
    offline_reason: str | None = None

    def qualification(self, key: str) -> Qualification | None:
        """The product's qualification entry ``key`` (None: not set)."""
        return next((q for q in self.qualifications if q.key == key), None)

    def sku_codes_by_id(self) -> dict[str, str]:
        """The platform's SKU id (``aeop_ae_product_s_k_us[].id``, e.g. ``"14:193"``) -> the seller's SKU code:
        what an item page (keyed by SKU ids and property values) must be read with."""
        return {s.sku_id: s.sku_code for s in self.skus if s.sku_id and s.sku_code}


@dataclass(frozen=True)
class ProductPage:
    """One page of the product list, with the paging totals."""
    products: list[Product]
    current_page: int
    total_page: int
    product_count: int


@dataclass(frozen=True)
class FreightTemplate:
    """A freight template of the seller (id, name, whether it is the default)."""
    template_id: int
    template_name: str
    is_default: bool


@dataclass(frozen=True)
class FreightService:
    """One logistics service a freight template offers (``getfreightsettingbytemplatequery``)."""

    code: str  # the logistics company / service code, e.g. CAINIAO_STANDARD, as item pages show it
    name: str
    free: bool


@dataclass(frozen=True)
class TokenInfo:
    """An access token and its refresh token with their lifetimes, as the token endpoint answers."""
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expire_time_ms: int | None
    refresh_token_valid_time_ms: int | None
    seller_id: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class MerchantProfile:
    """The seller profile as the platform documents it (``aliexpress.solution.merchant.profile.get``):
    ``posting_forbidden`` is its ``product_posting_forbidden`` (True: the platform forbids the seller to post
    products; False: the seller posts normally; None: the answer did not carry it). The platform documents no
    account standing and no merchant type (enterprise or individual): those are the operator's declaration in
    ``aeops_config`` (:mod:`aeops.catalog.account`)."""

    seller_id: int | None
    posting_forbidden: bool | None
    shop_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class PhotoUpload:
    """An image uploaded to the photobank: its URL and size."""
    photobank_url: str
    width: int | None
    height: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
