"""Validate the store's export: every rule, the findings stored, safe image fixes; a run with no valid row fails."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.validation import validate_export
from aeops.certificates.registry import registry_certificates
from aeops.config import AeopsConfig
from aeops.marketplace.interface import MarketplaceClient
from aeops.rules.images import auto_fixed
from aeops.secrets import get_logger
from aeops.sync.errors import SyncError
from aeops.sync.staged_images import stage_fixed_images

log = get_logger(__name__)


def validate(store: str, dag_id: str, run_id: str, *, client: MarketplaceClient | None = None,
             config: AeopsConfig | None = None) -> dict:
    """Run every rule and store the findings; flatten transparent images onto white into staged copies (uploaded
    at push time, only if the product's main image changes) and let their rows through; a run with no valid
    row fails."""
    ctx = context(store, config)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(store, dag_id, run_id)
    run = ledger.runs.get(sync_run_id)
    export_path = export_path_of(ctx, run.export_id)
    client = client or client_for(ctx)
    templates = {str(t.template_id) for t in client.list_freight_templates()}
    as_of = ctx.today()
    result = validate_export(
        export_path, config=ctx.config, store=ctx.store, images_dir=ctx.store.images_dir or None,
        certs_dir=ctx.store.certs or None, as_of=as_of, known_freight_templates=templates,
        registered_certificates=_registered_certificates(ctx, as_of),
    )
    if not result.checked:
        ledger.runs.store_findings(sync_run_id, store, result.findings)
        raise SyncError(f"{store}: export {export_path} cannot be checked: "
                        + "; ".join(f.message for f in result.findings if f.code.startswith("FILE-")))
    image_of_row = dict(zip(result.frame["row"].astype(int), result.frame["main_image"].astype(str), strict=True))
    staged = stage_fixed_images(ctx, result.findings, image_of_row, (run.artifacts or {}).get("staged_images", {}))
    findings = []
    for f in result.findings:
        source = image_of_row.get(f.row) if f.row is not None else None
        if f.code == "IMG-TRANSPARENT" and source in staged:
            f = auto_fixed(f, Path(staged[source]).name)
        findings.append(f)
    ledger.runs.store_findings(sync_run_id, store, findings)
    valid = _valid_row_numbers(result.frame, findings)
    counts = {"rows": len(result.frame), "valid_rows": len(valid), "blocked_rows": len(result.frame) - len(valid),
              "findings": len(findings), "auto_fixed_images": len(staged)}
    ledger.runs.update(sync_run_id, counts=counts, artifacts={"staged_images": staged})
    log.info("%s: %d rows, %d valid, %d findings, %d image(s) auto-fixed", store, counts["rows"],
             counts["valid_rows"], counts["findings"], len(staged))
    if not valid:
        raise SyncError(f"{store}: no valid row in {export_path}: all {counts['rows']} rows are blocked by "
                        "findings; see the report and fix the export")
    return counts


def export_path_of(ctx: RunContext, export_id: int | None) -> str:
    """The path of the export this run recorded (SyncError when pull_export did not get that far)."""
    export = ctx.ledger.runs.export(export_id) if export_id is not None else None
    if export is None:
        raise SyncError(f"{ctx.store.name}: no export recorded for this run (pull_export did not finish)")
    return export.path


def _registered_certificates(ctx: RunContext, as_of: date) -> list[Any]:
    """The certificate watch's registry for CERT-MISSING (empty until the watch has scanned the store)."""

    return registry_certificates(ctx.db_url, ctx.store.name, as_of)


def _valid_row_numbers(frame, findings) -> set[int]:
    blocked = {f.row for f in findings if f.blocking and f.row is not None}
    return {int(r) for r in frame["row"] if int(r) not in blocked}
