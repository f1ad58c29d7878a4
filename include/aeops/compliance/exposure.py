"""Live products at risk when a brand's certificate lapses: counted per (brand, category).

Source: the aeops DB ``product_state`` (``category``, ``brand``, ``status`` = ``onSelling`` for a live
product). The catalog sync does not write ``category``/``brand`` yet, so :func:`backfill_categories` fills
them on the rows the sync created, from the store's newest export (it never creates rows: a row is the
sync's diff baseline). When the store has no ``product_state`` row with a category at all (the sync has not
run), the count comes from the newest export instead and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select

from aeops.secrets import get_logger
from aeops.store.db import session_scope
from aeops.store.models import ProductState

log = get_logger(__name__)

LIVE_STATUSES = ("onSelling",)


def _norm(text: object) -> str:
    return "" if text is None or text != text else " ".join(str(text).split()).casefold()  # NaN != NaN


def categories_needing(cert_type: str, category_certs: Mapping[str, Iterable[str]]) -> list[str]:
    """The store's categories whose products need a ``cert_type`` certificate (as configured)."""
    wanted = cert_type.strip().upper()
    return sorted(cat for cat, types in category_certs.items() if wanted in {t.strip().upper() for t in types})


@dataclass
class Exposure:
    """Live products per (brand, category), both case-folded; ``source`` is ``aeops DB`` or ``newest export``."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    source: str = "aeops DB"

    def at_risk(self, brand: str, categories: Iterable[str]) -> int:
        """Live products of ``brand`` in any of ``categories``."""
        b = _norm(brand)
        return sum(self.counts.get((b, _norm(c)), 0) for c in categories)


def _export_frame(export_uri: str):
    from aeops.exports import newest_export, read_export

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
    with session_scope(db_url) as s:
        if not s.scalar(select(func.count()).select_from(ProductState).where(ProductState.store == store)):
            return 0  # the sync has not recorded products yet: nothing to fill
    try:
        frame = _export_frame(export_uri)
    except Exception as exc:  # noqa: BLE001 - the counts fall back; never fail the watch for this
        log.warning("%s: cannot read the newest export for categories (%s: %s)", store, type(exc).__name__, exc)
        return 0
    if frame is None:
        return 0
    products = _products_of(frame)
    changed = 0
    with session_scope(db_url) as s:
        for state in s.scalars(select(ProductState).where(ProductState.store == store)):
            brand_category = products.get(state.product_id)
            if brand_category and (state.brand, state.category) != (brand_category[0][:100] or None,
                                                                    brand_category[1][:100] or None):
                state.brand, state.category = brand_category[0][:100] or None, brand_category[1][:100] or None
                changed += 1
    log.info("%s: category/brand set on %d product_state row(s) from the newest export", store, changed)
    return changed


def exposure(db_url: str, store: str, export_uri: str = "") -> Exposure:
    """Live products per (brand, category) for ``store`` (aeops DB, else the newest export)."""
    with session_scope(db_url) as s:
        known = s.scalar(select(func.count()).select_from(ProductState)
                         .where(ProductState.store == store, ProductState.category.is_not(None)))
        if known:
            rows = s.execute(select(ProductState.brand, ProductState.category, func.count())
                             .where(ProductState.store == store, ProductState.status.in_(LIVE_STATUSES))
                             .group_by(ProductState.brand, ProductState.category))
            counts: Counter[tuple[str, str]] = Counter()
            for brand, category, n in rows:
                counts[(_norm(brand), _norm(category))] += n
            return Exposure(counts, "aeops DB")
    try:
        frame = _export_frame(export_uri)
    except Exception as exc:  # noqa: BLE001
        log.warning("%s: cannot read the newest export for counts (%s: %s)", store, type(exc).__name__, exc)
        frame = None
    if frame is None:
        return Exposure(Counter(), "unknown (no synced products and no readable export)")
    counts = Counter((_norm(b), _norm(c)) for b, c in _products_of(frame).values())
    return Exposure(counts, "newest export")
