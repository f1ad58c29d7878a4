"""The products a certificate covers (a brand in the categories needing its type), and their live status on the
platform: what a certificate alert names and what a certificate replacement writes to.

Which products: the aeops DB's ``product_state`` rows of the brand and categories (the catalog sync records each
product's brand and category), else the newest export's rows. Their status is read from the platform
(``aliexpress.solution.product.list.get``, a page of 50 per call, per status), never assumed ``onSelling``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from aeops.secrets import get_logger
from aeops.store.db import session_scope
from aeops.store.models import ProductState

log = get_logger(__name__)

LIVE = "onSelling"
SHOWN = 20
"""How many products an alert lists by id and title (the rest: the count and the CSV)."""


def _norm(text: object) -> str:
    return "" if text is None or text != text else " ".join(str(text).split()).casefold()  # NaN != NaN


@dataclass
class CoveredProduct:
    """One product of the brand and category: its id, title, and the platform's status (None: not read)."""

    product_id: int
    title: str
    category: str
    status: str | None = None
    reason: str | None = None


@dataclass
class Covered:
    """The products a certificate covers; ``source`` is ``aeops DB`` or ``newest export``."""

    products: list[CoveredProduct] = field(default_factory=list)
    source: str = "aeops DB"
    live_read: bool = False

    @property
    def ids(self) -> list[int]:
        return [p.product_id for p in self.products]

    @property
    def live(self) -> list[CoveredProduct]:
        """Products the platform shows on sale (all of them when the status could not be read)."""
        return [p for p in self.products if p.status in (LIVE, None)]


def covered_products(db_url: str, store: str, brand: str, categories: Iterable[str],
                     export_uri: str = "") -> Covered:
    """The store's products of ``brand`` in ``categories`` (case-insensitive), in product id order."""
    wanted = {_norm(c) for c in categories}
    b = _norm(brand)
    if not wanted or not b:
        return Covered()
    with session_scope(db_url) as s:
        rows = list(s.execute(select(ProductState.product_id, ProductState.brand, ProductState.category,
                                     ProductState.fields).where(ProductState.store == store,
                                                                ProductState.category.is_not(None))))
    if rows:
        found = [CoveredProduct(int(pid), str((fields or {}).get("title") or ""), str(category))
                 for pid, brand_, category, fields in rows if _norm(brand_) == b and _norm(category) in wanted]
        return Covered(sorted(found, key=lambda p: p.product_id), "aeops DB")
    return Covered(_from_export(export_uri, b, wanted), "newest export")


def _from_export(export_uri: str, brand: str, wanted: set[str]) -> list[CoveredProduct]:
    from aeops.compliance.exposure import _export_frame

    try:
        frame = _export_frame(export_uri) if export_uri else None
    except Exception as exc:  # noqa: BLE001 - no export: nothing known, never a failed task
        log.warning("cannot read the newest export (%s: %s)", type(exc).__name__, exc)
        return []
    if frame is None:
        return []
    found: dict[int, CoveredProduct] = {}
    titles = frame["title"] if "title" in frame.columns else [""] * len(frame)
    brands = frame["brand"] if "brand" in frame.columns else [""] * len(frame)
    for pid, title, brand_, category in zip(frame["product_id"], titles, brands, frame["category"], strict=True):
        text = str(pid).strip()
        if text.isdigit() and int(text) not in found and _norm(brand_) == brand and _norm(category) in wanted:
            found[int(text)] = CoveredProduct(int(text), "" if title != title else str(title or ""), str(category))
    return [found[k] for k in sorted(found)]


def live_statuses(client: Any) -> dict[int, str]:
    """Every product's status on the platform (one listing per status, 50 a page)."""
    from aeops.marketplace.models import PRODUCT_STATUSES

    found: dict[int, str] = {}
    for status in PRODUCT_STATUSES:
        for product in client.iter_products([status]):
            found[product.product_id] = product.status or status
    return found


def apply_statuses(covered: Covered, statuses: dict[int, str]) -> Covered:
    """Each product's platform status (``missing`` when the platform does not list it)."""
    for item in covered.products:
        item.status = statuses.get(item.product_id, "missing")
    covered.live_read = True
    return covered


def read_live_status(covered: Covered, client: Any) -> Covered:
    """Fill each product's status (and why an offline one is off sale) from the platform: the listings, then the
    product query for the ones not on sale (their reason)."""
    if not covered.products:
        covered.live_read = True
        return covered
    apply_statuses(covered, live_statuses(client))
    for item in covered.products:
        if item.status not in (LIVE, "missing"):
            try:
                detail = client.get_product(item.product_id)
                item.reason = detail.offline_reason or detail.audit_reason
            except Exception as exc:  # noqa: BLE001 - the reason is a nicety; the status is what counts
                log.warning("product %s: no detail (%s)", item.product_id, type(exc).__name__)
    return covered


def csv_text(products: Iterable[CoveredProduct]) -> str:
    """Every product as CSV (UTF-8 with BOM for Excel): product_id, title, category, status, reason."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["product_id", "title", "category", "status", "reason"])
    for p in products:
        writer.writerow([p.product_id, p.title, p.category, p.status or "", p.reason or ""])
    return out.getvalue()
