"""Each urgent mode's change set, stored like the daily plan's (``ledger.changes.store_plan``).

Every mode works out the *desired* state of the products it touches and lets :func:`aeops.catalog.diff.diff_product`
compute the minimal writes (and their ``previous`` values, which is what makes a price override revertible).
The marketplace's current state comes from :func:`current_state`: a handful of products are read one by one;
a store-wide set is listed page by page (4 pages at a time, while the aeops DB is read) and only products
modified since aeops last saw them are re-read (the daily plan's approach), the confirmed state in the aeops
DB standing for the rest.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aeops.catalog.diff import PlannedChange, apply_change, diff_product
from aeops.catalog.drift import drifted
from aeops.catalog.model import desired_from_rows, from_marketplace
from aeops.catalog.timestamps import parse_gmt
from aeops.catalog.validation import validate_export
from aeops.exports import newest_export, read_export
from aeops.locations import LocationError, confine
from aeops.marketplace import ApiError
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.listing import LIST_PAGE_SIZE, list_concurrently
from aeops.secrets import get_logger
from aeops.store.status import APPLIED
from aeops.urgent.pricing import NewPrice, PriceError, apply_absolute, apply_percent, read_price_file
from aeops.urgent.request import RequestError, UrgentRequest

log = get_logger(__name__)

DAILY_DAG_ID = "aliexpress_catalog_sync"
URGENT_DAG_ID = "aliexpress_urgent_rerun"
DIRECT_READ_MAX = 100  # up to this many products are read one by one; more: list the store
MAX_SKIPPED_SHOWN = 50


@dataclass
class PlanOutcome:
    """What a mode decided: the changes, how many products it looked at, and what it left out and why."""

    changes: list[PlannedChange]
    targets: int
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"what": SKU or product, "why": ...}
    counts: dict[str, int] = field(default_factory=dict)
    source_run_id: int | None = None

    def skip(self, what: object, why: str) -> None:
        """Count one skipped item and keep why (the first few are shown in the report)."""
        self.counts["skipped"] = self.counts.get("skipped", 0) + 1
        if len(self.skipped) < MAX_SKIPPED_SHOWN:
            self.skipped.append({"what": str(what), "why": why})


# ------------------------------------------------------------------------------------- current state
def current_state(ctx, client: MarketplaceClient, product_ids: set[int] | None) -> dict[int, dict[str, Any] | None]:
    """The marketplace's products (canonical fields; None: not in the store). ``None`` ids: the whole store."""
    if product_ids is not None and len(product_ids) <= DIRECT_READ_MAX:
        return _read_each(ctx, client, sorted(product_ids))
    return _read_listed(ctx, client, product_ids)


def _read_each(ctx, client: MarketplaceClient, product_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    known = ctx.ledger.products.known(ctx.store.name)
    current: dict[int, dict[str, Any] | None] = {}
    seen = {}
    for pid in product_ids:
        try:
            product = client.get_product(pid)
        except ApiError as exc:
            log.info("%s: product %s not readable (%s): treated as not on the marketplace", ctx.store.name, pid,
                     exc.code)
            current[pid] = None
            continue
        fields = from_marketplace(product, known.get(pid))
        current[pid] = fields
        seen[pid] = (fields, parse_gmt(product.gmt_modified, ctx.store.platform_tz))
    if seen:
        ctx.ledger.products.save_seen(ctx.store.name, seen)
    return current


def _read_listed(ctx, client: MarketplaceClient, product_ids: set[int] | None) -> dict[int, dict[str, Any] | None]:
    with ThreadPoolExecutor(1) as background:  # the aeops DB is read while the list pages come in
        loading = background.submit(ctx.ledger.products.known, ctx.store.name)
        listed = {p.product_id: p.gmt_modified for p in list_concurrently(client, page_size=LIST_PAGE_SIZE)}
        known = loading.result()
    wanted = set(listed) if product_ids is None else set(product_ids)
    tz = ctx.store.platform_tz
    to_read = sorted(pid for pid in wanted if pid in listed and drifted(known.get(pid), listed[pid], tz))
    log.info("%s: %d products listed, %d wanted, %d re-read (new or modified since aeops saw them)",
             ctx.store.name, len(listed), len(wanted), len(to_read))
    seen = {}
    for pid in to_read:
        seen[pid] = (from_marketplace(client.get_product(pid), known.get(pid)), parse_gmt(listed[pid], tz))
    if seen:
        ctx.ledger.products.save_seen(ctx.store.name, seen)
    current: dict[int, dict[str, Any] | None] = {}
    for pid in sorted(wanted):
        if pid in seen:
            current[pid] = seen[pid][0]
        elif pid in listed and pid in known:
            current[pid] = known[pid].fields
        else:
            current[pid] = None
    return current


def _copy(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "skus": {code: dict(v) for code, v in fields.get("skus", {}).items()}}


# --------------------------------------------------------------------------------------- retry_failed
def plan_retry(ctx, client: MarketplaceClient, request: UrgentRequest) -> PlanOutcome:
    """Everything of a run that failed or is not known good, made true again where it still is not."""
    store = ctx.store.name
    if request.run_id:
        source = ctx.ledger.runs.find(store, request.run_id)
        if source is None:
            raise RequestError(f"no run {request.run_id!r} for store {store}; recent runs: {_recent(ctx, store)}")
    else:
        runs = ctx.ledger.runs.recent(store, DAILY_DAG_ID, limit=1)
        if not runs:
            raise RequestError(f"store {store} has no daily sync run to retry; give run_id")
        source = runs[0]
    candidates = ctx.ledger.changes.retry_candidates(source.id)
    outcome = PlanOutcome([], 0, source_run_id=source.id)
    by_product: dict[int, list[Any]] = defaultdict(list)
    for change in candidates:
        by_product[change.product_id].append(change)
    outcome.targets = len(by_product)
    log.info("%s: run %s (%s) has %d change(s) on %d product(s) to retry", store, source.run_id, source.dag_id,
             len(candidates), len(by_product))
    if not by_product:
        return outcome
    current = current_state(ctx, client, set(by_product))
    for pid, changes in by_product.items():
        have = current.get(pid)
        desired = _copy(have or {"skus": {}})
        for change in sorted(changes, key=lambda c: c.kind):
            desired = apply_change(desired, change.kind, change.payload)
        planned = diff_product(pid, desired, have)
        if not planned:
            outcome.counts["already_applied"] = outcome.counts.get("already_applied", 0) + 1
        outcome.changes.extend(planned)
    return outcome


# ----------------------------------------------------------------------------------------------- skus
def plan_skus(ctx, client: MarketplaceClient, request: UrgentRequest, sync_run_id: int) -> PlanOutcome:
    """The listed SKUs' price, discount and stock as the newest export has them (rows with errors stay out)."""

    store = ctx.store
    location = newest_export(store.exports)
    if not location:
        raise RequestError(f"store {store.name}: no export (*.csv, *.xlsx) found in {store.exports!r}")
    result = validate_export(location, config=ctx.config, store=store, check_images=False)
    wanted = set(request.skus)
    if not result.checked:
        raise RequestError(f"export {location} cannot be read: "
                           + "; ".join(f.message for f in result.findings if f.code.startswith("FILE-")))
    frame = result.frame
    selected = frame[frame["sku_code"].astype(str).isin(wanted)]
    row_findings = [f for f in result.findings if f.row is not None and f.row in set(selected["row"].astype(int))]
    ctx.ledger.runs.store_findings(sync_run_id, store.name, row_findings)
    blocked: dict[int, list[str]] = defaultdict(list)
    for f in row_findings:
        if f.blocking:
            blocked[int(f.row)].append(f.code)
    outcome = PlanOutcome([], 0)
    found = set(selected["sku_code"].astype(str))
    for code in request.skus:
        if code not in found:
            outcome.skip(code, f"SKU not in the newest export {location}")
    valid_rows = []
    for row in selected.to_dict("records"):
        codes = blocked.get(int(row["row"]))
        if codes:
            outcome.skip(row["sku_code"], f"export row {row['row']} has errors: {', '.join(sorted(set(codes)))}")
        else:
            valid_rows.append(row)
    outcome.counts.update(rows=len(selected), valid_rows=len(valid_rows))
    desired = desired_from_rows(valid_rows)
    outcome.targets = len(desired)
    if not desired:
        return outcome
    current = current_state(ctx, client, set(desired))
    for pid, want in desired.items():
        have = current.get(pid)
        if have is not None:  # SKU fields only: the product's title, template and image stay as they are
            want = {**_copy(have), "skus": {**_copy(have)["skus"], **want["skus"]}}
        outcome.changes.extend(c for c in diff_product(pid, want, have) if c.kind != "edit")
    return outcome


# ------------------------------------------------------------------------------------- price_override
def _sku_index(current: dict[int, dict[str, Any] | None]) -> dict[str, int]:
    index: dict[str, int] = {}
    for pid, fields in current.items():
        for code in (fields or {}).get("skus", {}):
            index.setdefault(code, pid)
    return index


def _export_products(ctx) -> tuple[dict[str, int], dict[int, str]]:
    """From the newest export: SKU code -> product id, and product id -> category (empty when no export)."""

    location = newest_export(ctx.store.exports) if ctx.store.exports else None
    if not location:
        return {}, {}
    data = read_export(location)
    if not data.readable:
        return {}, {}
    skus, categories = {}, {}
    for row in data.frame[["product_id", "sku_code", "category"]].itertuples(index=False):
        pid_text = str(row.product_id).strip()
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        skus.setdefault(str(row.sku_code), pid)
        categories.setdefault(pid, str(row.category or "").strip())
    return skus, categories


def plan_price_override(ctx, client: MarketplaceClient, request: UrgentRequest) -> PlanOutcome:
    """New prices for the chosen SKUs: absolute (file) or a percentage, guarded and rounded to the cent."""
    outcome = PlanOutcome([], 0)
    targets: dict[int, dict[str, Any]] = defaultdict(dict)  # pid -> sku -> file line (absolute) or None
    lines, discount_given = ([], False)
    if request.price_file:
        try:  # only inside the store's price_files or exports folder: never /etc/passwd or the stack's .env
            price_file = confine(request.price_file, {"price_files": ctx.store.price_files,
                                                      "exports": ctx.store.exports}, "price_file")
            lines, discount_given = read_price_file(price_file)
        except (PriceError, LocationError) as exc:
            raise RequestError(str(exc)) from None
        export_skus, _ = _export_products(ctx) if any(line.product_id is None for line in lines) else ({}, {})
        for line in lines:
            pid = line.product_id or export_skus.get(line.sku_code)
            if pid is None:
                outcome.skip(line.sku_code, f"price file line {line.line}: SKU not in the newest export; "
                             "add a product_id column")
                continue
            targets[pid][line.sku_code] = line
        current = current_state(ctx, client, set(targets))
    elif request.scope == "store":
        current = current_state(ctx, client, None)
        for pid, fields in current.items():
            for code in (fields or {}).get("skus", {}):
                targets[pid][code] = None
    elif request.scope == "category":
        _, categories = _export_products(ctx)
        wanted = request.category.casefold() if request.category else ""
        pids = {pid for pid, cat in categories.items() if cat.casefold() == wanted}
        if not pids:
            known = sorted({c for c in categories.values() if c})
            raise RequestError(f"no product of category {request.category!r} in the newest export of "
                               f"{ctx.store.name}; categories: {', '.join(known) or '(none)'}")
        current = current_state(ctx, client, pids)
        for pid in pids:
            for code in (current.get(pid) or {}).get("skus", {}):
                targets[pid][code] = None
    else:  # scope skus
        export_skus, _ = _export_products(ctx)
        for code in request.skus:
            pid = export_skus.get(code)
            if pid is None:
                outcome.skip(code, "SKU not in the newest export")
                continue
            targets[pid][code] = None
        current = current_state(ctx, client, set(targets))
    outcome.targets = len(targets)
    for pid in sorted(targets):
        have = current.get(pid)
        if have is None:
            for code in targets[pid]:
                outcome.skip(code, f"product {pid} is not in the store")
            continue
        want = _copy(have)
        for code, line in targets[pid].items():
            sku = have["skus"].get(code)
            if sku is None:
                outcome.skip(code, f"SKU is not on marketplace product {pid}")
                continue
            try:
                new = (apply_absolute(line.price, line.discount_price, sku.get("discount_price"),
                                      discount_given=discount_given, guards=request.guards) if line is not None
                       else apply_percent(sku.get("price"), sku.get("discount_price"), request.percent,
                                          request.guards))
            except PriceError as exc:
                outcome.skip(code, str(exc))
                continue
            _count(outcome, new)
            want["skus"][code] = {**sku, "price": new.price, "discount_price": new.discount_price}
        outcome.changes.extend(diff_product(pid, want, have))
    return outcome


def _count(outcome: PlanOutcome, new: NewPrice) -> None:
    outcome.counts["priced_skus"] = outcome.counts.get("priced_skus", 0) + 1
    if new.guard:
        key = f"guarded_{new.guard}"
        outcome.counts[key] = outcome.counts.get(key, 0) + 1
    if new.discount_dropped:
        outcome.counts["discount_dropped"] = outcome.counts.get("discount_dropped", 0) + 1


# --------------------------------------------------------------------------------------------- revert


def plan_revert(ctx, client: MarketplaceClient, request: UrgentRequest) -> PlanOutcome:
    """The previous prices of a price override run, for every SKU that still has the override's price."""
    store = ctx.store.name
    source = (ctx.ledger.runs.find(store, request.run_id or "", URGENT_DAG_ID)
              or ctx.ledger.runs.find(store, request.run_id or ""))
    if source is None:
        raise RequestError(f"no run {request.run_id!r} for store {store}; recent urgent runs: "
                           f"{_recent(ctx, store, URGENT_DAG_ID)}")
    changes = [c for c in ctx.ledger.changes.of_run(source.id) if c.kind == "price" and c.status in APPLIED]
    if not changes:
        raise RequestError(f"run {request.run_id} of store {store} applied no price change; nothing to revert")
    outcome = PlanOutcome([], len({c.product_id for c in changes}), source_run_id=source.id)
    current = current_state(ctx, client, {c.product_id for c in changes})
    for change in changes:
        have = current.get(change.product_id)
        if have is None:
            outcome.skip(change.product_id, "product is no longer in the store")
            continue
        previous = {item["sku_code"]: item for item in (change.previous or {}).get("skus", [])}
        want = _copy(have)
        for item in change.payload.get("skus", []):
            code = item["sku_code"]
            now = have["skus"].get(code)
            if now is None:
                outcome.skip(code, f"SKU is no longer on product {change.product_id}")
            elif (now.get("price"), now.get("discount_price")) != (item["price"], item.get("discount_price")):
                outcome.skip(code, f"price changed since the override (now {now.get('price')}); left as it is")
            elif code in previous:
                want["skus"][code] = {**now, "price": previous[code]["price"],
                                      "discount_price": previous[code].get("discount_price")}
                outcome.counts["reverted_skus"] = outcome.counts.get("reverted_skus", 0) + 1
        outcome.changes.extend(diff_product(change.product_id, want, have))
    return outcome


def _recent(ctx, store: str, dag_id: str | None = None) -> str:
    runs = ctx.ledger.runs.recent(store, dag_id)
    return ", ".join(f"{r.run_id} ({r.dag_id}, {r.status})" for r in runs) or "(none)"
