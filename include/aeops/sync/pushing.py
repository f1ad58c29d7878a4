"""Push: every store's open changes cut into chunks, each chunk sent under the store's write lock."""

from __future__ import annotations

from typing import Any

from aeops.catalog import lock
from aeops.catalog.batching import CHUNK_BATCHES, chunks
from aeops.catalog.context import client_for, context
from aeops.catalog.diff import KINDS
from aeops.catalog.holds import active_holds
from aeops.catalog.push import push_batch
from aeops.config import AeopsConfig, load_airflow_config
from aeops.marketplace.interface import MarketplaceClient
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.sync.errors import SyncError

log = get_logger(__name__)


def collect_chunks(dag_id: str, run_id: str, *, dry_run: bool = False, config: AeopsConfig | None = None,
                   chunk_batches: int = CHUNK_BATCHES) -> list[dict[str, Any]]:
    """Every store's open changes as push chunks (each up to ``chunk_batches`` calls of 20 products)."""
    if dry_run:
        log.info("dry run: nothing is pushed")
        return []
    cfg = config or load_airflow_config()
    ledger = Ledger(cfg.resolved_database_url())
    stores = {r.id: r.store for r in ledger.runs.of_dag_run(dag_id, run_id)}
    held = ledger.guards.holding(stores)  # the export guard holds these: pushed by their push_held, if approved
    if held:
        log.warning("held by the export guard (waiting for a person): %s", ", ".join(stores[r] for r in sorted(held)))
    found: list[dict[str, Any]] = []
    for (sync_run_id, kind), ids in ledger.changes.open_ids(set(stores) - held).items():
        if kind in KINDS:
            found += chunks(stores[sync_run_id], sync_run_id, kind, ids, chunk_batches)
    log.info("%d push chunk(s): %s", len(found), ", ".join(f"{c['store']}/{c['kind']}x{len(c['batches'])}"
                                                           for c in found) or "nothing to push")
    return found


def push_held(store: str, dag_id: str, run_id: str, *, client: MarketplaceClient | None = None,
              config: AeopsConfig | None = None, task: str | None = None,
              max_wait_s: float = 1800.0) -> dict[str, Any] | None:
    """Push a store's export the export guard held, once a person approved it (every open change of the store's run,
    chunk by chunk under its write lock, as :func:`push_chunk`). ``{"skipped": why}`` when there is nothing to push
    (not held, a dry run, rejected or not answered); None while the lock is busy (the caller pokes again; what was
    sent is not sent twice)."""
    ctx = context(store, config)
    run = ctx.ledger.runs.find(store, run_id, dag_id)
    guard = ctx.ledger.guards.of_run(run.id) if run is not None else None
    if guard is None or not guard.held or guard.dry_run:
        return {"skipped": "not held"}
    if guard.decision != "approved":
        return {"skipped": guard.decision or "not decided"}
    totals: dict[str, Any] = {}
    for (sync_run_id, kind), ids in ctx.ledger.changes.open_ids([run.id]).items():
        if kind not in KINDS:
            continue
        for chunk in chunks(store, sync_run_id, kind, ids, CHUNK_BATCHES):
            pushed = push_chunk(chunk, client=client, config=config, task=task, max_wait_s=max_wait_s)
            if pushed is None:
                return None
            for key, value in pushed.items():
                totals[key] = totals.get(key, 0) + value
    log.info("%s: the approved export was pushed: %s", store, totals or "nothing left to push")
    return totals


def push_chunk(chunk: dict[str, Any], *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None,
               task: str | None = None, max_wait_s: float = 1800.0) -> dict[str, int] | None:
    """Send one chunk of batches while holding the store's write lock (an urgent re-run of the same store
    goes first; two runs never write one store at once, see :mod:`aeops.catalog.lock`).

    None when the lock is busy: nothing was sent and the caller (a reschedule-mode sensor) pokes again later
    without holding a worker slot; ``task`` names the waiter in ``aeops lock show``. StoreBusy after
    ``max_wait_s`` of waiting. The lock's lease is :data:`aeops.catalog.lock.DEFAULT_TTL_S`, renewed while the chunk
    is sent."""
    ctx = context(chunk["store"], config)
    holder = lock.run_holder(chunk["sync_run_id"])
    waiter = task or f"push {chunk['store']} {chunk['kind']} chunk of run {chunk['sync_run_id']}"
    if not lock.poke(ctx.ledger, chunk["store"], holder, task=waiter, max_wait_s=max_wait_s):
        return None
    totals: dict[str, int] = {}
    try:
        with lock.held_lock(ctx.ledger, chunk["store"], holder) as hold:
            if chunk["kind"] == "price" and ctx.ledger.runs.get(chunk["sync_run_id"]).kind == "daily":
                # an urgent override may have come since the daily plan: its SKUs are held (an urgent run's own
                # push is the override, or its revert)
                recheck_holds(ctx, [cid for batch in chunk["batches"] for cid in batch])
            client = client or client_for(ctx)
            for n, change_ids in enumerate(chunk["batches"], 1):  # pragma: no mutate - n only numbers the log line
                hold.check()  # a renewal found the lock lost: stop before this batch
                result = push_batch(ctx.ledger, client, chunk["sync_run_id"], chunk["kind"], change_ids,
                                    images_dir=ctx.store.images_dir or None, fence=hold.token)
                for key, value in result.items():
                    totals[key] = totals.get(key, 0) + value
                log.info("%s %s batch %d/%d: %s", chunk["store"], chunk["kind"], n, len(chunk["batches"]), result)
    except lock.LockLost as exc:  # a stalled push whose store another run took: nothing more is sent
        log.error("%s", exc)
        raise SyncError(lock.lost_message(exc, ctx.store.language)) from None
    return totals


def recheck_holds(ctx, change_ids: list[int]) -> int:
    """Drop from these planned price changes the SKUs an urgent override holds now (a daily push planned before
    the override); returns how many SKU prices were held back."""
    holds = active_holds(ctx.ledger, ctx.store.name, ctx.store.timezone)
    if not holds:
        return 0
    kept: dict[int, list[dict[str, Any]]] = {}
    dropped = 0
    for change in ctx.ledger.changes.load(change_ids):
        if change.status != ChangeStatus.PLANNED:
            continue
        items = change.payload["skus"]
        free = [i for i in items if (change.product_id, str(i["sku_code"])) not in holds]
        if len(free) != len(items):
            kept[change.id] = free
            dropped += len(items) - len(free)
    if kept:
        ctx.ledger.changes.drop_skus(kept, "HELD-BY-OVERRIDE", "an urgent price override holds this SKU's price "
                                     "(until it is reverted or ends); the daily sync leaves it alone")
        log.info("%s: %d SKU price(s) dropped from this push: an urgent override holds them", ctx.store.name, dropped)
    return dropped
