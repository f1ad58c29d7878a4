"""The daily catalog sync's steps, one function per DAG task; state in the aeops DB, never in XCom.

Every function takes the store name and the Airflow run's identity, loads the settings and the database
itself, and may be re-run: each step re-reads what earlier attempts recorded and only does what is left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.store import ensure_schema
from aeops.sync import ledger
from aeops.sync.diff import KINDS, diff_catalog
from aeops.sync.model import money

log = logging.getLogger(__name__)

CHUNK_BATCHES = 10  # platform batches (20 products each) one push_chunk task sends
LIST_PAGE_SIZE = 99  # the list API's page size "must be less than 100"
INFO_READ_THREADS = 8  # parallel product info reads (latency-bound; the per-seller QPS limit still applies)


class SyncError(RuntimeError):
    """A store's sync cannot go on; the message says why and what to do."""


class SkipStore(Exception):
    """Nothing to do for this store in this run (e.g. the export was already synced)."""


@dataclass(frozen=True)
class Context:
    config: AeopsConfig
    store: StoreConfig
    db_url: str


_SCHEMA_READY: set[str] = set()


def context(store: str, config: AeopsConfig | None = None) -> Context:
    cfg = config or load_airflow_config()
    url = cfg.resolved_database_url()
    if url not in _SCHEMA_READY:
        ensure_schema(url)
        _SCHEMA_READY.add(url)
    return Context(cfg, cfg.store(store), url)


def client_for(store: StoreConfig, **overrides: Any):
    """A marketplace client for the store's connection (secrets registered with Airflow's masker)."""
    from aeops.marketplace.hooks import AliExpressHook

    return AliExpressHook(store.conn_id).get_client(qps=store.qps, **overrides)


def today_in(store: StoreConfig) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(store.timezone)).date()


# ----------------------------------------------------------------------------------------------- steps
def list_stores(only: list[str] | None, config: AeopsConfig | None = None) -> list[str]:
    cfg = config or load_airflow_config()
    names = [s.name for s in cfg.stores]
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SyncError(f"unknown store(s) {', '.join(unknown)}; configured: {', '.join(names)}")
        names = [n for n in names if n in only]
    log.info("stores in this run: %s", ", ".join(names))
    return names


def preflight(store: str, *, client=None, config: AeopsConfig | None = None) -> dict[str, Any]:
    """Connection works, token not about to expire (refreshed when due), account in normal standing."""
    from aeops.marketplace import AuthError
    from aeops.store.models import TokenState

    ctx = context(store, config)
    client = client or client_for(ctx.store)
    conn_id = ctx.store.conn_id
    from aeops.store import session_scope

    with session_scope(ctx.db_url) as s:
        token = s.get(TokenState, conn_id)
        if token is not None:  # a refreshed token is newer than the connection's
            client.access_token, client.refresh_token = token.access_token, token.refresh_token
            expires_at = token.expires_at
        else:
            expires_at = None
    due = expires_at is not None and expires_at.replace(tzinfo=expires_at.tzinfo or UTC) <= (
        datetime.now(UTC) + timedelta(days=ctx.store.token_refresh_days))
    if due:
        log.info("%s: access token expires %s, within %d days: refreshing", store, expires_at,
                 ctx.store.token_refresh_days)
        refresh_token(ctx, client)
    try:
        standing = client.account_standing()
    except AuthError as exc:
        raise SyncError(f"{store}: the marketplace rejected the credentials of connection {conn_id!r} "
                        f"({exc.code}); re-authorise the app for this seller and update the connection") from None
    if not standing.ok:
        raise SyncError(f"{store}: seller account is {standing.status!r}, not in normal standing; "
                        "updates are refused until the account is restored")
    log.info("%s: preflight ok (seller %s, account %s)", store, standing.seller_id, standing.status)
    return {"seller_id": standing.seller_id, "status": standing.status}


def refresh_token(ctx: Context, client) -> None:
    """Refresh the access token and keep the newest tokens in the aeops DB (the connection stays as set up)."""
    from aeops.store import session_scope
    from aeops.store.models import TokenState

    info = client.refresh_access_token()
    expires = (datetime.fromtimestamp(info.expire_time_ms / 1000, UTC) if info.expire_time_ms
               else datetime.now(UTC) + timedelta(days=30))
    refresh_expires = (datetime.fromtimestamp(info.refresh_token_valid_time_ms / 1000, UTC)
                       if info.refresh_token_valid_time_ms else None)
    with session_scope(ctx.db_url) as s:
        state = s.get(TokenState, ctx.store.conn_id) or TokenState(conn_id=ctx.store.conn_id)
        state.access_token, state.refresh_token = info.access_token, info.refresh_token or client.refresh_token
        state.expires_at, state.refresh_expires_at = expires, refresh_expires
        s.add(state)
    log.info("%s: token refreshed, valid until %s", ctx.store.name, expires)


def pull_export(store: str, dag_id: str, run_id: str, *, force: bool = False, export: str | None = None,
                config: AeopsConfig | None = None) -> dict[str, Any]:
    """Find the newest export, record its path, size and sha256; skip one already synced unless forced."""
    from aeops.exports import newest_export, read_export

    ctx = context(store, config)
    sync_run_id = ledger.start_run(ctx.db_url, store, dag_id, run_id)
    location = export or newest_export(ctx.store.exports)
    if not location:
        raise SyncError(f"{store}: no export (*.csv, *.xlsx) found in {ctx.store.exports!r}")
    data = read_export(location)
    export_id, synced = ledger.record_export(ctx.db_url, store, str(data.path), data.size, data.sha256, sync_run_id)
    log.info("%s: export %s (%d bytes, sha256 %s)", store, data.path, data.size, data.sha256[:12])
    if synced and not force:
        ledger.update_run(ctx.db_url, sync_run_id, status="skipped",
                          message=f"export {data.path} (sha256 {data.sha256[:12]}) was already synced; "
                          "trigger with force=true to sync it again")
        raise SkipStore(f"{store}: export {data.path} was already synced successfully; nothing to do (force=true "
                        "syncs it again)")
    ledger.update_run(ctx.db_url, sync_run_id, status="running", message=None)
    return {"sync_run_id": sync_run_id, "export_id": export_id, "path": str(data.path)}


def validate(store: str, dag_id: str, run_id: str, *, client=None, config: AeopsConfig | None = None) -> dict:
    """Run every rule and store the findings; flatten transparent images onto white, upload the fixed copies
    to the photobank and let their rows through; a run with no valid row fails."""
    from dataclasses import replace

    from aeops.rules.engine import validate_export
    from aeops.rules.findings import Severity

    ctx = context(store, config)
    sync_run_id = ledger.start_run(ctx.db_url, store, dag_id, run_id)
    run = ledger.get_run(ctx.db_url, sync_run_id)
    export_path = _export_path(ctx, run.export_id)
    client = client or client_for(ctx.store)
    templates = {str(t.template_id) for t in client.list_freight_templates()}
    as_of = today_in(ctx.store)
    result = validate_export(
        export_path, config=ctx.config, store=ctx.store, images_dir=ctx.store.images_dir or None,
        certs_dir=ctx.store.certs or None, as_of=as_of, known_freight_templates=templates,
        registered_certificates=_registered_certificates(ctx, as_of),
    )
    if not result.checked:
        ledger.store_findings(ctx.db_url, sync_run_id, store, result.findings)
        raise SyncError(f"{store}: export {export_path} cannot be checked: "
                        + "; ".join(f.message for f in result.findings if f.code.startswith("FILE-")))
    image_of_row = dict(zip(result.frame["row"].astype(int), result.frame["main_image"].astype(str), strict=True))
    uploads = _fix_and_upload_images(ctx, result.findings, image_of_row, client, run.artifacts.get("image_urls", {}))
    findings = []
    for f in result.findings:
        source = image_of_row.get(f.row) if f.row is not None else None
        if f.code == "IMG-TRANSPARENT" and source in uploads:
            f = replace(f, severity=Severity.WARNING,
                        message=f"auto-fixed: flattened onto white and uploaded as {uploads[source]}")
        findings.append(f)
    ledger.store_findings(ctx.db_url, sync_run_id, store, findings)
    valid = _valid_row_numbers(result.frame, findings)
    counts = {"rows": len(result.frame), "valid_rows": len(valid), "blocked_rows": len(result.frame) - len(valid),
              "findings": len(findings), "auto_fixed_images": len(uploads)}
    ledger.update_run(ctx.db_url, sync_run_id, counts=counts, artifacts={"image_urls": uploads})
    log.info("%s: %d rows, %d valid, %d findings, %d image(s) auto-fixed", store, counts["rows"],
             counts["valid_rows"], counts["findings"], len(uploads))
    if not valid:
        raise SyncError(f"{store}: no valid row in {export_path}: all {counts['rows']} rows are blocked by "
                        "findings; see the report and fix the export")
    return counts


def _registered_certificates(ctx: Context, as_of: date) -> list[Any]:
    """The certificate watch's registry for CERT-MISSING (empty until the watch has scanned the store)."""
    from aeops.compliance.registry import registry_certificates

    return registry_certificates(ctx.db_url, ctx.store.name, as_of)


def _valid_row_numbers(frame, findings) -> set[int]:
    blocked = {f.row for f in findings if f.blocking and f.row is not None}
    return {int(r) for r in frame["row"] if int(r) not in blocked}


def _fix_and_upload_images(ctx: Context, findings, image_of_row: dict[int, str], client,
                           done: dict[str, str]) -> dict[str, str]:
    """Flatten each transparent image (a staging copy; the original is untouched) and upload it once."""
    from aeops.rules.fixes import flatten_onto_white

    uploads = dict(done)
    images_dir = Path(ctx.store.images_dir) if ctx.store.images_dir else None
    staging = _work_dir(ctx) / "staged-images"
    for finding in findings:
        source = image_of_row.get(finding.row) if finding.row is not None else None
        if finding.code != "IMG-TRANSPARENT" or not source or source in uploads:
            continue
        path = Path(source) if images_dir is None or Path(source).is_absolute() else images_dir / source
        try:
            staged = Path(flatten_onto_white(path, staging))
            upload = client.upload_image(staged.name, staged.read_bytes(),
                                         content_type="image/png" if staged.suffix == ".png" else "image/jpeg")
        except Exception as exc:  # noqa: BLE001 - the finding stays blocking and the log says why
            log.warning("%s: could not auto-fix %s: %s", ctx.store.name, source, exc)
            continue
        uploads[source] = upload.photobank_url
        log.info("%s: %s flattened onto white and uploaded as %s", ctx.store.name, source, upload.photobank_url)
    return uploads


def plan(store: str, dag_id: str, run_id: str, *, client=None, config: AeopsConfig | None = None) -> dict:
    """Diff the export's valid rows against the marketplace and store the minimal change set.

    Paged list reads find products modified on the marketplace after aeops last saw them (or never seen);
    only those get a per-product info read; the confirmed state in the aeops DB stands for the rest.
    """
    from aeops.sync.model import desired_from_rows

    ctx = context(store, config)
    sync_run_id = ledger.start_run(ctx.db_url, store, dag_id, run_id)
    rows = _valid_rows(ctx, sync_run_id)
    desired = desired_from_rows(rows)
    catalog_meta = {int(r["product_id"]): (_text(r.get("category")), _text(r.get("brand"))) for r in reversed(rows)}
    client = client or client_for(ctx.store)
    known = ledger.load_state(ctx.db_url, store)
    listed: dict[int, str | None] = {
        p.product_id: p.gmt_modified for p in client.iter_products(page_size=LIST_PAGE_SIZE)
    }
    to_read = [pid for pid in desired if pid in listed and _drifted(known.get(pid), listed[pid])]
    log.info("%s: %d products listed, %d wanted, %d to re-read (new or modified on the marketplace)",
             store, len(listed), len(desired), len(to_read))
    seen: dict[int, tuple[dict[str, Any], datetime | None]] = {}
    # Info reads in parallel: the client's rate limiter (shared by the threads) keeps the seller's QPS.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=INFO_READ_THREADS) as pool:
        for pid, product in zip(to_read, pool.map(client.get_product, to_read), strict=True):
            seen[pid] = (from_marketplace(product, known.get(pid)), parse_gmt(listed[pid]))
    if seen:
        ledger.save_seen_state(ctx.db_url, store, seen)
    ledger.record_catalog_meta(ctx.db_url, store, catalog_meta)
    current: dict[int, dict[str, Any] | None] = {}
    for pid in desired:
        if pid in seen:
            current[pid] = seen[pid][0]
        elif pid in listed and pid in known:
            current[pid] = known[pid].fields
        else:
            current[pid] = None
    changes = diff_catalog(desired, current)
    counts = ledger.store_plan(ctx.db_url, sync_run_id, store, changes)
    ledger.update_run(ctx.db_url, sync_run_id, counts={"planned_" + k: v for k, v in counts.items()}
                      | {"info_reads": len(to_read), "changed_products": len({c.product_id for c in changes})})
    log.info("%s: change set %s", store, counts or "empty (nothing to write)")
    return counts


def collect_chunks(dag_id: str, run_id: str, *, dry_run: bool = False, config: AeopsConfig | None = None,
                   chunk_batches: int = CHUNK_BATCHES) -> list[dict[str, Any]]:
    """Every store's open changes as push chunks (each up to ``chunk_batches`` calls of 20 products)."""
    cfg = config or load_airflow_config()
    chunks: list[dict[str, Any]] = []
    if dry_run:
        log.info("dry run: nothing is pushed")
        return chunks
    url = cfg.resolved_database_url()
    ensure_schema(url)
    from sqlalchemy import select

    from aeops.store import session_scope
    from aeops.store.models import SyncRun

    with session_scope(url) as s:
        runs = {r.id: r.store for r in s.scalars(select(SyncRun).where(SyncRun.dag_id == dag_id,
                                                                        SyncRun.run_id == run_id))}
    for (sync_run_id, kind), ids in ledger.open_change_ids(url, runs).items():
        if kind not in KINDS:
            continue
        size = 20 if kind != "edit" else 1
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        for i in range(0, len(batches), chunk_batches):
            chunks.append({"store": runs[sync_run_id], "sync_run_id": sync_run_id, "kind": kind,
                           "batches": batches[i : i + chunk_batches]})
    log.info("%d push chunk(s): %s", len(chunks), ", ".join(f"{c['store']}/{c['kind']}x{len(c['batches'])}"
                                                           for c in chunks) or "nothing to push")
    return chunks


def push_chunk(chunk: dict[str, Any], *, client=None, config: AeopsConfig | None = None) -> dict[str, int]:
    """Send one chunk of batches while holding the store's write lock (an urgent re-run of the same store
    goes first; two runs never write one store at once, see aeops.urgent.lock)."""
    from aeops.sync.push import push_batch
    from aeops.urgent.lock import run_holder, store_lock

    ctx = context(chunk["store"], config)
    client = client or client_for(ctx.store)
    totals: dict[str, int] = {}
    with store_lock(ctx.db_url, chunk["store"], run_holder(chunk["sync_run_id"]), ttl=600):
        for n, change_ids in enumerate(chunk["batches"], 1):
            result = push_batch(ctx.db_url, client, chunk["sync_run_id"], chunk["kind"], change_ids,
                                images_dir=ctx.store.images_dir or None)
            for key, value in result.items():
                totals[key] = totals.get(key, 0) + value
            log.info("%s %s batch %d/%d: %s", chunk["store"], chunk["kind"], n, len(chunk["batches"]), result)
    return totals


def finish(store: str, dag_id: str, run_id: str, *, dry_run: bool = False, client=None,
           config: AeopsConfig | None = None) -> dict[str, Any]:
    """Close the store's run: verify, write the report, post the summary; mark the export synced when done."""
    from aeops.reports.run_report import write_run_report

    ctx = context(store, config)
    sync_run_id = ledger.start_run(ctx.db_url, store, dag_id, run_id)
    run = ledger.get_run(ctx.db_url, sync_run_id)
    if run.status == "skipped":
        summary = {"store": store, "status": "skipped", "message": run.message}
        _notify_summary(ctx, run, summary)
        return summary
    statuses = ledger.change_counts(ctx.db_url, sync_run_id)
    open_left = sum(statuses.get(s, 0) for s in ledger.OPEN_STATUSES)
    prepared = "valid_rows" in (run.counts or {}) and any(k.startswith("planned_") or k == "changed_products"
                                                           for k in (run.counts or {}))
    verification: dict[str, Any] = {}
    if prepared and not dry_run and any(statuses.get(k) for k in ("confirmed", "verified", "verify_failed")):
        verification = _verify(ctx, sync_run_id, client)
    if not prepared:
        status = "failed"
    elif dry_run:
        status = "dry_run"
    elif open_left or statuses.get("failed") or statuses.get("unpushable") or verification.get("verify_failed"):
        status = "partial"
    else:
        status = "success"
    counts = {"pushed": statuses.get("confirmed", 0) + statuses.get("failed", 0),
              "confirmed": statuses.get("confirmed", 0), "failed": statuses.get("failed", 0),
              "unpushable": statuses.get("unpushable", 0), "open": open_left, **verification}
    ledger.update_run(ctx.db_url, sync_run_id, counts=counts, status=status,
                      finished_at=datetime.now(UTC))
    report = write_run_report(ctx.db_url, sync_run_id, ctx.store.reports or None)
    ledger.update_run(ctx.db_url, sync_run_id, report_path=report["html"])
    if status in ("success", "partial") and not open_left and run.export_id:
        ledger.mark_export_synced(ctx.db_url, run.export_id, run_id)
    run = ledger.get_run(ctx.db_url, sync_run_id)
    summary = {"store": store, "status": status, "counts": run.counts, "report": report["html"],
               "findings_by_code": ledger.findings_by_code(ctx.db_url, sync_run_id)}
    log.info("%s: %s; report %s", store, status, report["html"])
    _notify_summary(ctx, run, summary)
    return {k: v for k, v in summary.items() if k != "findings_by_code"}


def fail_if_any_store_failed(dag_id: str, run_id: str, config: AeopsConfig | None = None) -> None:
    """The run's overall verdict: fail (and alert) when a store could not be synced at all."""
    from sqlalchemy import select

    from aeops.store import session_scope
    from aeops.store.models import SyncRun

    cfg = config or load_airflow_config()
    with session_scope(cfg.resolved_database_url()) as s:
        runs = list(s.scalars(select(SyncRun).where(SyncRun.dag_id == dag_id, SyncRun.run_id == run_id)))
    failed = [r.store for r in runs if r.status in ("failed", "running")]
    if failed:
        raise SyncError(f"store(s) {', '.join(failed)} could not be synced; see their task logs and reports")


# -------------------------------------------------------------------------------------------- helpers
def from_marketplace(product, previous=None) -> dict[str, Any]:
    """A marketplace product in the canonical shape (see :mod:`aeops.sync.model`)."""
    images = product.raw.get("image_u_r_ls") or product.raw.get("main_image") or ""
    first_image = str(images).split(";")[0] if images else ""
    prev_fields = previous.fields if previous is not None else {}
    # aeops records which source image it pushed; the marketplace shows the photobank URL of it.
    if prev_fields.get("main_image_url") and prev_fields.get("main_image_url") == first_image:
        first_image = prev_fields.get("main_image", first_image)
    return {
        "title": product.subject or "",
        "freight_template_id": "" if product.freight_template_id is None else str(product.freight_template_id),
        "main_image": first_image,
        "skus": {
            str(s.sku_code): {"price": money(s.price), "discount_price": money(s.discount_price),
                              "stock": s.stock}
            for s in product.skus if s.sku_code
        },
    }


def _text(value: Any) -> str | None:
    """A cell as text; None for empty cells (pandas gives NaN for them)."""
    if value is None or value != value:
        return None
    text = str(value).strip()
    return text or None


def parse_gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            parsed = datetime.strptime(value, fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _drifted(state, listed_modified: str | None) -> bool:
    """Read a product again when aeops never saw it, or the marketplace's last-modified time is newer than both
    what aeops last read and aeops's own last confirmed write (someone edited it in the seller center).

    Our confirmed write is stamped with our clock after the platform answered, so the platform's own stamp of
    that write is not newer; an edit within clock skew of our confirmation could be missed (documented).
    """
    if state is None or not state.fields:
        return True
    listed = parse_gmt(listed_modified)
    known = [t if t.tzinfo else t.replace(tzinfo=UTC)
             for t in (state.marketplace_modified_at, state.confirmed_at) if t is not None]
    if not known or listed is None:
        return True
    return listed > max(known)


def _export_path(ctx: Context, export_id: int | None) -> str:
    from aeops.store import session_scope
    from aeops.store.models import Export

    if export_id is None:
        raise SyncError(f"{ctx.store.name}: no export recorded for this run (pull_export did not finish)")
    with session_scope(ctx.db_url) as s:
        export = s.get(Export, export_id)
        assert export is not None
        return export.path


def _work_dir(ctx: Context) -> Path:
    """Scratch space for staged files (auto-fixed images) under AIRFLOW_HOME."""
    import os

    path = Path(os.environ.get("AIRFLOW_HOME", ".")) / "aeops-work" / ctx.store.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _valid_rows(ctx: Context, sync_run_id: int) -> list[dict[str, Any]]:
    """The export's rows that no blocking finding of this run points at (re-read; never via XCom)."""
    from sqlalchemy import select

    from aeops.exports import read_export
    from aeops.store import session_scope
    from aeops.store.models import Export
    from aeops.store.models import Finding as FindingRow

    run = ledger.get_run(ctx.db_url, sync_run_id)
    with session_scope(ctx.db_url) as s:
        export = s.get(Export, run.export_id) if run.export_id else None
        blocked = set(s.scalars(select(FindingRow.row).where(
            FindingRow.sync_run_id == sync_run_id, FindingRow.severity == "error", FindingRow.row.is_not(None))))
    if export is None:
        raise SyncError(f"{ctx.store.name}: no export recorded for run {sync_run_id}; re-run pull_export")
    data = read_export(export.path)
    if data.sha256 != export.sha256:
        raise SyncError(f"{ctx.store.name}: export {export.path} changed since it was validated; re-run the sync")
    frame = data.frame[~data.frame["row"].astype(int).isin(blocked)]
    return frame.to_dict("records")


def _verify(ctx: Context, sync_run_id: int, client) -> dict[str, Any]:
    """Verification counts (verified, verify_failed, completion rates, ...; they override pushed/confirmed):
    the verify sensor's final result, else polled here (see aeops.verify.runner.verify_run). A verification
    that cannot run leaves the report and summary intact: the unverified changes count as verify_failed."""
    from aeops.verify.runner import counts_of_run, verify_run

    try:
        return verify_run(ctx, sync_run_id, client or client_for(ctx.store))
    except Exception as exc:  # noqa: BLE001 - the run's report must still be written
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        log.error("%s: verification could not run: %s", ctx.store.name, error)
        counts = counts_of_run(ctx.db_url, sync_run_id, {})
        unverified = counts["confirmed"] - counts["verified"]
        return {**counts, "verify_error": error, "verify_failed": unverified}


def _notify_summary(ctx: Context, run, summary: dict[str, Any]) -> None:
    """The run's Slack summary (and its findings as thread replies); never fails the run."""
    try:
        _post_summary(ctx, run, summary)
    except Exception as exc:  # noqa: BLE001 - Slack trouble must not fail the sync's own work
        log.error("%s: Slack summary could not be prepared (%s: %s)", ctx.store.name, type(exc).__name__, exc)


def _post_summary(ctx: Context, run, summary: dict[str, Any]) -> None:
    from aeops.notify.messages import notice, summary_details, sync_summary
    from aeops.notify.send import send

    if summary["status"] == "skipped":
        send(notice(title="Catalog sync skipped", text=run.message or "nothing to do", store=ctx.store.name,
                    thread_key=run.run_id), store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
        return
    counts = run.counts or {}
    findings = ledger.findings_of_run(ctx.db_url, run.id)
    errors_first = sorted(findings, key=lambda f: (f.severity != "error", f.row or 0))
    message = sync_summary(
        store=ctx.store.name, dag_id=run.dag_id, run_id=run.run_id, rows=int(counts.get("rows", 0)),
        findings_by_code=summary.get("findings_by_code", {}), pushed=int(counts.get("pushed", 0)),
        failed=int(counts.get("failed", 0)) + int(counts.get("unpushable", 0)),
        verified=int(counts.get("verified", 0)), completion_rate=counts.get("completion_rate"),
        report_url=_as_url(summary.get("report")), top_findings=errors_first,
    )
    send(message, store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
    for detail in summary_details(errors_first, store=ctx.store.name, run_id=run.run_id):
        send(detail, store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)


def _as_url(path: str | None) -> str | None:
    if not path or "://" in path:
        return path
    return Path(path).resolve().as_uri()
