"""The sync's records in the aeops DB: runs, exports, findings, planned changes and their outcomes.

Every write to the marketplace is recorded before it is sent (change ``sending`` + an ``api_writes`` row)
and after its answer (``confirmed`` / ``failed`` / ``unknown``), so a crash or a retry never loses or
doubles work: a retry only sends what is not yet confirmed, and anything left ``sending`` or ``unknown``
is re-read from the marketplace first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from aeops.rules.findings import Finding
from aeops.store.db import session_scope
from aeops.store.models import ApiWrite, Change, Export, ProductState, SyncRun, utcnow
from aeops.store.models import Finding as FindingRow
from aeops.sync.diff import PlannedChange, apply_change

OPEN_STATUSES = ("planned", "sending", "unknown")
DONE_STATUSES = ("confirmed", "failed", "unpushable")
BULK_ROWS = 5000  # rows per bulk INSERT/UPDATE statement
IN_BATCH = 500  # ids per IN list (SQLite caps bound parameters)


def start_run(url: str, store: str, dag_id: str, run_id: str, kind: str = "daily") -> int:
    """The run's id; the same id again when a task of the run is retried."""
    with session_scope(url) as s:
        run = s.scalars(
            select(SyncRun).where(SyncRun.store == store, SyncRun.dag_id == dag_id, SyncRun.run_id == run_id)
        ).one_or_none()
        if run is None:
            run = SyncRun(store=store, dag_id=dag_id, run_id=run_id, kind=kind)
            s.add(run)
            s.flush()
        return run.id


def get_run(url: str, sync_run_id: int) -> SyncRun:
    with session_scope(url) as s:
        run = s.get(SyncRun, sync_run_id)
        if run is None:
            raise LookupError(f"sync run {sync_run_id} not found")
        return run


def update_run(url: str, sync_run_id: int, **values: Any) -> None:
    with session_scope(url) as s:
        run = s.get(SyncRun, sync_run_id)
        assert run is not None
        counts = values.pop("counts", None)
        if counts:
            run.counts = {**(run.counts or {}), **counts}
        for key, value in values.items():
            setattr(run, key, value)


def record_export(url: str, store: str, path: str, size: int, sha256: str, sync_run_id: int) -> tuple[int, bool]:
    """Record an export (once per content); returns (export id, already synced successfully)."""
    with session_scope(url) as s:
        export = s.scalars(select(Export).where(Export.store == store, Export.sha256 == sha256)).one_or_none()
        if export is None:
            export = Export(store=store, path=path, size=size, sha256=sha256)
            s.add(export)
            s.flush()
        run = s.get(SyncRun, sync_run_id)
        assert run is not None
        run.export_id = export.id
        return export.id, export.synced_at is not None


def mark_export_synced(url: str, export_id: int, run_id: str) -> None:
    with session_scope(url) as s:
        export = s.get(Export, export_id)
        assert export is not None
        export.synced_at, export.synced_run_id = utcnow(), run_id


def store_findings(url: str, sync_run_id: int, store: str, findings: Iterable[Finding]) -> int:
    """Replace the run's findings (idempotent when the validate task is retried)."""
    rows = [
        FindingRow(sync_run_id=sync_run_id, store=store, code=f.code, severity=str(f.severity), file=f.file,
                   row=f.row, product_id=f.product_id, sku_code=f.sku_code, field=f.field, message=f.message)
        for f in findings
    ]
    with session_scope(url) as s:
        s.execute(delete(FindingRow).where(FindingRow.sync_run_id == sync_run_id))
        s.add_all(rows)
    return len(rows)


def findings_by_code(url: str, sync_run_id: int) -> dict[str, int]:
    with session_scope(url) as s:
        result = s.execute(
            select(FindingRow.code, func.count()).where(FindingRow.sync_run_id == sync_run_id).group_by(FindingRow.code)
        )
        return {code: count for code, count in result}


def load_state(url: str, store: str) -> dict[int, ProductState]:
    with session_scope(url) as s:
        return {p.product_id: p for p in s.scalars(select(ProductState).where(ProductState.store == store))}


@dataclass(frozen=True)
class KnownState:
    """A read-only copy of a ``product_state`` row (what the plans read of it)."""

    product_id: int
    fields: dict[str, Any]
    marketplace_modified_at: datetime | None
    confirmed_at: datetime | None


def known_state(url: str, store: str) -> dict[int, KnownState]:
    """The store's confirmed product states as plain values (one SELECT of four columns; no ORM objects)."""
    columns = (ProductState.product_id, ProductState.fields, ProductState.marketplace_modified_at,
               ProductState.confirmed_at)
    with session_scope(url) as s:
        return {row[0]: KnownState(*row) for row in s.execute(select(*columns).where(ProductState.store == store))}


def state_fields(url: str, store: str, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The confirmed fields of these products (bounded IN lists; one scan of the store for large sets)."""
    ids = sorted(set(product_ids))
    found: dict[int, dict[str, Any]] = {}
    with session_scope(url) as s:
        if len(ids) > 20 * IN_BATCH:
            wanted = set(ids)
            query = select(ProductState.product_id, ProductState.fields).where(ProductState.store == store)
            return {pid: fields for pid, fields in s.execute(query) if pid in wanted}
        for i in range(0, len(ids), IN_BATCH):
            found.update((pid, fields) for pid, fields in s.execute(
                select(ProductState.product_id, ProductState.fields).where(
                    ProductState.store == store, ProductState.product_id.in_(ids[i : i + IN_BATCH]))))
    return found


def save_seen_state(url: str, store: str, seen: dict[int, tuple[dict[str, Any], datetime | None]]) -> None:
    """Record products as read from the marketplace: their fields and its last-modified time."""
    with session_scope(url) as s:
        for pid, (fields, modified) in seen.items():
            state = s.get(ProductState, (store, pid))
            if state is None:
                state = ProductState(store=store, product_id=pid)
                s.add(state)
            state.fields, state.marketplace_modified_at, state.last_seen_at = fields, modified, utcnow()


def record_catalog_meta(url: str, store: str, meta: dict[int, tuple[str | None, str | None]]) -> None:
    """Category and brand of the store's products (certificate watch: products at risk per category/brand)."""
    ids = list(meta)
    with session_scope(url) as s:
        for i in range(0, len(ids), 500):  # bounded IN lists (SQLite caps bound parameters)
            for state in s.scalars(select(ProductState).where(ProductState.store == store,
                                                              ProductState.product_id.in_(ids[i : i + 500]))):
                state.category, state.brand = meta[state.product_id]


def store_plan(url: str, sync_run_id: int, store: str, changes: list[PlannedChange]) -> dict[str, int]:
    """Store the change set; on a retried plan, confirmed/failed changes are kept as they are.

    New changes go in with bulk INSERTs and re-planned ones with one bulk UPDATE by primary key (a whole-store
    change set is 100,000 rows: one ORM object each would take most of a minute)."""
    counts: dict[str, int] = {}
    with session_scope(url) as s:
        existing = {(pid, kind): (cid, status) for cid, pid, kind, status in s.execute(
            select(Change.id, Change.product_id, Change.kind, Change.status)
            .where(Change.sync_run_id == sync_run_id))}
        new_rows: list[dict[str, Any]] = []
        replanned: list[dict[str, Any]] = []
        now = utcnow()
        for planned in changes:
            counts[planned.kind] = counts.get(planned.kind, 0) + 1
            row = existing.get((planned.product_id, planned.kind))
            if row is None:
                new_rows.append({"sync_run_id": sync_run_id, "store": store, "product_id": planned.product_id,
                                 "kind": planned.kind, "payload": planned.payload, "previous": planned.previous,
                                 "status": "unpushable" if planned.kind == "unpushable" else "planned",
                                 "error_code": planned.payload.get("reason"),
                                 "error_message": planned.payload.get("message"), "attempts": 0,
                                 "updated_at": now})
            elif row[1] == "planned":
                replanned.append({"id": row[0], "payload": planned.payload, "previous": planned.previous,
                                  "updated_at": now})
        for i in range(0, len(new_rows), BULK_ROWS):
            s.execute(insert(Change), new_rows[i : i + BULK_ROWS])
        for i in range(0, len(replanned), BULK_ROWS):
            s.execute(update(Change), replanned[i : i + BULK_ROWS])
    return counts


def open_change_ids(url: str, sync_run_ids: Iterable[int]) -> dict[tuple[int, str], list[int]]:
    """Changes not yet confirmed or failed, grouped by (sync run, kind), in product id order."""
    ids = list(sync_run_ids)
    grouped: dict[tuple[int, str], list[int]] = {}
    if not ids:
        return grouped
    with session_scope(url) as s:
        rows = s.execute(
            select(Change.id, Change.sync_run_id, Change.kind)
            .where(Change.sync_run_id.in_(ids), Change.status.in_(OPEN_STATUSES))
            .order_by(Change.sync_run_id, Change.kind, Change.product_id)
        )
        for change_id, run_id, kind in rows:
            grouped.setdefault((run_id, kind), []).append(change_id)
    return grouped


def load_changes(s: Session, change_ids: Iterable[int]) -> list[Change]:
    return list(s.scalars(select(Change).where(Change.id.in_(list(change_ids))).order_by(Change.product_id)))


def begin_write(url: str, sync_run_id: int, store: str, api: str, batch_key: str, change_ids: list[int]) -> int:
    """Before sending: the changes become ``sending`` and the call is logged. Returns the api_writes id."""
    with session_scope(url) as s:
        changes = load_changes(s, change_ids)
        for change in changes:
            change.status, change.attempts, change.batch_key = "sending", change.attempts + 1, batch_key
        write = ApiWrite(sync_run_id=sync_run_id, store=store, api=api, batch_key=batch_key,
                         product_ids=[c.product_id for c in changes])
        s.add(write)
        s.flush()
        return write.id


def finish_write(url: str, write_id: int, outcome: str, detail: str | None = None) -> None:
    with session_scope(url) as s:
        write = s.get(ApiWrite, write_id)
        assert write is not None
        write.outcome, write.finished_at, write.detail = outcome, utcnow(), detail


def confirm(s: Session, change: Change) -> None:
    """The marketplace has the change: record it and move the confirmed product state forward."""
    change.status, change.pushed_at, change.error_code, change.error_message = "confirmed", utcnow(), None, None
    state = s.get(ProductState, (change.store, change.product_id))
    if state is None:
        state = ProductState(store=change.store, product_id=change.product_id, fields={"skus": {}})
        s.add(state)
    state.fields = apply_change(state.fields or {"skus": {}}, change.kind, change.payload)
    state.confirmed_at = utcnow()


def set_status(url: str, change_ids: Iterable[int], status: str) -> None:
    with session_scope(url) as s:
        s.execute(update(Change).where(Change.id.in_(list(change_ids))).values(status=status, updated_at=utcnow()))


def change_counts(url: str, sync_run_id: int) -> dict[str, int]:
    with session_scope(url) as s:
        rows = s.execute(
            select(Change.status, func.count()).where(Change.sync_run_id == sync_run_id).group_by(Change.status)
        )
        return {status: count for status, count in rows}


def changes_of_run(url: str, sync_run_id: int) -> list[Change]:
    with session_scope(url) as s:
        return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id).order_by(Change.product_id)))


def findings_of_run(url: str, sync_run_id: int) -> list[FindingRow]:
    with session_scope(url) as s:
        return list(
            s.scalars(select(FindingRow).where(FindingRow.sync_run_id == sync_run_id).order_by(FindingRow.row))
        )


# ------------------------------------------------------------------ urgent re-runs (aeops.urgent)
RETRY_STATUSES = ("planned", "sending", "unknown", "failed", "verify_failed")


def add_milestone(url: str, sync_run_id: int, name: str, detail: dict[str, Any] | None = None) -> bool:
    """Record a once-only event of a run; True for the first caller, False when it was already recorded."""
    from sqlalchemy.exc import IntegrityError

    from aeops.store.models import RunMilestone

    try:
        with session_scope(url) as s:
            s.add(RunMilestone(sync_run_id=sync_run_id, name=name, detail=detail or {}))
        return True
    except IntegrityError:
        return False


def milestones_of_run(url: str, sync_run_id: int) -> dict[str, Any]:
    """The run's milestones by name (``RunMilestone`` rows)."""
    from aeops.store.models import RunMilestone

    with session_scope(url) as s:
        return {m.name: m for m in s.scalars(select(RunMilestone).where(RunMilestone.sync_run_id == sync_run_id))}


def find_run(url: str, store: str, run_id: str, dag_id: str | None = None) -> SyncRun | None:
    """The store's run with this Airflow run id (of ``dag_id`` when given; the newest if several DAGs match)."""
    with session_scope(url) as s:
        query = select(SyncRun).where(SyncRun.store == store, SyncRun.run_id == run_id)
        if dag_id:
            query = query.where(SyncRun.dag_id == dag_id)
        return s.scalars(query.order_by(SyncRun.id.desc())).first()


def recent_runs(url: str, store: str, dag_id: str | None = None, limit: int = 5) -> list[SyncRun]:
    """The store's newest runs (of ``dag_id`` when given), newest first."""
    with session_scope(url) as s:
        query = select(SyncRun).where(SyncRun.store == store)
        if dag_id:
            query = query.where(SyncRun.dag_id == dag_id)
        return list(s.scalars(query.order_by(SyncRun.id.desc()).limit(limit)))


def retry_candidates(url: str, sync_run_id: int) -> list[Change]:
    """A run's changes that failed or are not known to be good: never answered, failed, failed verification,
    or confirmed for a product whose verification failed; in product id order."""
    from aeops.store.models import VerifyResult

    with session_scope(url) as s:
        unverified = set(s.scalars(select(VerifyResult.product_id).where(
            VerifyResult.sync_run_id == sync_run_id, VerifyResult.passed.is_(False))))
        rows = s.scalars(select(Change).where(Change.sync_run_id == sync_run_id, Change.kind != "unpushable")
                         .order_by(Change.product_id, Change.kind))
        return [c for c in rows
                if c.status in RETRY_STATUSES or (c.status == "confirmed" and c.product_id in unverified)]
