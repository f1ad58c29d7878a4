"""Take the store's newest export: record its path, size and sha256; skip one already synced unless forced."""

from __future__ import annotations

from typing import Any

from aeops.catalog.context import context
from aeops.config import AeopsConfig
from aeops.exports import newest_export, read_export
from aeops.secrets import get_logger
from aeops.sync.errors import SkipStore, SyncError

log = get_logger(__name__)


def pull_export(store: str, dag_id: str, run_id: str, *, force: bool = False, export: str | None = None,
                config: AeopsConfig | None = None) -> dict[str, Any]:
    """Find the newest export, record its path, size and sha256; skip one already synced unless forced."""
    ctx = context(store, config)
    ledger = ctx.ledger
    sync_run_id = ledger.start_run(store, dag_id, run_id)
    location = export or newest_export(ctx.store.exports)
    if not location:
        raise SyncError(f"{store}: no export (*.csv, *.xlsx) found in {ctx.store.exports!r}")
    data = read_export(location)
    export_id, synced = ledger.record_export(store, str(data.path), data.size, data.sha256, sync_run_id)
    log.info("%s: export %s (%d bytes, sha256 %s)", store, data.path, data.size, data.sha256[:12])
    if synced and not force:
        ledger.update_run(sync_run_id, status="skipped",
                          message=f"export {data.path} (sha256 {data.sha256[:12]}) was already synced; "
                          "trigger with force=true to sync it again")
        raise SkipStore(f"{store}: export {data.path} was already synced successfully; nothing to do (force=true "
                        "syncs it again)")
    ledger.update_run(sync_run_id, status="running", message=None)
    return {"sync_run_id": sync_run_id, "export_id": export_id, "path": str(data.path)}
