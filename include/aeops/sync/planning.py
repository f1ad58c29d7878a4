"""Plan: diff the export's valid rows against the marketplace and store the minimal change set.

Paged list reads (99 products a call) find products modified on the marketplace after aeops last saw them; only
those, and what earlier runs left failed or unverified, get a per-product info read; the confirmed state in the
aeops DB stands for the rest. A product aeops never saw (a store's first run, or after the aeops DB was lost) gets
no info read either: the list page gives its title, freight template and main image, and its price and stock are
written blind in batches of 20 (the export's values are idempotent; one write call costs a twentieth of one read
per product). Titles and images are compared, never written blind; what the writes confirm is recorded, so the
next run is an ordinary steady state. Main images are
compared by content, never by name: see :mod:`aeops.catalog.main_image_match` (a product without a record of the
image the platform shows has that image fetched and compared by perceptual hash, once).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.diff import SKUS_UNKNOWN, diff_catalog, repush
from aeops.catalog.drift import drifted
from aeops.catalog.holds import active_holds, hold_back
from aeops.catalog.main_image_match import ImageSources, add_source_digests, allowed_hosts, resolve_main_images
from aeops.catalog.model import cell_text, desired_from_rows, from_marketplace
from aeops.catalog.timestamps import parse_gmt, source_times
from aeops.config import AeopsConfig
from aeops.exports import read_export
from aeops.locations import modified_at, resolve
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.listing import LIST_PAGE_SIZE, list_concurrently
from aeops.marketplace.models import Product
from aeops.secrets import get_logger
from aeops.sync.errors import SyncError
from aeops.sync.guard_hold import guard_plan
from aeops.sync.image_flags import review_changed_images

log = get_logger(__name__)

HELD_LISTED = 500  # held SKUs listed in the run's record (the count is always whole)
INFO_READ_THREADS = 8  # parallel product info reads (latency-bound; the per-seller QPS limit still applies)


def plan(store: str, dag_id: str, run_id: str, *, client: MarketplaceClient | None = None,
         config: AeopsConfig | None = None, dry_run: bool = False) -> dict:
    """Diff the export's valid rows against the marketplace and store the minimal change set (a dry run opens no
    task for a person: its image warnings are in its report only)."""
    ctx = context(store, config)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(store, dag_id, run_id)
    client = client or client_for(ctx)
    # the list pages (bound by the seller's QPS) are read while the export and the known state are loaded
    lister = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"list-{store}")
    listing = lister.submit(lambda: {p.product_id: _without_raw(p)
                                     for p in list_concurrently(client, page_size=LIST_PAGE_SIZE)})
    try:
        rows = valid_rows(ctx, sync_run_id)
        desired = desired_from_rows(rows)
        catalog_meta = {int(r["product_id"]): (cell_text(r.get("category")), cell_text(r.get("brand")))
                        for r in reversed(rows)}
        run = ledger.runs.get(sync_run_id)
        source_at = source_times(rows, exported_at(ctx, run), ctx.store.timezone)
        del rows  # a dict per export row: not kept while the list pages and the plan are in memory
        known = ledger.products.known(store)  # plain values, no ORM objects (a store's 10,000 rows)
        pages = listing.result()
    finally:  # an export that fails does not wait for the list
        lister.shutdown(wait=False, cancel_futures=True)
    listed: dict[int, str | None] = {pid: p.gmt_modified for pid, p in pages.items()}
    tz = ctx.store.platform_tz
    # what earlier runs left failed or unverified is retried without a person: read again, written where needed
    retry = ledger.changes.unsettled(store, sync_run_id)
    retry_pids = {pid for pid, _kind in retry}
    # never seen (a store's first run, or the aeops DB lost): the list page's title, freight template and image
    # stand for the product, its price and stock are written blind (no info read per product: see module doc)
    blind = [pid for pid in desired if pid in listed and pid not in known and pid not in retry_pids]
    # products known from before aeops recorded the platform's image URL are read once more
    to_read = [pid for pid in desired if pid in listed and pid not in blind and (
        pid in retry_pids or drifted(known.get(pid), listed[pid], tz)
        or "main_image_url" not in (known[pid].fields or {}))]
    log.info("%s: %d products listed, %d wanted, %d to re-read (modified on the marketplace, or to retry), %d "
             "never seen (price and stock written blind)", store, len(listed), len(desired), len(to_read), len(blind))
    seen: dict[int, tuple[dict[str, Any], datetime | None]] = {
        pid: (from_list_page(pages[pid]), parse_gmt(listed[pid], tz)) for pid in blind}
    # Info reads in parallel: the client's rate limiter (shared by the threads) keeps the seller's QPS.
    with ThreadPoolExecutor(max_workers=INFO_READ_THREADS) as pool:
        for pid, product in zip(to_read, pool.map(client.get_product, to_read), strict=True):
            seen[pid] = (from_marketplace(product, known.get(pid)), parse_gmt(listed[pid], tz))
    current: dict[int, dict[str, Any] | None] = {}
    for pid in desired:
        if pid in seen:
            current[pid] = seen[pid][0]
        elif pid in listed and pid in known:
            current[pid] = dict(known[pid].fields)
        else:
            current[pid] = None
    sources = ImageSources(ctx.store.images_dir or None, dict((run.artifacts or {}).get("staged_images") or {}),
                           list(ctx.config.image_url_hosts))
    add_source_digests(desired, sources)
    images = resolve_main_images(desired, current, sources, allowed_hosts(getattr(client, "base_url", None)))
    for pid in images["matched"]:  # recorded like a push: the next run needs no fetch
        seen[pid] = (current[pid], seen[pid][1] if pid in seen else known[pid].marketplace_modified_at)
    if seen:
        ledger.products.save_seen(store, seen)
    ledger.products.record_catalog_meta(store, catalog_meta)
    for pid in images["unchecked"]:  # no image edit on a guess (each one costs a review): reported, kept
        log.warning("%s: product %s: main image not compared (an image could not be read); no image edit this run",
                    store, pid)
        current[pid] = {**current[pid], "main_image_sha256": desired[pid].get("main_image_sha256")}
    changes = diff_catalog(desired, current)
    changes += _retries(store, retry, desired, current, {(c.product_id, c.kind) for c in changes})
    # urgent price overrides hold: their SKUs' prices are left alone until reverted or until their end
    changes, held = hold_back(changes, active_holds(ledger, store, ctx.store.timezone))
    if held:
        log.info("%s: %d SKU price(s) held by urgent override run(s) %s: left alone", store, len(held),
                 ", ".join(sorted({h["run_id"] for h in held})))
        ledger.runs.update(sync_run_id, artifacts={"held": held[:HELD_LISTED]})
    counts = ledger.changes.store_plan(sync_run_id, store, changes, source_at=source_at)
    # the export guard: a plan that looks like a broken export waits for a person before anything is pushed
    guard_plan(ctx, sync_run_id, desired, current, changes, dry_run=dry_run)
    reviewed = review_changed_images(ctx, sync_run_id, run_id, desired, changes,
                                     {pid: meta[0] for pid, meta in catalog_meta.items()}, dry_run=dry_run)
    ledger.runs.update(sync_run_id, counts={"planned_" + k: v for k, v in counts.items()}
                       | {"info_reads": len(to_read), "held_skus": len(held),
                         "retried_products": len(retry_pids & set(desired)),
                         "changed_products": len({c.product_id for c in changes}),
                         "blind_products": len(blind), "main_images_matched": len(images["matched"]),
                         "main_images_unchecked": len(images["unchecked"])}
                       | reviewed)
    log.info("%s: change set %s", store, counts or "empty (nothing to write)")
    return counts


def _without_raw(product: Any) -> Any:
    """A listed product without the list page's raw answer (nothing here reads it; a store's pages are ~10,000)."""
    return replace(product, raw={}) if isinstance(product, Product) and product.raw else product


def from_list_page(product: Any) -> dict[str, Any]:
    """A product as a list page shows it: title, freight template, main image URL; SKUs only if the page carried
    them (the real list call does not: then :data:`~aeops.catalog.diff.SKUS_UNKNOWN` marks them unread)."""
    fields = from_marketplace(product)
    return fields if fields["skus"] else {**fields, SKUS_UNKNOWN: True}


def _retries(store: str, retry: dict, desired: dict[int, dict[str, Any]], current: dict[int, dict[str, Any] | None],
             planned: set[tuple[int, str]]) -> list:
    """Earlier runs' changes that failed or stayed unverified: the re-read diff already plans what still differs; a
    change the marketplace shows applied but the storefront never confirmed is written again, so this run verifies
    it (never an image: see :func:`aeops.catalog.diff.repush`)."""
    again = []
    for (pid, kind), change in sorted(retry.items()):
        if (pid, kind) in planned or pid not in desired or current.get(pid) is None:
            continue
        if change.status == "failed":  # the re-read shows the export's value already there: nothing to retry
            continue
        redo = repush(pid, kind, desired[pid], current[pid])
        if redo is not None:
            again.append(redo)
    if retry:
        log.info("%s: %d change(s) earlier runs left failed or unverified: %d written again unchanged, the rest "
                 "re-read and planned where the marketplace still differs", store, len(retry), len(again))
    return again


def exported_at(ctx: RunContext, run: Any) -> datetime | None:
    """The export's own time: its file's modification time (None when the file system keeps none)."""
    export = ctx.ledger.runs.export(run.export_id) if run.export_id else None
    try:
        return modified_at(resolve(export.path)) if export is not None else None
    except Exception as exc:  # noqa: BLE001 - an unreachable file: the run's start stands for it
        log.warning("%s: export time unknown (%s: %s)", ctx.store.name, type(exc).__name__, exc)
        return None


def valid_rows(ctx: RunContext, sync_run_id: int) -> list[dict[str, Any]]:
    """The export's rows that no blocking finding of this run points at (re-read; never via XCom)."""
    ledger = ctx.ledger
    run = ledger.runs.get(sync_run_id)
    export = ledger.runs.export(run.export_id) if run.export_id else None
    if export is None:
        raise SyncError(f"{ctx.store.name}: no export recorded for run {sync_run_id}; re-run pull_export")
    blocked = ledger.runs.blocked_rows(sync_run_id)
    data = read_export(export.path)
    if data.sha256 != export.sha256:
        raise SyncError(f"{ctx.store.name}: export {export.path} changed since it was validated; re-run the sync")
    return data.records(without_rows=blocked)
