"""``MarketplaceClient``: what aeops' steps need from the marketplace client, as a typing Protocol.

:class:`~aeops.marketplace.client.AliExpressClient` satisfies it (against the platform or the simulator), and so
does the in-memory :class:`~aeops.verify.fake.FakeMarketplace` of the unit tests and benchmarks
(tests/unit/marketplace/test_interface.py checks both, signatures included). A step takes
``client: MarketplaceClient | None = None`` (None: the store's connection, ``aeops.catalog.context.client_for``).

Only the calls steps make are listed. Beside them, steps read ``base_url``, ``platform_tz`` and ``calls`` with
``getattr`` when a client has them (allowed image hosts, the zone of ``gmt_modified`` strings, counts for reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from aeops.marketplace.models import (
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
    SkuPrice,
    SkuStock,
    TokenInfo,
    UpdateReport,
)


@runtime_checkable
class MarketplaceClient(Protocol):
    """The marketplace calls of the daily sync, verification, urgent re-runs and the certificate replacement.

    Writes never raise for one product's failure: each product comes back ``success``, ``failed`` (with the
    platform's code) or ``unknown`` (the answer was lost: re-read it before any retry)."""

    access_token: str | None
    """The seller's token; ``aeops.catalog.credentials`` replaces it (and ``refresh_token``) with the newest."""
    refresh_token: str | None

    # ------------------------------------------------------------------ reads
    def list_products(self, status: str = "onSelling", *, page: int = 1, page_size: int = 50,
                      modified_since: datetime | str | None = None,
                      modified_until: datetime | str | None = None) -> ProductPage:
        """One page of the products in ``status`` (``total_page`` says how many there are)."""
        ...

    def iter_products(self, statuses: Iterable[str] = PRODUCT_STATUSES, *, page_size: int = 50,
                      modified_since: datetime | str | None = None,
                      modified_until: datetime | str | None = None) -> Iterator[Product]:
        """Every product in the given statuses, page by page."""
        ...

    def get_product(self, product_id: int) -> Product:
        """One product with its SKUs (prices, stock), status, review and qualifications."""
        ...

    def list_freight_templates(self) -> list[FreightTemplate]:
        """The seller's freight templates (validation checks each row's template exists)."""
        ...

    def freight_settings(self, template_id: int) -> list[FreightService]:
        """The logistics services a freight template offers (verification compares the shipping block)."""
        ...

    def category_qualifications(self, category_id: int | str, locale: str = "en_US") -> list[QualificationSpec]:
        """The qualification entries a category needs (the certificate replacement finds its key)."""
        ...

    # ------------------------------------------------------------------ the seller
    def merchant_profile(self) -> MerchantProfile:
        """The seller profile as documented: whether the platform forbids the seller to post products."""
        ...

    def refresh_access_token(self, refresh_token: str | None = None) -> TokenInfo:
        """A new access (and refresh) token; the client switches to it."""
        ...

    # ------------------------------------------------------------------ writes
    def update_prices_batch(self, updates: Mapping[int, Sequence[SkuPrice]]) -> BatchResult:
        """One price call for at most 20 products."""
        ...

    def update_inventory(self, updates: Mapping[int, Sequence[SkuStock]]) -> UpdateReport:
        """Stock for any number of products, in as many calls as the platform's limits need."""
        ...

    def edit_product(self, product_id: int, fields: Mapping[str, Any]) -> ProductOutcome:
        """Change only the given product fields (title, freight template, main image URLs)."""
        ...

    def set_qualifications(self, product_id: int, entries: Sequence[Qualification]) -> ProductOutcome:
        """Set qualification entries (a certificate image) on a product; the others stay."""
        ...

    def upload_image(self, file_name: str, content: bytes, *, group_id: str | None = None,
                     content_type: str = "image/jpeg") -> PhotoUpload:
        """Upload an image to the photobank (the platform takes photobank images only)."""
        ...
