"""The export guard's checks: does a store's plan look like a broken ERP export?

A broken export (every price 0.01, every stock 0, half the catalog missing) passes the row rules one row at a time.
Before anything is pushed, the daily sync compares its plan with the store's current state (what aeops last
confirmed or read on the marketplace) and holds the store's export when it crosses one of the store's
``export_guard`` thresholds (:class:`aeops.config.ExportGuardConfig`, strictly "more than"):

- ``changed_prices``: more than ``changed_prices_percent`` (20) % of the compared SKUs change price or discount;
- ``price_move``: any SKU's price or discount price moves by more than ``price_move_percent`` (50) %;
- ``zero_stock``: more than ``zero_stock_percent`` (20) % of the SKUs in stock drop to zero;
- ``dropped_products``: more than ``dropped_products_percent`` (10) % of the previous export's products (the
  newest export let through: not held, or approved) are missing from this one.

Only what aeops knows is compared: a SKU whose current price or stock was never read (a store's first run writes
them blind, :data:`~aeops.catalog.diff.SKUS_UNKNOWN`) counts in no check, and a first export has no previous one to
miss products from. :func:`evaluate` is pure; :mod:`aeops.sync.guard_hold` records its verdict, asks a person and
keeps the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aeops.config import ExportGuardConfig

CHECKS = ("changed_prices", "price_move", "zero_stock", "dropped_products")
LARGEST = 10  # the largest moves kept per check (Slack, the form and the report show them)


@dataclass(frozen=True)
class GuardResult:
    """The checks (each ``{check, count, of, value, limit, tripped}``), the largest moves and the verdict."""

    checks: list[dict[str, Any]]
    moves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    enabled: bool = True

    @property
    def tripped(self) -> list[str]:
        """The checks whose threshold was crossed."""
        return [c["check"] for c in self.checks if c["tripped"]]

    @property
    def held(self) -> bool:
        """True when the export must wait for a person (a threshold crossed, the guard enabled)."""
        return self.enabled and bool(self.tripped)


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _move(old: Decimal | None, new: Decimal | None) -> float | None:
    """The move from ``old`` to ``new`` in percent (None: not comparable)."""
    if old is None or new is None or old == 0:
        return None
    return float((new - old) / old * 100)


def _share(count: int, of: int) -> float:
    return round(count / of * 100, 2) if of else 0.0


def _check(name: str, count: int, of: int, limit: float, value: float | None = None) -> dict[str, Any]:
    value = _share(count, of) if value is None else value
    return {"check": name, "count": count, "of": of, "value": round(value, 2), "limit": limit,
            "tripped": bool(of) and value > limit}


def _known_skus(desired: Mapping[int, dict[str, Any]], current: Mapping[int, dict[str, Any] | None]
                ) -> tuple[int, int]:
    """(SKUs whose current price is known, SKUs known to be in stock) among the export's SKUs."""
    priced = in_stock = 0
    for pid, want in desired.items():
        have = current.get(pid)
        if not have:
            continue
        skus = have.get("skus") or {}  # a product seen on a list page only (SKUS_UNKNOWN) has no values here
        for code in want.get("skus") or {}:
            sku = skus.get(code) or {}
            priced += _money(sku.get("price")) is not None
            stock = sku.get("stock")
            in_stock += isinstance(stock, int | float) and stock > 0
    return priced, in_stock


def _price_moves(changes: Iterable[Any]) -> list[dict[str, Any]]:
    """Every SKU whose known price or discount price changes, with its largest move."""
    found = []
    for change in changes:
        if change.kind != "price":
            continue
        before = {i["sku_code"]: i for i in (change.previous or {}).get("skus", [])}
        for item in change.payload.get("skus", []):
            old = before.get(item["sku_code"]) or {}
            price_old, price_new = _money(old.get("price")), _money(item.get("price"))
            if price_old is None:  # never read (written blind): not compared
                continue
            disc_old, disc_new = _money(old.get("discount_price")), _money(item.get("discount_price"))
            if price_old == price_new and disc_old == disc_new:  # restated unchanged (a retry)
                continue
            moves = [m for m in (_move(price_old, price_new), _move(disc_old, disc_new)) if m is not None]
            found.append({"product_id": change.product_id, "sku_code": item["sku_code"],
                          "old": None if price_old is None else str(price_old),
                          "new": None if price_new is None else str(price_new),
                          "old_discount": None if disc_old is None else str(disc_old),
                          "new_discount": None if disc_new is None else str(disc_new),
                          "percent": round(max(moves, key=abs), 2) if moves else None})
    return found


def _zero_stock(changes: Iterable[Any]) -> list[dict[str, Any]]:
    """Every SKU known to be in stock that the plan takes to zero."""
    found = []
    for change in changes:
        if change.kind != "inventory":
            continue
        before = {i["sku_code"]: i.get("inventory") for i in (change.previous or {}).get("skus", [])}
        for item in change.payload.get("skus", []):
            old = before.get(item["sku_code"])
            if isinstance(old, int | float) and old > 0 and item.get("inventory") == 0:
                found.append({"product_id": change.product_id, "sku_code": item["sku_code"], "old": old, "new": 0})
    return found


def evaluate(desired: Mapping[int, dict[str, Any]], current: Mapping[int, dict[str, Any] | None],
             changes: Sequence[Any], baseline: Iterable[int] | None, config: ExportGuardConfig) -> GuardResult:
    """The guard's checks of a plan: ``desired`` the export's products, ``current`` the store's state the plan was
    diffed against, ``changes`` the planned changes (with their ``previous`` values), ``baseline`` the previous
    export's product ids (None: no previous export)."""
    priced, in_stock = _known_skus(desired, current)
    prices = _price_moves(changes)
    big = [m for m in prices if m["percent"] is not None and abs(m["percent"]) > config.price_move_percent]
    largest = max((abs(m["percent"]) for m in prices if m["percent"] is not None), default=0.0)
    zeroed = _zero_stock(changes)
    before = set(baseline or ())
    dropped = sorted(before - set(desired))
    checks = [
        _check("changed_prices", len(prices), priced, config.changed_prices_percent),
        {**_check("price_move", len(big), len(prices), config.price_move_percent, largest),
         "tripped": bool(big)},
        _check("zero_stock", len(zeroed), in_stock, config.zero_stock_percent),
        _check("dropped_products", len(dropped), len(before), config.dropped_products_percent),
    ]
    ranked = sorted((m for m in prices if m["percent"] is not None), key=lambda m: -abs(m["percent"]))
    moves = {"prices": ranked[:LARGEST], "zero_stock": zeroed[:LARGEST], "dropped_products": dropped[:LARGEST]}
    return GuardResult(checks=checks, moves=moves, enabled=config.enabled)
