"""Urgent price overrides hold against the daily sync: until reverted, or until the override's ``hold_until``.

An urgent ``price_override`` run sets prices the export does not have (a Black Friday discount); the next daily
sync would otherwise put the export's prices straight back. :func:`active_holds` reads the store's urgent runs
(oldest first) and gives every SKU whose price an override applied and that is still held: a later override of
the same SKU replaces the hold, a revert run of the override (``run_id`` = the override's Airflow run id) or its
``hold_until`` passing ends it. The daily plan leaves held SKUs' prices alone (:func:`hold_back`), and a daily
push planned before an override checks again before it sends (``aeops.sync.pushing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aeops.catalog.diff import PlannedChange
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.status import APPLIED

log = get_logger(__name__)

URGENT_DAG_ID = "aliexpress_urgent_rerun"
RECENT_URGENT_RUNS = 200  # the urgent runs looked at (an override older than this many runs no longer holds)


@dataclass(frozen=True)
class Hold:
    """A SKU's price held by an urgent override run (``until`` None: until reverted)."""

    run_id: str
    price: str | None
    discount_price: str | None
    until: datetime | None


def parse_until(value: Any, timezone: str) -> datetime | None:
    """``hold_until`` (ISO 8601; without an offset it is the store's time) as an aware time; None when empty.
    ValueError for anything else."""
    if value in (None, ""):
        return None
    when = datetime.fromisoformat(str(value).strip())
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(timezone))


def active_holds(ledger: Ledger, store: str, timezone: str, now: datetime | None = None
                 ) -> dict[tuple[int, str], Hold]:
    """(product id, SKU code) -> its hold, for every SKU an urgent override holds now."""
    at = now or datetime.now(UTC)
    holds: dict[tuple[int, str], Hold] = {}
    for run in reversed(ledger.runs.recent(store, URGENT_DAG_ID, limit=RECENT_URGENT_RUNS)):
        request = (run.artifacts or {}).get("request") or {}
        if request.get("dry_run") or run.status in ("rejected", None):
            continue
        if request.get("mode") == "revert" and run.status in ("success", "partial"):
            holds = {key: hold for key, hold in holds.items() if hold.run_id != request.get("run_id")}
            continue
        if request.get("mode") != "price_override":
            continue
        try:
            until = parse_until(request.get("hold_until"), timezone)
        except ValueError:
            until = None  # parse_request refused bad values; an older record without it holds until reverted
        for change in ledger.changes.of_run(run.id):
            if change.kind != "price" or change.status not in APPLIED:
                continue
            for item in (change.payload or {}).get("skus", []):
                key = (change.product_id, str(item["sku_code"]))
                if until is not None and until <= at:
                    holds.pop(key, None)  # this override replaced earlier ones, and its own hold has ended
                else:
                    holds[key] = Hold(run.run_id, item.get("price"), item.get("discount_price"), until)
    return holds


def hold_back(changes: list[PlannedChange], holds: dict[tuple[int, str], Hold]
              ) -> tuple[list[PlannedChange], list[dict[str, Any]]]:
    """The change set without the held SKUs' price writes (a price change left with no SKU is dropped), and what
    was held back (product, SKU, the override run, until when)."""
    if not holds:
        return changes, []
    kept: list[PlannedChange] = []
    held: list[dict[str, Any]] = []
    for change in changes:
        if change.kind != "price":
            kept.append(change)
            continue
        items = []
        for item in change.payload.get("skus", []):
            hold = holds.get((change.product_id, str(item["sku_code"])))
            if hold is None:
                items.append(item)
            else:
                held.append({"product_id": change.product_id, "sku_code": item["sku_code"], "run_id": hold.run_id,
                             "until": hold.until.isoformat() if hold.until else None})
        if items:
            codes = {i["sku_code"] for i in items}
            previous = [p for p in (change.previous or {}).get("skus", []) if p.get("sku_code") in codes]
            kept.append(PlannedChange(change.product_id, "price", {**change.payload, "skus": items},
                                      {**(change.previous or {}), "skus": previous}))
    return kept, held
