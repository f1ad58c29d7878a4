"""The daily sync's export guard per store run (``export_guards``): the checks, the largest moves, the hold and a
person's decision (:mod:`aeops.sync.export_guard`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from aeops.store.models import Change, ExportGuard, utcnow
from aeops.store.repos.base import Repository
from aeops.store.status import ChangeStatus

BASELINES_KEPT = 3  # a store's newest rows keep their export's product ids (older ones are emptied)


class ExportGuards(Repository):
    """``ledger.guards``: what the export guard saw and decided for each store run."""

    def record(self, sync_run_id: int, store: str, *, held: bool, dry_run: bool, checks: list[dict[str, Any]],
               moves: dict[str, Any], product_ids: Iterable[int]) -> ExportGuard:
        """Keep the guard's verdict of a run (a retried plan replaces it, but never a decision already given: a
        decided export stays decided)."""
        with self._transaction() as s:
            row = s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == sync_run_id)).one_or_none()
            if row is None:
                row = ExportGuard(sync_run_id=sync_run_id, store=store)
                s.add(row)
            if row.decision is None:
                row.held, row.dry_run, row.checks, row.moves = held, dry_run, checks, moves
            row.product_ids = sorted(set(product_ids))
            s.flush()
            older = list(s.scalars(select(ExportGuard.id).where(ExportGuard.store == store)
                                   .order_by(ExportGuard.sync_run_id.desc()).offset(BASELINES_KEPT)))
            if older:
                s.execute(update(ExportGuard).where(ExportGuard.id.in_(older)).values(product_ids=[]))
            return row

    def of_run(self, sync_run_id: int) -> ExportGuard | None:
        """The guard's row of a run (None: the run never planned, or planned before the guard existed)."""
        with self._transaction() as s:
            return s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == sync_run_id)).one_or_none()

    def baseline_products(self, store: str, before: int) -> list[int] | None:
        """The products of the store's newest export before run ``before`` that was let through (not held, or
        approved; dry runs aside); None when there is none (a first run)."""
        with self._transaction() as s:
            row = s.scalars(select(ExportGuard).where(
                ExportGuard.store == store, ExportGuard.sync_run_id < before, ExportGuard.dry_run.is_(False),
                (ExportGuard.held.is_(False)) | (ExportGuard.decision == "approved"))
                .order_by(ExportGuard.sync_run_id.desc()).limit(1)).first()
            return list(row.product_ids) if row is not None and row.product_ids else None

    def holding(self, sync_run_ids: Iterable[int]) -> set[int]:
        """Of these runs, those whose export the guard holds (held and not approved: waiting, rejected or timed
        out): nothing of theirs may be pushed."""
        ids = list(sync_run_ids)
        if not ids:
            return set()
        with self._transaction() as s:
            return set(s.scalars(select(ExportGuard.sync_run_id).where(
                ExportGuard.sync_run_id.in_(ids), ExportGuard.held.is_(True), ExportGuard.dry_run.is_(False),
                ExportGuard.decision.is_distinct_from("approved"))))

    def mark_asked(self, sync_run_id: int) -> bool:
        """Record that a person was asked; True the first time only (one Slack notice per hold)."""
        with self._transaction() as s:
            row = s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == sync_run_id)).one_or_none()
            if row is None or row.asked_at is not None:
                return False
            row.asked_at = utcnow()
            return True

    def decide(self, sync_run_id: int, decision: str, by: str | None, at: datetime) -> int:
        """Keep a person's decision (``approved`` | ``rejected`` | ``timed out``); anything but approved marks the
        run's planned changes ``rejected`` (never sent, never retried) in the same transaction. Returns how many
        changes were rejected."""
        with self._transaction() as s:
            row = s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == sync_run_id)).one()
            row.decision, row.decided_by, row.decided_at = decision, by, at
            if decision == "approved":
                return 0
            result = s.execute(update(Change).where(Change.sync_run_id == sync_run_id,
                                                    Change.status == str(ChangeStatus.PLANNED))
                               .values(status=str(ChangeStatus.REJECTED), updated_at=utcnow()))
            return int(result.rowcount or 0)
