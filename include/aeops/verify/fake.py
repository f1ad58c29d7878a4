"""An in-memory marketplace and storefront for unit tests and ``bench/verify.py`` (no HTTP, a settable clock).

It is a :class:`~aeops.marketplace.interface.MarketplaceClient` (every call a step makes) and a
:class:`~aeops.verify.page_reader.StorefrontReader`, and counts every request. Prices, stock and the freight
template are modelled (what verification checks); other edits, qualifications and uploads are recorded in
``writes`` and succeed. Faults mirror the simulator's: ``stale`` (product, site) pairs and ``never_device`` keep
showing the first version; ``lag`` delays every view of a write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aeops.marketplace.client import PRODUCT_STATUSES
from aeops.marketplace.models import (
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
    TokenInfo,
    UpdateReport,
)
from aeops.verify.page_reader import PageView, SkuView

TEMPLATE_SERVICES = {"1001": (FreightService("CAINIAO_STANDARD", "AliExpress Standard Shipping", False),),
                     "1002": (FreightService("CAINIAO_STANDARD", "AliExpress Standard Shipping", True),),
                     "1003": (FreightService("DHL", "DHL", False),)}
"""What each freight template offers (the simulator's templates), for pages' shipping blocks."""


@dataclass
class _Version:
    at: datetime
    skus: dict[str, SkuView]
    freight_template_id: str = "1001"


@dataclass
class FakeMarketplace:
    """An in-memory marketplace and storefront for tests: products in versions, stale pages, lag."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    stale: set[tuple[int, str]] = field(default_factory=set)
    never_device: str | None = None
    lag: timedelta = timedelta(0)
    seller_id: int = 2000000001
    platform_tz: str = "Asia/Shanghai"  # gmt_modified strings are platform (Beijing) times, like the real ones
    page_size_cap: int = 99
    products: dict[int, list[_Version]] = field(default_factory=dict)
    calls: int = 0  # API calls (list pages, reads, writes)
    requests: int = 0  # storefront page fetches and data-center reads
    writes: list[tuple[str, list[int]]] = field(default_factory=list)
    access_token: str | None = "fake-access-token"
    refresh_token: str | None = "fake-refresh-token"
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def seed(self, product_ids: Iterable[int], skus: Mapping[str, tuple[str, str | None, int]],
             at: datetime) -> None:
        """Put products with ``skus`` on the fake marketplace as of ``at``."""
        for pid in product_ids:
            self.products[pid] = [_Version(at, {c: SkuView(*v) for c, v in skus.items()})]

    # ---------------------------------------------------------------- client calls
    def iter_products(self, statuses: Iterable[str] = PRODUCT_STATUSES, *, page_size: int = 50,
                      modified_since: datetime | None = None, **_: Any):
        """Every product is on sale; like the real client, each other status costs one (empty) page."""
        items = sorted(pid for pid, versions in self.products.items()
                       if modified_since is None or versions[-1].at >= modified_since)
        size = min(page_size, self.page_size_cap)
        self.calls += max(1, -(-len(items) // size)) + len(tuple(statuses)) - 1
        for pid in items:
            yield Product(pid, gmt_modified=self._gmt(self.products[pid][-1].at))

    def list_products(self, status: str = "onSelling", *, page: int = 1, page_size: int = 50,
                      modified_since: datetime | str | None = None, **_: Any) -> ProductPage:
        """One page, as :meth:`iter_products` counts them (pages may be read from several threads at once)."""
        with self._count_lock:
            self.calls += 1
        size = min(page_size, self.page_size_cap)
        items = [] if status != "onSelling" else sorted(
            pid for pid, versions in self.products.items()
            if modified_since is None or versions[-1].at >= modified_since)
        chunk = items[(page - 1) * size : page * size]
        return ProductPage([Product(pid, status="onSelling", gmt_modified=self._gmt(self.products[pid][-1].at))
                            for pid in chunk], page, -(-len(items) // size), len(items))

    def _gmt(self, at: datetime) -> str:
        return at.astimezone(ZoneInfo(self.platform_tz)).strftime("%Y-%m-%d %H:%M:%S")

    def get_product(self, product_id: int) -> Product:
        """The product as the API answers it (its newest version)."""
        self.calls += 1
        latest = self.products[product_id][-1]
        return Product(product_id, status="onSelling", freight_template_id=int(latest.freight_template_id),
                       gmt_modified=self._gmt(latest.at),
                       skus=[Sku(None, c, Decimal(s.price) if s.price else None,
                                 Decimal(s.discount_price) if s.discount_price else None, s.stock)
                             for c, s in latest.skus.items()])

    def _write(self, api: str, updates: Mapping[int, Any], apply: Callable[[SkuView, Any], SkuView]) -> BatchResult:
        self.calls += 1
        self.writes.append((api, sorted(updates)))
        for pid, items in updates.items():
            latest = self.products[pid][-1]
            skus = dict(latest.skus)
            for item in items:
                skus[item.sku_code] = apply(skus[item.sku_code], item)
            self.products[pid].append(_Version(self.clock(), skus, latest.freight_template_id))
        return BatchResult(api, {pid: ProductOutcome(pid, "success") for pid in updates})

    def update_prices_batch(self, updates: Mapping[int, Any]) -> BatchResult:
        """Apply a batch of price updates (a new version of each product)."""
        def apply(sku: SkuView, item: Any) -> SkuView:
            discount = None if item.discount_price is None else str(Decimal(item.discount_price))
            return SkuView(str(Decimal(item.price)), discount, sku.stock)

        return self._write("price", updates, apply)

    def update_inventory(self, updates: Mapping[int, Any]) -> UpdateReport:
        """Apply inventory updates (a new version of each product)."""
        def apply(sku: SkuView, item: Any) -> SkuView:
            return SkuView(sku.price, sku.discount_price, int(item.inventory))

        return UpdateReport([self._write("inventory", updates, apply)])

    def edit_product(self, product_id: int, fields: Mapping[str, Any]) -> ProductOutcome:
        """Recorded; a new freight template shows on the product's pages."""
        self.calls += 1
        self.writes.append(("edit", [product_id]))
        latest = self.products[product_id][-1]
        template = str(fields.get("freight_template_id", latest.freight_template_id))
        self.products[product_id].append(_Version(self.clock(), dict(latest.skus), template))
        return ProductOutcome(product_id, "success")

    def set_qualifications(self, product_id: int, entries: Sequence[Qualification]) -> ProductOutcome:
        """Accept a product's qualifications (recorded as a write)."""
        self.calls += 1
        self.writes.append(("qualification", [product_id]))
        return ProductOutcome(product_id, "success")

    def upload_image(self, file_name: str, content: bytes, *, group_id: str | None = None,
                     content_type: str = "image/jpeg") -> PhotoUpload:
        """Pretend to upload an image; returns a photobank URL."""
        self.calls += 1
        return PhotoUpload(f"https://ae01.alicdn.com/kf/fake-{len(content)}-{file_name}", None, None)

    def list_freight_templates(self) -> list[FreightTemplate]:
        """The seller's freight templates."""
        self.calls += 1
        return [FreightTemplate(int(tid), f"Template {tid}", tid == "1001") for tid in TEMPLATE_SERVICES]

    def freight_settings(self, template_id: int) -> list[FreightService]:
        """The shipping services of a freight template."""
        self.calls += 1
        return list(TEMPLATE_SERVICES.get(str(template_id), ()))

    def category_qualifications(self, category_id: int | str, locale: str = "en_US") -> list[QualificationSpec]:
        """No category asks for a qualification here."""
        self.calls += 1
        return []

    def merchant_profile(self) -> MerchantProfile:
        """The seller's profile (posting allowed)."""
        self.calls += 1
        return MerchantProfile(self.seller_id, posting_forbidden=False)

    def refresh_access_token(self, refresh_token: str | None = None) -> TokenInfo:
        """A new access token (the old one with ``+``), valid for 30 days."""
        self.calls += 1
        self.access_token, self.refresh_token = f"{self.access_token}+", refresh_token or self.refresh_token
        expires = self.clock() + timedelta(days=30)
        return TokenInfo(self.access_token, self.refresh_token, int(expires.timestamp() * 1000), None, self.seller_id)

    def close(self) -> None:
        """Nothing to close."""
        pass

    # ---------------------------------------------------------------- storefront calls
    def fetch(self, product_id: int, site: str, device: str) -> PageView:
        """A product's storefront page on ``site`` for ``device`` as of the fake clock (stale or lagging as set)."""
        self.requests += 1
        versions = self.products.get(product_id)
        if not versions:
            return PageView(product_id, site, device, error="HTTP 404")
        shown = versions[0]
        if device != self.never_device and (product_id, site) not in self.stale:
            for version in versions:
                if version.at + self.lag <= self.clock():
                    shown = version
        shipping = frozenset((s.code, s.free) for s in TEMPLATE_SERVICES.get(shown.freight_template_id, ()))
        return PageView(product_id, site, device, shown.at, dict(shown.skus), shipping)

    def completion_rate(self, seller_id: int | None) -> float | None:
        """No completion rate (the fake has no seller center)."""
        self.requests += 1
        return None
