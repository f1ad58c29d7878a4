"""Take the store's newest whole export: wait (without a worker slot) until it is settled, record its path, size
and sha256; skip one already synced unless forced."""

from __future__ import annotations

from typing import Any

from aeops.catalog.context import context
from aeops.catalog.holds import active_holds
from aeops.config import AeopsConfig
from aeops.exports.settle import readiness
from aeops.locations import LocationError, confine
from aeops.secrets import get_logger
from aeops.sync.errors import SkipStore, SyncError

log = get_logger(__name__)


def pull_export(store: str, dag_id: str, run_id: str, *, force: bool = False, export: str | None = None,
                config: AeopsConfig | None = None) -> dict[str, Any]:
    """Take the export ``wait_for_export`` settled (else the newest, if settled), record its path, size and sha256;
    skip one already synced unless forced, or unless earlier runs left changes failed or unverified (retried
    without a person) or an urgent hold the last run respected has ended."""
    ctx = context(store, config)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(store, dag_id, run_id)
    if export:  # the Param: only a file inside the store's exports folder is read
        try:
            export = confine(export, {"exports": ctx.store.exports}, "export")
        except LocationError as exc:
            raise SyncError(f"{store}: {exc}") from None
    location = export or ((ledger.runs.get(sync_run_id).artifacts or {}).get("settled_export"))
    if not location:
        ready = readiness(ctx.store.exports, settle_seconds=ctx.store.export_settle_seconds,
                          markers=ctx.store.export_markers)
        if not ready.ready:  # called without the waiting sensor (bench, tests): never take a file being written
            raise SyncError(f"{store}: export {ready.location} is not whole yet: {ready.reason}")
        location = ready.location
    if not location:
        raise SyncError(f"{store}: no export (*.csv, *.xlsx) found in {ctx.store.exports!r}")
    from aeops.exports import read_export  # lazy: the sensor's pokes never load the DataFrame libraries

    data = read_export(location)
    export_id, synced = ledger.runs.record_export(store, str(data.path), data.size, data.sha256, sync_run_id)
    log.info("%s: export %s (%d bytes, sha256 %s)", store, data.path, data.size, data.sha256[:12])
    if synced and not force:
        # an unchanged export is synced again while earlier runs left failures (retried without a person), or when
        # an urgent override's hold the last run respected has ended (the export's prices go back)
        if retry := ledger.changes.unsettled(store, sync_run_id):
            log.info("%s: export %s was already synced, but %d product(s) failed or stayed unverified in earlier runs: this run retries them", store, data.path, len({pid for pid, _kind in retry}))  # noqa: E501 - one line: logs are not mutated
        elif released := holds_released(ctx, dag_id, sync_run_id):
            log.info("%s: export %s was already synced, but an urgent override no longer holds %d SKU price(s) the last run left alone: this run syncs them", store, data.path, released)  # noqa: E501 - one line: logs are not mutated
        else:
            ledger.runs.update(sync_run_id, status="skipped",
                               message=f"export {data.path} (sha256 {data.sha256[:12]}) was already synced; "
                               "trigger with force=true to sync it again")
            raise SkipStore(f"{store}: export {data.path} was already synced successfully; nothing to do "
                            "(force=true syncs it again)")
    ledger.runs.update(sync_run_id, status="running", message=None)
    return {"sync_run_id": sync_run_id, "export_id": export_id, "path": str(data.path)}


def export_settled(store: str, dag_id: str, run_id: str, *, export: str | None = None,
                   config: AeopsConfig | None = None) -> bool:
    """One poke of the daily sync's wait for a whole export: True once the newest export (or ``export``) is
    settled (see :mod:`aeops.exports.settle`), recording which file the run takes; False, with a log line and the
    reason in the run's record, while the ERP may still be writing it."""
    ctx = context(store, config)
    try:
        if export:
            export = confine(export, {"exports": ctx.store.exports}, "export")
        ready = readiness(ctx.store.exports, settle_seconds=ctx.store.export_settle_seconds,
                          markers=ctx.store.export_markers, export=export)
    except LocationError:
        return True  # nothing to wait for: pull_export reports the unusable folder (its task fails, naming it)
    sync_run_id = ctx.ledger.runs.start(store, dag_id, run_id)
    if not ready.ready:
        message = f"export {ready.location} not taken yet: {ready.reason}"
        log.info("%s: %s; checking again later (no worker slot held while waiting)", store, message)
        waits = int((ctx.ledger.runs.get(sync_run_id).counts or {}).get("export_waits", 0)) + 1
        ctx.ledger.runs.update(sync_run_id, message=message, counts={"export_waits": waits})
        return False
    if ready.location:
        log.info("%s: export %s is whole; taking it", store, ready.location)
        ctx.ledger.runs.update(sync_run_id, message=None, artifacts={"settled_export": ready.location})
    return True


def holds_released(ctx, dag_id: str, sync_run_id: int) -> int:
    """SKU prices the store's last daily run left alone for an urgent override that no longer holds them
    (reverted, or past its ``hold_until``)."""
    last = ctx.ledger.runs.last_that_ran(ctx.store.name, dag_id, other_than=sync_run_id)
    held = ((last.artifacts or {}).get("held") or []) if last is not None else []
    if not held:
        return 0
    holds = active_holds(ctx.ledger, ctx.store.name, ctx.store.timezone)
    return sum((int(h["product_id"]), str(h["sku_code"])) not in holds for h in held)
