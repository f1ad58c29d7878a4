"""The last confirmed marketplace state of each product (``product_state``): the diff baseline of the daily sync,
the SKU-id maps verification reads, when a product was first seen (new products), and its category and brand
(the products a certificate covers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from aeops.store.models import ProductState, utcnow
from aeops.store.repos.base import BULK_ROWS, IN_BATCH, Repository, chunks


@dataclass(frozen=True)
class KnownState:
    """A read-only copy of a ``product_state`` row (what the plans read of it)."""

    product_id: int
    fields: dict[str, Any]
    marketplace_modified_at: datetime | None
    confirmed_at: datetime | None


class ProductStates(Repository):
    """``ledger.products``: what aeops knows of each product on the marketplace, per store."""

    def load(self, store: str) -> dict[int, ProductState]:
        """The store's state rows by product id."""
        with self._transaction() as s:
            return {p.product_id: p for p in s.scalars(select(ProductState).where(ProductState.store == store))}

    def known(self, store: str) -> dict[int, KnownState]:
        """The store's confirmed product states as plain values (one SELECT of four columns; no ORM objects)."""
        columns = (ProductState.product_id, ProductState.fields, ProductState.marketplace_modified_at,
                   ProductState.confirmed_at)
        with self._transaction() as s:
            return {row[0]: KnownState(*row) for row in s.execute(select(*columns).where(ProductState.store == store))}

    def fields_of(self, store: str, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The confirmed fields of these products (bounded IN lists; one scan of the store for large sets)."""
        ids = sorted(set(product_ids))
        found: dict[int, dict[str, Any]] = {}
        with self._transaction() as s:
            if len(ids) > 20 * IN_BATCH:
                wanted = set(ids)
                query = select(ProductState.product_id, ProductState.fields).where(ProductState.store == store)
                return {pid: fields for pid, fields in s.execute(query) if pid in wanted}
            for chunk in chunks(ids):
                found.update((pid, fields) for pid, fields in s.execute(
                    select(ProductState.product_id, ProductState.fields).where(
                        ProductState.store == store, ProductState.product_id.in_(chunk))))
        return found

    def save_seen(self, store: str, seen: dict[int, tuple[dict[str, Any], datetime | None]]) -> None:
        """Record products as read from the marketplace: their fields and its last-modified time (products aeops
        has no state for go in with bulk INSERTs: a first run records the whole store)."""
        now = utcnow()
        with self._transaction() as s:
            # first_seen_at only counts once aeops knows the store: the first read of a store is its baseline
            store_known = s.scalars(select(ProductState.product_id).where(ProductState.store == store)
                                    .limit(1)).first() is not None
            existing: dict[int, ProductState] = {}
            for chunk in chunks(sorted(seen)):
                existing.update((p.product_id, p) for p in s.scalars(select(ProductState).where(
                    ProductState.store == store, ProductState.product_id.in_(chunk))))
            new_rows = []
            for pid, (fields, modified) in seen.items():
                state = existing.get(pid)
                if state is None:
                    new_rows.append({"store": store, "product_id": pid, "fields": fields,
                                     "marketplace_modified_at": modified, "last_seen_at": now,
                                     "first_seen_at": now if store_known else None})
                else:
                    state.fields, state.marketplace_modified_at, state.last_seen_at = fields, modified, now
            for i in range(0, len(new_rows), BULK_ROWS):
                s.execute(insert(ProductState), new_rows[i : i + BULK_ROWS])

    def record_sku_ids(self, store: str, sku_ids: dict[int, dict[str, str]]) -> None:
        """Keep SKU-id maps read for verification (a first run writes blind and reads none): read once per product."""
        with self._transaction() as s:
            for chunk in chunks(sorted(sku_ids)):
                for state in s.scalars(select(ProductState).where(ProductState.store == store,
                                                                  ProductState.product_id.in_(chunk))):
                    state.fields = {**(state.fields or {}), "sku_ids": sku_ids[state.product_id]}

    def new_since(self, store: str, since: datetime) -> set[int]:
        """Products aeops first saw on the marketplace at or after ``since`` (new products)."""
        with self._transaction() as s:
            return set(s.scalars(select(ProductState.product_id).where(
                ProductState.store == store, ProductState.first_seen_at.is_not(None),
                ProductState.first_seen_at >= since)))

    # ------------------------------------------------------------------------------ category and brand
    def record_catalog_meta(self, store: str, meta: dict[int, tuple[str | None, str | None]]) -> None:
        """Category and brand of the store's products (certificate watch: products at risk per category/brand)."""
        with self._transaction() as s:  # only what differs, as one bulk UPDATE by primary key (a first run: every row)
            changed = []
            for chunk in chunks(list(meta)):
                for pid, category, brand in s.execute(select(
                        ProductState.product_id, ProductState.category, ProductState.brand).where(
                        ProductState.store == store, ProductState.product_id.in_(chunk))):
                    if (category, brand) != meta[pid]:
                        changed.append({"store": store, "product_id": pid, "category": meta[pid][0],
                                        "brand": meta[pid][1]})
            for i in range(0, len(changed), BULK_ROWS):
                s.execute(update(ProductState), changed[i : i + BULK_ROWS])

    def count(self, store: str) -> int:
        """How many products aeops has recorded for the store."""
        with self._transaction() as s:
            return int(s.scalar(select(func.count()).select_from(ProductState).where(ProductState.store == store))
                       or 0)

    def backfill_brand_category(self, store: str, products: Mapping[int, tuple[str, str]]) -> int:
        """Set ``brand``/``category`` of the store's recorded products from ``products`` (product id -> (brand,
        category); empty means unknown); returns how many rows changed."""
        changed = 0
        with self._transaction() as s:
            for state in s.scalars(select(ProductState).where(ProductState.store == store)):
                brand_category = products.get(state.product_id)
                if brand_category and (state.brand, state.category) != (brand_category[0][:100] or None,
                                                                        brand_category[1][:100] or None):
                    state.brand, state.category = brand_category[0][:100] or None, brand_category[1][:100] or None
                    changed += 1
        return changed

    def counts_by_brand_category(self, store: str, statuses: Iterable[str]
                                 ) -> list[tuple[str | None, str | None, int]] | None:
        """(brand, category, products) of the store's products in ``statuses``; None when no product has a category
        recorded yet (the caller counts from elsewhere)."""
        with self._transaction() as s:
            known = s.scalar(select(func.count()).select_from(ProductState)
                             .where(ProductState.store == store, ProductState.category.is_not(None)))
            if not known:
                return None
            return [(brand, category, n) for brand, category, n in s.execute(
                select(ProductState.brand, ProductState.category, func.count())
                .where(ProductState.store == store, ProductState.status.in_(tuple(statuses)))
                .group_by(ProductState.brand, ProductState.category))]

    def with_category(self, store: str) -> list[tuple[int, str | None, str, dict[str, Any]]]:
        """(product id, brand, category, fields) of the store's products whose category is recorded."""
        with self._transaction() as s:
            return [(pid, brand, category, fields) for pid, brand, category, fields in s.execute(
                select(ProductState.product_id, ProductState.brand, ProductState.category, ProductState.fields)
                .where(ProductState.store == store, ProductState.category.is_not(None)))]
