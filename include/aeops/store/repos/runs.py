"""Runs and what belongs to one: ``sync_runs``, ``run_milestones``, ``exports`` and ``findings``.

A run is one pipeline run for one store (daily sync, urgent re-run, certificate replacement, ...); a task of the
run that is retried finds the same row again. Findings are replaced as a whole per run (a retried validate task
never doubles them); an export is recorded once per content (store + sha256).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from aeops.store.models import Export, RunMilestone, SyncRun, utcnow
from aeops.store.models import Finding as FindingRow
from aeops.store.repos import json_sql
from aeops.store.repos.base import Repository, chunks, same_job


class FindingLike(Protocol):
    """What a rule finding carries into ``findings`` (:class:`aeops.findings.Finding` is one)."""

    code: str
    severity: Any
    file: str | None
    row: int | None
    product_id: int | None
    sku_code: str | None
    field: str | None
    message: str

    def texts_json(self) -> dict[str, Any] | None:
        """The finding's translatable texts (template ids and values), stored for rendering later."""


class Runs(Repository):
    """``ledger.runs``: runs, their milestones, exports and findings."""

    # ------------------------------------------------------------------------------------------ runs
    def start(self, store: str, dag_id: str, run_id: str, kind: str = "daily") -> int:
        """The run's id; the same id again when a task of the run is retried."""
        with self._transaction() as s:
            run = s.scalars(select(SyncRun).where(SyncRun.store == store, SyncRun.dag_id == dag_id,
                                                  SyncRun.run_id == run_id)).one_or_none()
            if run is None:
                run = SyncRun(store=store, dag_id=dag_id, run_id=run_id, kind=kind)
                s.add(run)
                s.flush()
            return run.id

    def get(self, sync_run_id: int) -> SyncRun:
        """The sync run ``sync_run_id``; LookupError when there is none."""
        with self._transaction() as s:
            run = s.get(SyncRun, sync_run_id)
            if run is None:
                raise LookupError(f"sync run {sync_run_id} not found")
            return run

    def update(self, sync_run_id: int, **values: Any) -> None:
        """Set columns of a run; ``counts`` and ``artifacts`` are merged into the stored ones by key, not replaced
        (a step writing its artifact never drops another step's). The merge is the database's, in one ``UPDATE``
        (:mod:`aeops.store.repos.json_sql`): two tasks writing different keys of one run at once both keep theirs."""
        with self._transaction() as s:
            counts = values.pop("counts", None)
            if counts:
                values["counts"] = json_sql.set_keys(s, SyncRun.counts, counts)
            artifacts = values.pop("artifacts", None)
            if artifacts:
                values["artifacts"] = json_sql.set_keys(s, SyncRun.artifacts, artifacts)
            query = update(SyncRun).where(SyncRun.id == sync_run_id).execution_options(synchronize_session=False)
            found = s.execute(query.values(**values) if values else query.values(id=SyncRun.id)).rowcount
            if not found:
                raise LookupError(f"sync run {sync_run_id} not found")

    def add_artifact_entries(self, sync_run_id: int, key: str, entries: dict[str, Any]) -> None:
        """Add ``entries`` to the run's artifact map ``key`` (e.g. ``image_urls``: source image -> photobank URL),
        keeping every entry another task added meanwhile (the database merges, in one ``UPDATE``)."""
        if not entries:
            return
        with self._transaction() as s:
            found = s.execute(update(SyncRun).where(SyncRun.id == sync_run_id).values(
                artifacts=json_sql.add_entries(s, SyncRun.artifacts, key, entries))
                .execution_options(synchronize_session=False)).rowcount
            if not found:
                raise LookupError(f"sync run {sync_run_id} not found")

    def find(self, store: str, run_id: str, dag_id: str | None = None) -> SyncRun | None:
        """The store's run with this Airflow run id (of ``dag_id`` when given; the newest if several match)."""
        with self._transaction() as s:
            query = select(SyncRun).where(SyncRun.store == store, SyncRun.run_id == run_id)
            if dag_id:
                query = query.where(SyncRun.dag_id == dag_id)
            return s.scalars(query.order_by(SyncRun.id.desc())).first()

    def of_dag_run(self, dag_id: str, run_id: str) -> list[SyncRun]:
        """Every store's run of one Airflow DAG run."""
        with self._transaction() as s:
            return list(s.scalars(select(SyncRun).where(SyncRun.dag_id == dag_id, SyncRun.run_id == run_id)
                                  .order_by(SyncRun.id)))

    def recent(self, store: str, dag_id: str | None = None, limit: int = 5) -> list[SyncRun]:
        """The store's newest runs (of ``dag_id``'s job when given: its all-store and per-store DAGs), newest
        first."""
        with self._transaction() as s:
            query = select(SyncRun).where(SyncRun.store == store)
            if dag_id:
                query = query.where(same_job(SyncRun.dag_id, dag_id))
            return list(s.scalars(query.order_by(SyncRun.id.desc()).limit(limit)))

    def last_that_ran(self, store: str, dag_id: str, other_than: int) -> SyncRun | None:
        """The store's newest run of ``dag_id``'s job (all-store or per-store DAG) except ``other_than`` that was
        not skipped, however old."""
        with self._transaction() as s:
            return s.scalars(select(SyncRun).where(SyncRun.store == store, same_job(SyncRun.dag_id, dag_id),
                                                   SyncRun.id != other_than, SyncRun.status != "skipped")
                             .order_by(SyncRun.id.desc()).limit(1)).first()

    # ------------------------------------------------------------------------------------ milestones
    def add_milestone(self, sync_run_id: int, name: str, detail: dict[str, Any] | None = None) -> bool:
        """Record a once-only event of a run; True for the first caller, False when it was already recorded."""
        try:
            with self._transaction() as s:
                s.add(RunMilestone(sync_run_id=sync_run_id, name=name, detail=detail or {}))
            return True
        except IntegrityError:
            return False

    def milestones(self, sync_run_id: int) -> dict[str, RunMilestone]:
        """The milestones a run reached, by name."""
        with self._transaction() as s:
            return {m.name: m for m in s.scalars(select(RunMilestone).where(RunMilestone.sync_run_id == sync_run_id))}

    # --------------------------------------------------------------------------------------- exports
    def record_export(self, store: str, path: str, size: int, sha256: str, sync_run_id: int) -> tuple[int, bool]:
        """Record an export (once per content); returns (export id, already synced successfully)."""
        with self._transaction() as s:
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

    def export(self, export_id: int) -> Export | None:
        """The export ``export_id`` (None: not recorded)."""
        with self._transaction() as s:
            return s.get(Export, export_id)

    def mark_export_synced(self, export_id: int, run_id: str) -> None:
        """Record that ``run_id`` synced the export ``export_id``."""
        with self._transaction() as s:
            export = s.get(Export, export_id)
            if export is None:
                raise LookupError(f"export {export_id} not found")
            export.synced_at, export.synced_run_id = utcnow(), run_id

    # -------------------------------------------------------------------------------------- findings
    def store_findings(self, sync_run_id: int, store: str, findings: Iterable[FindingLike]) -> int:
        """Replace the run's findings (idempotent when the validate task is retried)."""
        rows = [FindingRow(sync_run_id=sync_run_id, store=store, code=f.code, severity=str(f.severity), file=f.file,
                           row=f.row, product_id=f.product_id, sku_code=f.sku_code, field=f.field, message=f.message,
                           texts=f.texts_json())
                for f in findings]
        with self._transaction() as s:
            s.execute(delete(FindingRow).where(FindingRow.sync_run_id == sync_run_id))
            s.add_all(rows)
        return len(rows)

    def findings_by_code(self, sync_run_id: int) -> dict[str, int]:
        """The run's findings counted by code."""
        with self._transaction() as s:
            result = s.execute(select(FindingRow.code, func.count()).where(FindingRow.sync_run_id == sync_run_id)
                               .group_by(FindingRow.code))
            return {code: count for code, count in result}

    def findings_by_code_of_runs(self, sync_run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Findings per code of each run (one GROUP BY; runs without findings are absent)."""
        ids = list(sync_run_ids)
        found: dict[int, dict[str, int]] = {}
        with self._transaction() as s:
            for chunk in chunks(ids):
                rows = s.execute(select(FindingRow.sync_run_id, FindingRow.code, func.count())
                                 .where(FindingRow.sync_run_id.in_(chunk))
                                 .group_by(FindingRow.sync_run_id, FindingRow.code))
                for run_id, code, count in rows:
                    found.setdefault(run_id, {})[code] = count
        return found

    def findings(self, sync_run_id: int) -> list[FindingRow]:
        """The run's findings, in export row order."""
        with self._transaction() as s:
            return list(s.scalars(select(FindingRow).where(FindingRow.sync_run_id == sync_run_id)
                                  .order_by(FindingRow.row)))

    def blocked_rows(self, sync_run_id: int) -> set[int]:
        """Export rows an error finding of the run points at (they are never pushed)."""
        with self._transaction() as s:
            return set(s.scalars(select(FindingRow.row).where(
                FindingRow.sync_run_id == sync_run_id, FindingRow.severity == "error", FindingRow.row.is_not(None))))
