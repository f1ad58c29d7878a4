"""The catalog's records in the aeops DB: runs, exports, findings, product states, planned changes and writes.

A :class:`Ledger` is bound to one database (one engine) and handed to the steps of the daily sync, the urgent
re-run and verification; every SQL statement of those steps lives here (or in :mod:`aeops.verify.records` for
verification's own tables), none in the steps themselves.

Every write to the marketplace is recorded before it is sent (change ``sending`` + an ``api_writes`` row)
and after its answer (``confirmed`` / ``failed`` / ``unknown``), so a crash or a retry never loses or
doubles work: a retry only sends what is not yet confirmed, and anything left ``sending`` or ``unknown``
is re-read from the marketplace first (:mod:`aeops.catalog.push`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from aeops.catalog.diff import PlannedChange, apply_change
from aeops.catalog.status import OPEN, RETRY, ChangeStatus
from aeops.catalog.unsettled import UnsettledQueries
from aeops.findings import Finding
from aeops.store import crypto
from aeops.store.db import ensure_schema, get_engine
from aeops.store.models import (
    ApiWrite,
    Change,
    Export,
    ProductState,
    RunMilestone,
    SyncRun,
    TokenState,
    VerifyResult,
    utcnow,
)
from aeops.store.models import Finding as FindingRow

BULK_ROWS = 5000  # rows per bulk INSERT/UPDATE statement
IN_BATCH = 500  # ids per IN list (SQLite caps bound parameters)


@dataclass(frozen=True)
class KnownState:
    """A read-only copy of a ``product_state`` row (what the plans read of it)."""

    product_id: int
    fields: dict[str, Any]
    marketplace_modified_at: datetime | None
    confirmed_at: datetime | None


def _chunks(ids: list[int], size: int = IN_BATCH) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class Ledger(UnsettledQueries):
    """The aeops DB of one deployment, as the catalog steps use it: ``Ledger(url)``.

    Each method is one transaction (one session) unless noted; :meth:`session` gives a session for the few
    places that group several reads and writes into one transaction (a push batch's answer, for example).
    """

    _ready: set[str] = set()

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        if migrate and url not in Ledger._ready:
            ensure_schema(url)
            Ledger._ready.add(url)
        self.engine = get_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # ------------------------------------------------------------------------------------------ runs
    def start_run(self, store: str, dag_id: str, run_id: str, kind: str = "daily") -> int:
        """The run's id; the same id again when a task of the run is retried."""
        with self.session() as s:
            run = s.scalars(select(SyncRun).where(SyncRun.store == store, SyncRun.dag_id == dag_id,
                                                  SyncRun.run_id == run_id)).one_or_none()
            if run is None:
                run = SyncRun(store=store, dag_id=dag_id, run_id=run_id, kind=kind)
                s.add(run)
                s.flush()
            return run.id

    def get_run(self, sync_run_id: int) -> SyncRun:
        with self.session() as s:
            run = s.get(SyncRun, sync_run_id)
            if run is None:
                raise LookupError(f"sync run {sync_run_id} not found")
            return run

    def update_run(self, sync_run_id: int, **values: Any) -> None:
        """Set columns of a run; ``counts`` and ``artifacts`` are merged into the stored ones by key, not replaced
        (a step writing its artifact never drops another step's)."""
        with self.session() as s:
            run = s.get(SyncRun, sync_run_id)
            if run is None:
                raise LookupError(f"sync run {sync_run_id} not found")
            counts = values.pop("counts", None)
            if counts:
                run.counts = {**(run.counts or {}), **counts}
            artifacts = values.pop("artifacts", None)
            if artifacts:
                run.artifacts = {**(run.artifacts or {}), **artifacts}
            for key, value in values.items():
                setattr(run, key, value)

    def find_run(self, store: str, run_id: str, dag_id: str | None = None) -> SyncRun | None:
        """The store's run with this Airflow run id (of ``dag_id`` when given; the newest if several match)."""
        with self.session() as s:
            query = select(SyncRun).where(SyncRun.store == store, SyncRun.run_id == run_id)
            if dag_id:
                query = query.where(SyncRun.dag_id == dag_id)
            return s.scalars(query.order_by(SyncRun.id.desc())).first()

    def runs_of(self, dag_id: str, run_id: str) -> list[SyncRun]:
        """Every store's run of one Airflow DAG run."""
        with self.session() as s:
            return list(s.scalars(select(SyncRun).where(SyncRun.dag_id == dag_id, SyncRun.run_id == run_id)
                                  .order_by(SyncRun.id)))

    def recent_runs(self, store: str, dag_id: str | None = None, limit: int = 5) -> list[SyncRun]:
        """The store's newest runs (of ``dag_id`` when given), newest first."""
        with self.session() as s:
            query = select(SyncRun).where(SyncRun.store == store)
            if dag_id:
                query = query.where(SyncRun.dag_id == dag_id)
            return list(s.scalars(query.order_by(SyncRun.id.desc()).limit(limit)))

    def last_run_that_ran(self, store: str, dag_id: str, other_than: int) -> SyncRun | None:
        """The store's newest run of ``dag_id`` except ``other_than`` that was not skipped, however old."""
        with self.session() as s:
            return s.scalars(select(SyncRun).where(SyncRun.store == store, SyncRun.dag_id == dag_id,
                                                   SyncRun.id != other_than, SyncRun.status != "skipped")
                             .order_by(SyncRun.id.desc()).limit(1)).first()

    def findings_by_code_of_runs(self, sync_run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Findings per code of each run (one GROUP BY; runs without findings are absent)."""
        ids = list(sync_run_ids)
        found: dict[int, dict[str, int]] = {}
        with self.session() as s:
            for chunk in _chunks(ids):
                rows = s.execute(select(FindingRow.sync_run_id, FindingRow.code, func.count())
                                 .where(FindingRow.sync_run_id.in_(chunk))
                                 .group_by(FindingRow.sync_run_id, FindingRow.code))
                for run_id, code, count in rows:
                    found.setdefault(run_id, {})[code] = count
        return found

    def add_milestone(self, sync_run_id: int, name: str, detail: dict[str, Any] | None = None) -> bool:
        """Record a once-only event of a run; True for the first caller, False when it was already recorded."""
        try:
            with self.session() as s:
                s.add(RunMilestone(sync_run_id=sync_run_id, name=name, detail=detail or {}))
            return True
        except IntegrityError:
            return False

    def milestones_of_run(self, sync_run_id: int) -> dict[str, RunMilestone]:
        with self.session() as s:
            return {m.name: m for m in s.scalars(select(RunMilestone).where(RunMilestone.sync_run_id == sync_run_id))}

    # --------------------------------------------------------------------------------------- exports
    def record_export(self, store: str, path: str, size: int, sha256: str, sync_run_id: int) -> tuple[int, bool]:
        """Record an export (once per content); returns (export id, already synced successfully)."""
        with self.session() as s:
            export = s.scalars(select(Export).where(Export.store == store, Export.sha256 == sha256)).one_or_none()
            if export is None:
                export = Export(store=store, path=path, size=size, sha256=sha256)
                s.add(export)
                s.flush()
            run = s.get(SyncRun, sync_run_id)
            if run is None:
                raise LookupError(f"sync run {sync_run_id} not found")
            run.export_id = export.id
            return export.id, export.synced_at is not None

    def get_export(self, export_id: int) -> Export | None:
        with self.session() as s:
            return s.get(Export, export_id)

    def mark_export_synced(self, export_id: int, run_id: str) -> None:
        with self.session() as s:
            export = s.get(Export, export_id)
            if export is None:
                raise LookupError(f"export {export_id} not found")
            export.synced_at, export.synced_run_id = utcnow(), run_id

    # -------------------------------------------------------------------------------------- findings
    def store_findings(self, sync_run_id: int, store: str, findings: Iterable[Finding]) -> int:
        """Replace the run's findings (idempotent when the validate task is retried)."""
        rows = [FindingRow(sync_run_id=sync_run_id, store=store, code=f.code, severity=str(f.severity), file=f.file,
                           row=f.row, product_id=f.product_id, sku_code=f.sku_code, field=f.field, message=f.message,
                           texts=f.texts_json())
                for f in findings]
        with self.session() as s:
            s.execute(delete(FindingRow).where(FindingRow.sync_run_id == sync_run_id))
            s.add_all(rows)
        return len(rows)

    def findings_by_code(self, sync_run_id: int) -> dict[str, int]:
        with self.session() as s:
            result = s.execute(select(FindingRow.code, func.count()).where(FindingRow.sync_run_id == sync_run_id)
                               .group_by(FindingRow.code))
            return {code: count for code, count in result}

    def findings_of_run(self, sync_run_id: int) -> list[FindingRow]:
        with self.session() as s:
            return list(s.scalars(select(FindingRow).where(FindingRow.sync_run_id == sync_run_id)
                                  .order_by(FindingRow.row)))

    def blocked_rows(self, sync_run_id: int) -> set[int]:
        """Export rows an error finding of the run points at (they are never pushed)."""
        with self.session() as s:
            return set(s.scalars(select(FindingRow.row).where(
                FindingRow.sync_run_id == sync_run_id, FindingRow.severity == "error", FindingRow.row.is_not(None))))

    # --------------------------------------------------------------------------------- product state
    def load_state(self, store: str) -> dict[int, ProductState]:
        with self.session() as s:
            return {p.product_id: p for p in s.scalars(select(ProductState).where(ProductState.store == store))}

    def known_state(self, store: str) -> dict[int, KnownState]:
        """The store's confirmed product states as plain values (one SELECT of four columns; no ORM objects)."""
        columns = (ProductState.product_id, ProductState.fields, ProductState.marketplace_modified_at,
                   ProductState.confirmed_at)
        with self.session() as s:
            return {row[0]: KnownState(*row) for row in s.execute(select(*columns).where(ProductState.store == store))}

    def state_fields(self, store: str, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The confirmed fields of these products (bounded IN lists; one scan of the store for large sets)."""
        ids = sorted(set(product_ids))
        found: dict[int, dict[str, Any]] = {}
        with self.session() as s:
            if len(ids) > 20 * IN_BATCH:
                wanted = set(ids)
                query = select(ProductState.product_id, ProductState.fields).where(ProductState.store == store)
                return {pid: fields for pid, fields in s.execute(query) if pid in wanted}
            for chunk in _chunks(ids):
                found.update((pid, fields) for pid, fields in s.execute(
                    select(ProductState.product_id, ProductState.fields).where(
                        ProductState.store == store, ProductState.product_id.in_(chunk))))
        return found

    def save_seen_state(self, store: str, seen: dict[int, tuple[dict[str, Any], datetime | None]]) -> None:
        """Record products as read from the marketplace: their fields and its last-modified time (products aeops
        has no state for go in with bulk INSERTs: a first run records the whole store)."""
        now = utcnow()
        with self.session() as s:
            # first_seen_at only counts once aeops knows the store: the first read of a store is its baseline
            store_known = s.scalars(select(ProductState.product_id).where(ProductState.store == store)
                                    .limit(1)).first() is not None
            existing: dict[int, ProductState] = {}
            for chunk in _chunks(sorted(seen)):
                existing.update((p.product_id, p) for p in s.scalars(select(ProductState).where(
                    ProductState.store == store, ProductState.product_id.in_(chunk))))
            new_rows = []
            for pid, (fields, modified) in seen.items():
                state = existing.get(pid)
                if state is None:
                    new_rows.append({"store": store, "product_id": pid, "fields": fields,
                                     "marketplace_modified_at": modified, "last_seen_at": now,
                                     "first_seen_at": now if store_known else None})
                else:
                    state.fields, state.marketplace_modified_at, state.last_seen_at = fields, modified, now
            for i in range(0, len(new_rows), BULK_ROWS):
                s.execute(insert(ProductState), new_rows[i : i + BULK_ROWS])

    def record_sku_ids(self, store: str, sku_ids: dict[int, dict[str, str]]) -> None:
        """Keep SKU-id maps read for verification (a first run writes blind and reads none): read once per product."""
        with self.session() as s:
            for chunk in _chunks(sorted(sku_ids)):
                for state in s.scalars(select(ProductState).where(ProductState.store == store,
                                                                  ProductState.product_id.in_(chunk))):
                    state.fields = {**(state.fields or {}), "sku_ids": sku_ids[state.product_id]}

    def new_products(self, store: str, since: datetime) -> set[int]:
        """Products aeops first saw on the marketplace at or after ``since`` (new products)."""
        with self.session() as s:
            return set(s.scalars(select(ProductState.product_id).where(
                ProductState.store == store, ProductState.first_seen_at.is_not(None),
                ProductState.first_seen_at >= since)))

    def record_catalog_meta(self, store: str, meta: dict[int, tuple[str | None, str | None]]) -> None:
        """Category and brand of the store's products (certificate watch: products at risk per category/brand)."""
        with self.session() as s:  # only what differs, as one bulk UPDATE by primary key (a first run: every row)
            changed = []
            for chunk in _chunks(list(meta)):
                for pid, category, brand in s.execute(select(
                        ProductState.product_id, ProductState.category, ProductState.brand).where(
                        ProductState.store == store, ProductState.product_id.in_(chunk))):
                    if (category, brand) != meta[pid]:
                        changed.append({"store": store, "product_id": pid, "category": meta[pid][0],
                                        "brand": meta[pid][1]})
            for i in range(0, len(changed), BULK_ROWS):
                s.execute(update(ProductState), changed[i : i + BULK_ROWS])

    # --------------------------------------------------------------------------------------- changes
    def store_plan(self, sync_run_id: int, store: str, changes: list[PlannedChange]) -> dict[str, int]:
        """Store the change set; on a retried plan, confirmed/failed changes are kept as they are.

        New changes go in with bulk INSERTs and re-planned ones with one bulk UPDATE by primary key (a whole-store
        change set is 100,000 rows: one ORM object each would take most of a minute)."""
        counts: dict[str, int] = {}
        with self.session() as s:
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
                    status = ChangeStatus.UNPUSHABLE if planned.kind == "unpushable" else ChangeStatus.PLANNED
                    new_rows.append({"sync_run_id": sync_run_id, "store": store, "product_id": planned.product_id,
                                     "kind": planned.kind, "payload": planned.payload, "previous": planned.previous,
                                     "status": str(status), "error_code": planned.payload.get("reason"),
                                     "error_message": planned.payload.get("message"), "attempts": 0,
                                     "updated_at": now})
                elif row[1] == ChangeStatus.PLANNED:
                    replanned.append({"id": row[0], "payload": planned.payload, "previous": planned.previous,
                                      "updated_at": now})
            for i in range(0, len(new_rows), BULK_ROWS):
                s.execute(insert(Change), new_rows[i : i + BULK_ROWS])
            for i in range(0, len(replanned), BULK_ROWS):
                s.execute(update(Change), replanned[i : i + BULK_ROWS])
        return counts

    def open_change_ids(self, sync_run_ids: Iterable[int]) -> dict[tuple[int, str], list[int]]:
        """Changes not yet confirmed or failed, grouped by (sync run, kind), in product id order."""
        ids = list(sync_run_ids)
        grouped: dict[tuple[int, str], list[int]] = {}
        if not ids:
            return grouped
        with self.session() as s:
            rows = s.execute(select(Change.id, Change.sync_run_id, Change.kind)
                             .where(Change.sync_run_id.in_(ids), Change.status.in_(OPEN))
                             .order_by(Change.sync_run_id, Change.kind, Change.product_id))
            for change_id, run_id, kind in rows:
                grouped.setdefault((run_id, kind), []).append(change_id)
        return grouped

    @staticmethod
    def load_changes(s: Session, change_ids: Iterable[int]) -> list[Change]:
        """The changes (inside ``s``), in product id order."""
        ids = list(change_ids)
        found: list[Change] = []
        for chunk in _chunks(ids):
            found += s.scalars(select(Change).where(Change.id.in_(chunk)))
        return sorted(found, key=lambda c: (c.product_id, c.id))

    def changes(self, change_ids: Iterable[int]) -> list[Change]:
        with self.session() as s:
            return self.load_changes(s, change_ids)

    def set_status(self, change_ids: Iterable[int], status: ChangeStatus) -> None:
        ids = list(change_ids)
        with self.session() as s:
            for chunk in _chunks(ids):
                s.execute(update(Change).where(Change.id.in_(chunk)).values(status=str(status), updated_at=utcnow()))

    def changes_in_status(self, sync_run_id: int, status: ChangeStatus) -> list[Change]:
        """The run's changes in ``status``, in product id order."""
        with self.session() as s:
            return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id,
                                                       Change.status == str(status)).order_by(Change.product_id)))

    def fail_changes(self, change_ids: Iterable[int], code: str, message: str) -> None:
        """The platform refused these changes after the fact (e.g. its review): ``failed`` with its code."""
        ids = list(change_ids)
        with self.session() as s:
            for chunk in _chunks(ids):
                s.execute(update(Change).where(Change.id.in_(chunk)).values(
                    status=str(ChangeStatus.FAILED), error_code=code, error_message=message, updated_at=utcnow()))

    def drop_skus(self, kept: dict[int, list[dict[str, Any]]], code: str, message: str) -> None:
        """Narrow open changes to the SKU items in ``kept`` (change id -> items); a change left with none becomes
        ``rejected`` with ``code`` (planned, never sent, never retried)."""
        with self.session() as s:
            for change in self.load_changes(s, list(kept)):
                if change.status != ChangeStatus.PLANNED:
                    continue
                items = kept[change.id]
                if items:
                    change.payload = {**(change.payload or {}), "skus": items}
                else:
                    change.status, change.error_code, change.error_message = (str(ChangeStatus.REJECTED), code,
                                                                               message)
                change.updated_at = utcnow()

    def drop_unneeded(self, change_id: int, store: str, read: dict[str, Any]) -> None:
        """A blind write the product turned out not to need (read after the platform refused it): the change goes,
        the product's state becomes what was read."""
        with self.session() as s:
            change = s.get(Change, change_id)
            if change is not None:
                s.delete(change)
        self.save_seen_state(store, {change.product_id: (read, None)} if change is not None else {})

    def change_counts(self, sync_run_id: int) -> dict[str, int]:
        """The run's changes by status."""
        with self.session() as s:
            rows = s.execute(select(Change.status, func.count()).where(Change.sync_run_id == sync_run_id)
                             .group_by(Change.status))
            return {status: count for status, count in rows}

    def changes_of_run(self, sync_run_id: int) -> list[Change]:
        with self.session() as s:
            return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id)
                                  .order_by(Change.product_id)))

    def retry_candidates(self, sync_run_id: int) -> list[Change]:
        """A run's changes that failed or are not known to be good: never answered, failed, failed verification,
        or confirmed for a product whose verification failed; in product id order."""
        with self.session() as s:
            unverified = set(s.scalars(select(VerifyResult.product_id).where(
                VerifyResult.sync_run_id == sync_run_id, VerifyResult.passed.is_(False))))
            rows = s.scalars(select(Change).where(Change.sync_run_id == sync_run_id, Change.kind != "unpushable")
                             .order_by(Change.product_id, Change.kind))
            return [c for c in rows if c.status in RETRY
                    or (c.status == ChangeStatus.CONFIRMED and c.product_id in unverified)]

    def results_of_run(self, sync_run_id: int, *, only_failed: bool = False) -> list[VerifyResult]:
        """Verification's problems recorded for a run (``passed`` once a later pass showed the product right)."""
        with self.session() as s:
            query = select(VerifyResult).where(VerifyResult.sync_run_id == sync_run_id)
            if only_failed:
                query = query.where(VerifyResult.passed.is_(False))
            return list(s.scalars(query.order_by(VerifyResult.product_id, VerifyResult.check, VerifyResult.id)))

    # ---------------------------------------------------------------------------------------- writes
    @staticmethod
    def load_states(s: Session, store: str, product_ids: Iterable[int]) -> list[ProductState]:
        """These products' state rows, read into ``s`` in one query per 500 (then :meth:`confirm` finds them
        without a query each). Keep the list while using ``s``: the session holds unchanged rows weakly."""
        found: list[ProductState] = []
        for chunk in _chunks(sorted(set(product_ids))):
            found += s.scalars(select(ProductState).where(ProductState.store == store,
                                                          ProductState.product_id.in_(chunk)))
        return found

    @staticmethod
    def confirm(s: Session, change: Change) -> None:
        """The marketplace has the change: record it and move the confirmed product state forward (inside ``s``).

        ``pushed_at`` keeps the time the request that carried the value was sent (set by :meth:`begin_write`):
        the platform stamps the write between that moment and its answer, so verification compares the platform's
        last-modified time with it, not with when aeops learned of the write (a lost answer is learned later)."""
        in_review = change.kind == "edit" and "main_image" in ((change.payload or {}).get("fields") or {})
        status = ChangeStatus.IN_REVIEW if in_review else ChangeStatus.CONFIRMED  # a new image: platform review
        change.status, change.pushed_at = str(status), change.pushed_at or utcnow()
        change.error_code, change.error_message = None, None
        if change.kind == "qualification":  # not a field of the sync's diff baseline: never create or change one
            return
        state = s.get(ProductState, (change.store, change.product_id))
        if state is None:
            state = ProductState(store=change.store, product_id=change.product_id, fields={"skus": {}})
            s.add(state)
        state.fields = apply_change(state.fields or {"skus": {}}, change.kind, change.payload)
        state.confirmed_at = utcnow()

    def record_pushed_image(self, change_id: int, url: str) -> None:
        """Before the edit is sent: the photobank URL it carries becomes part of the change (and, confirmed, the
        product's record of the image aeops pushed)."""
        with self.session() as s:
            change = s.get(Change, change_id)
            if change is None:
                raise LookupError(f"change {change_id} not found")
            payload = dict(change.payload or {})
            payload["fields"] = {**(payload.get("fields") or {}), "main_image_url": url, "main_image_pushed_url": url}
            change.payload = payload

    def begin_write(self, sync_run_id: int, store: str, api: str, batch_key: str, change_ids: list[int]) -> int:
        """Before sending: the changes become ``sending`` (``pushed_at`` = now, the time of this request) and the
        call is logged. Returns the api_writes id."""
        now = utcnow()
        with self.session() as s:
            changes = self.load_changes(s, change_ids)
            for change in changes:
                change.status, change.attempts, change.batch_key = (str(ChangeStatus.SENDING), change.attempts + 1,
                                                                    batch_key)
                change.pushed_at = now
            write = ApiWrite(sync_run_id=sync_run_id, store=store, api=api, batch_key=batch_key,
                             product_ids=[c.product_id for c in changes])
            s.add(write)
            s.flush()
            return write.id

    @staticmethod
    def finish_write(s: Session, write_id: int, outcome: str, detail: str | None = None) -> None:
        """Close an ``api_writes`` row (inside ``s``): answered | lost | error | interrupted."""
        write = s.get(ApiWrite, write_id)
        if write is None:
            raise LookupError(f"api write {write_id} not found")
        write.outcome, write.finished_at, write.detail = outcome, utcnow(), detail

    def open_writes(self, s: Session, sync_run_id: int) -> list[ApiWrite]:
        """The run's calls still recorded as ``sending`` (inside ``s``): a process died before their answer."""
        return list(s.scalars(select(ApiWrite).where(ApiWrite.sync_run_id == sync_run_id,
                                                     ApiWrite.outcome == "sending")))

    # ---------------------------------------------------------------------------------------- tokens
    def token_state(self, conn_id: str) -> TokenState | None:
        """The newest tokens aeops refreshed for a connection (None: the connection's own are the newest)."""
        with self.session() as s:
            return s.get(TokenState, conn_id)

    def save_tokens(self, conn_id: str, access_token: str, refresh_token: str | None, expires_at: datetime,
                    refresh_expires_at: datetime | None) -> None:
        """Keep the newest tokens of a connection; both are stored encrypted (``aeops.store.crypto``)."""
        crypto.cipher()  # no key: KeyMissing (one line) before any statement carries the tokens
        with self.session() as s:
            state = s.get(TokenState, conn_id) or TokenState(conn_id=conn_id)
            state.access_token, state.refresh_token = access_token, refresh_token
            state.expires_at, state.refresh_expires_at = expires_at, refresh_expires_at
            s.add(state)

    def rotate_token_keys(self) -> int:
        """Re-encrypt every stored token under the first configured Fernet key (after putting a new key in front);
        returns the number of connections re-encrypted."""
        with self.session() as s:
            states = list(s.scalars(select(TokenState)))
            for state in states:  # values pass through EncryptedText again: encrypted with the first key
                s.execute(update(TokenState).where(TokenState.conn_id == state.conn_id)
                          .values(access_token=state.access_token, refresh_token=state.refresh_token))
            return len(states)
