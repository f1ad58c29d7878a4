"""The products a certificate covers, and how many of them are live: what a certificate alert names and counts
and what a certificate replacement writes to.

- :func:`categories_needing`: the store's categories whose products need a certificate type (``category_certs``);
- :func:`scope_of`: what a registry file keeps on sale: a certificate the categories needing its type, a category
  admission also the categories it names, a brand authorisation every product of its brand;
- :func:`covered_products`: the store's products of a brand in those categories, by id and title (what a
  certificate replacement writes to); :func:`products_at_risk`: every product of a file's scope, whatever its
  brand (an expired certificate delists every product of its category), the file's own brand marked ``covered``.
  Both from the aeops DB's ``product_state`` rows (the catalog sync records each product's brand and category),
  else the newest export's rows; the documented product listing carries no category, so a product neither knows
  (created in the seller center) cannot be placed in a category here. :func:`read_live_status` reads their status
  from the platform (``aliexpress.solution.product.list.get``, a page of 50 per call, per status), never assumed
  ``onSelling``;
- :func:`exposure`: live products per (brand, category), counted for the watch's message;
  :func:`backfill_categories` fills ``category``/``brand`` on ``product_state`` rows from the newest export.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aeops import csvsafe
from aeops.exports import newest_export, read_export
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.models import PRODUCT_STATUSES
from aeops.rules.certs import brand_key
from aeops.rules.documents import BRAND_AUTH, CATEGORY_ADMISSION, split_categories
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)

LIVE = "onSelling"
LIVE_STATUSES = (LIVE,)




def categories_needing(cert_type: str, category_certs: Mapping[str, Iterable[str]]) -> list[str]:
    """The store's categories whose products need a ``cert_type`` certificate (as configured)."""
    wanted = cert_type.strip().upper()
    return sorted(cat for cat, types in category_certs.items() if wanted in {t.strip().upper() for t in types})


@dataclass(frozen=True)
class Scope:
    """The products a registry file keeps on sale: those of ``categories`` (None: every category), of any brand or
    (``brand_only``) of the file's brand only."""

    categories: list[str] | None
    brand_only: bool = False

    def holds(self, brand: str, category: str, file_brand: str) -> bool:
        """True when a product of ``brand`` in ``category`` is in the scope of a file of ``file_brand``."""
        if self.brand_only and brand_key(brand) != brand_key(file_brand):
            return False
        return self.categories is None or brand_key(category) in {brand_key(c) for c in self.categories}

    @property
    def empty(self) -> bool:
        """Whether the scope names no category (the certificate covers no product)."""
        return self.categories == []


def scope_of(cert_type: str, category_certs: Mapping[str, Iterable[str]], admitted: str | None = None) -> Scope:
    """What a file of ``cert_type`` keeps on sale: a brand authorisation every product of its brand; a category
    admission the categories it names (``admitted``, as written) and those configured to need it; a certificate
    every product of the categories needing its type (``category_certs``)."""
    if cert_type == BRAND_AUTH:
        return Scope(None, brand_only=True)
    categories = categories_needing(cert_type, category_certs)
    if cert_type == CATEGORY_ADMISSION:
        known = {brand_key(c) for c in categories}
        categories += [c for c in split_categories(admitted) if brand_key(c) not in known]
    return Scope(categories)


@dataclass
class Exposure:
    """Live products per (brand, category), both case-folded; ``source`` is ``aeops DB`` or ``newest export``."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    source: str = "aeops DB"

    def at_risk(self, brand: str, categories: Iterable[str]) -> int:
        """Live products of ``brand`` in any of ``categories``."""
        b = brand_key(brand)
        return sum(self.counts.get((b, brand_key(c)), 0) for c in categories)

    def in_scope(self, scope: Scope, file_brand: str) -> int:
        """Live products a file of ``file_brand`` with this ``scope`` keeps on sale, whatever their brand."""
        return sum(n for (brand, category), n in self.counts.items() if scope.holds(brand, category, file_brand))


def _export_frame(export_uri: str):
    newest = newest_export(export_uri) if export_uri else None
    if newest is None:
        return None
    export = read_export(newest)
    return export.frame if export.readable else None


def _products_of(frame) -> dict[int, tuple[str, str]]:
    """product id -> (brand, category) from an export frame (first row of each product; bad ids skipped)."""
    products: dict[int, tuple[str, str]] = {}
    for pid, brand, category in zip(frame["product_id"], frame.get("brand", [None] * len(frame)),
                                    frame["category"], strict=True):
        text = str(pid).strip()
        if text.isdigit() and int(text) not in products:
            products[int(text)] = ("" if brand is None or brand != brand else str(brand).strip(),
                                   "" if category is None or category != category else str(category).strip())
    return products


def backfill_categories(db_url: str, store: str, export_uri: str) -> int:
    """Set ``category``/``brand`` on the store's existing ``product_state`` rows from the newest export.

    Returns how many rows changed. Missing or unreadable export, or no product_state rows: 0.
    """
    ledger = Ledger(db_url)
    if not ledger.products.count(store):
        return 0  # the sync has not recorded products yet: nothing to fill
    try:
        frame = _export_frame(export_uri)
    except Exception as exc:  # noqa: BLE001 - the counts fall back; never fail the watch for this
        log.warning("%s: cannot read the newest export for categories (%s: %s)", store, type(exc).__name__, exc)
        return 0
    if frame is None:
        return 0
    changed = ledger.products.backfill_brand_category(store, _products_of(frame))
    log.info("%s: category/brand set on %d product_state row(s) from the newest export", store, changed)
    return changed


def exposure(db_url: str, store: str, export_uri: str = "") -> Exposure:
    """Live products per (brand, category) for ``store`` (aeops DB, else the newest export)."""
    rows = Ledger(db_url).products.counts_by_brand_category(store, LIVE_STATUSES)
    if rows is not None:
        counts: Counter[tuple[str, str]] = Counter()
        for brand, category, n in rows:
            counts[(brand_key(brand), brand_key(category))] += n
        return Exposure(counts, "aeops DB")
    try:
        frame = _export_frame(export_uri)
    except Exception as exc:  # noqa: BLE001
        log.warning("%s: cannot read the newest export for counts (%s: %s)", store, type(exc).__name__, exc)
        frame = None
    if frame is None:
        return Exposure(Counter(), "unknown (no synced products and no readable export)")
    counts = Counter((brand_key(b), brand_key(c)) for b, c in _products_of(frame).values())
    return Exposure(counts, "newest export")


SHOWN = 20
"""How many products an alert lists by id and title (the rest: the count and the CSV)."""


@dataclass
class CoveredProduct:
    """One product of the brand and category: its id, title, and the platform's status (None: not read); ``brand``
    and whether the file itself ``covered`` it (its brand's product) when an alert names every product at risk."""

    product_id: int
    title: str
    category: str
    status: str | None = None
    reason: str | None = None
    brand: str = ""
    covered: bool = True


@dataclass
class Covered:
    """The products a certificate covers; ``source`` is ``aeops DB`` or ``newest export``."""

    products: list[CoveredProduct] = field(default_factory=list)
    source: str = "aeops DB"
    live_read: bool = False

    @property
    def ids(self) -> list[int]:
        """The ids of the covered products."""
        return [p.product_id for p in self.products]

    @property
    def live(self) -> list[CoveredProduct]:
        """Products the platform shows on sale (all of them when the status could not be read)."""
        return [p for p in self.products if p.status in (LIVE, None)]


def _catalog(db_url: str, store: str, export_uri: str) -> tuple[list[CoveredProduct], str]:
    """Every product whose category aeops knows, with its brand (product id order): the aeops DB's
    ``product_state``, else the newest export; and which of the two it is."""
    rows = Ledger(db_url).products.with_category(store)
    if rows:
        found = [CoveredProduct(int(pid), str((fields or {}).get("title") or ""), str(category),
                                brand="" if brand is None else str(brand))
                 for pid, brand, category, fields in rows]
        return sorted(found, key=lambda p: p.product_id), "aeops DB"
    return _from_export(export_uri), "newest export"


def covered_products(db_url: str, store: str, brand: str, categories: Iterable[str],
                     export_uri: str = "") -> Covered:
    """The store's products of ``brand`` in ``categories`` (case-insensitive), in product id order."""
    wanted = {brand_key(c) for c in categories}
    b = brand_key(brand)
    if not wanted or not b:
        return Covered()
    catalog, source = _catalog(db_url, store, export_uri)
    return Covered([p for p in catalog if brand_key(p.brand) == b and brand_key(p.category) in wanted], source)


def products_at_risk(db_url: str, store: str, brand: str, scope: Scope, export_uri: str = "") -> Covered:
    """Every product a file of ``brand`` with ``scope`` keeps on sale, whatever its brand: the file's own brand's
    first (marked ``covered``), then the others, each in product id order."""
    if scope.empty:
        return Covered()
    catalog, source = _catalog(db_url, store, export_uri)
    found = [p for p in catalog if scope.holds(p.brand, p.category, brand)]
    for p in found:
        p.covered = bool(brand_key(brand)) and brand_key(p.brand) == brand_key(brand)
    return Covered(sorted(found, key=lambda p: (not p.covered, p.product_id)), source)


def _from_export(export_uri: str) -> list[CoveredProduct]:
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
        if text.isdigit() and int(text) not in found and category == category and category is not None:
            found[int(text)] = CoveredProduct(int(text), "" if title != title else str(title or ""), str(category),
                                              brand="" if brand_ is None or brand_ != brand_ else str(brand_).strip())
    return [found[k] for k in sorted(found)]


def live_statuses(client: MarketplaceClient) -> dict[int, str]:
    """Every product's status on the platform (one listing per status, 50 a page)."""

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


def read_live_status(covered: Covered, client: MarketplaceClient) -> Covered:
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


def csv_text(products: Iterable[CoveredProduct], files: Mapping[int, Iterable[str]] | None = None) -> str:
    """Every product as CSV (UTF-8 with BOM for Excel): product_id, title, category, status, reason; with ``files``
    (product id -> the files that cover it: the alert's own brand) also brand and covered_by."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csvsafe.writer(out)  # titles and reasons come from exports and the platform: no formulas
    writer.writerow(["product_id", "title", "category", "status", "reason"] + (
        ["brand", "covered_by"] if files is not None else []))
    for p in products:
        extra = [p.brand, "; ".join(files.get(p.product_id, ()))] if files is not None else []
        writer.writerow([p.product_id, p.title, p.category, p.status or "", p.reason or "", *extra])
    return out.getvalue()
