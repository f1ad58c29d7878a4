"""What earlier runs left unsynced, as :class:`~aeops.catalog.ledger.Ledger` methods (a mixin: the ledger's SQL,
kept in its own file): the changes the next daily run retries without a person, products failing run after run
(escalated), and since when the oldest unsynced change has waited (freshness)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aeops.catalog.status import RETRY, ChangeStatus
from aeops.secrets import get_logger
from aeops.store.models import Change, ProductState, SyncRun, VerifyResult

log = get_logger(__name__)

IN_BATCH = 500  # ids per IN list (SQLite caps bound parameters)


@dataclass(frozen=True)
class UnsettledChange:
    """A change that did not end known good (what the next daily run retries)."""

    sync_run_id: int
    product_id: int
    kind: str
    status: str
    error_code: str | None
    error_message: str | None



def _chunks(ids: list[int], size: int = IN_BATCH) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class UnsettledQueries:
    """The unsynced-change queries of the :class:`~aeops.catalog.ledger.Ledger` (which provides ``session``)."""

    def session(self) -> AbstractContextManager[Session]:  # pragma: no cover - provided by Ledger
        raise NotImplementedError

    def unsettled_changes(self, store: str, before: int, runs: int = 5) -> dict[tuple[int, str], UnsettledChange]:
        """What the store's last ``runs`` runs (any DAG, skipped ones aside) before run ``before`` left not known good:
        the newest change of each (product, kind) when it failed, was never answered, failed verification, or was
        confirmed for a product whose verification failed. A later good change of the same product and kind (an
        urgent re-run, the next daily run), or a later read of the product that planned nothing of that kind (the
        marketplace already right), settles it. The daily sync retries these without a person."""
        found = self._unsettled(store, SyncRun.id < before, runs)
        return {key: change for key, (change, _since) in found.items() if key[1] != "unpushable"}

    def oldest_unsynced(self, store: str, upto: int, runs: int = 30) -> datetime | None:
        """Since when the oldest change unsynced after run ``upto`` has been so: the start of the first of the
        store's last ``runs`` runs since which that product's change of that kind has been failed, unverified,
        never answered or unpushable (blocked); None when everything is synced."""
        found = self._unsettled(store, SyncRun.id <= upto, runs, blocked=True)
        return min((since for _change, since in found.values()), default=None)

    def _unsettled(self, store: str, window: Any, runs: int, *, blocked: bool = False
                   ) -> dict[tuple[int, str], tuple[UnsettledChange, datetime]]:
        with self.session() as s:
            started = dict(s.execute(select(SyncRun.id, SyncRun.started_at).where(
                SyncRun.store == store, window, SyncRun.status.is_distinct_from("skipped"))
                .order_by(SyncRun.id.desc()).limit(runs)).all())
            if not started:
                return {}
            unverified = set(s.execute(select(VerifyResult.sync_run_id, VerifyResult.product_id).where(
                VerifyResult.sync_run_id.in_(list(started)), VerifyResult.passed.is_(False))).all())
            latest: dict[tuple[int, str], tuple[UnsettledChange, datetime, datetime]] = {}
            since: dict[tuple[int, str], datetime] = {}
            for row in s.execute(select(Change.sync_run_id, Change.product_id, Change.kind, Change.status,
                                        Change.error_code, Change.error_message, Change.updated_at)
                                 .where(Change.sync_run_id.in_(list(started)),
                                        Change.status != str(ChangeStatus.REJECTED))
                                 .order_by(Change.id)):
                key = (row.product_id, row.kind)
                bad = row.status in RETRY or (blocked and row.status == ChangeStatus.UNPUSHABLE) or (
                    row.status == ChangeStatus.CONFIRMED and (row.sync_run_id, row.product_id) in unverified)
                if bad:
                    since.setdefault(key, started[row.sync_run_id])
                    latest[key] = (UnsettledChange(*row[:6]), since[key], row.updated_at)
                else:
                    since.pop(key, None)
                    latest.pop(key, None)
            seen = self._last_seen(s, store, {pid for pid, _kind in latest})
        # read again after the change and nothing of that kind planned since: the marketplace was already right
        return {key: (change, first) for key, (change, first, at) in latest.items()
                if not (seen.get(key[0]) and at and seen[key[0]] > at)}

    @staticmethod
    def _last_seen(s: Session, store: str, product_ids: set[int]) -> dict[int, datetime]:
        found: dict[int, datetime] = {}
        for chunk in _chunks(sorted(product_ids)):
            found.update(s.execute(select(ProductState.product_id, ProductState.last_seen_at).where(
                ProductState.store == store, ProductState.product_id.in_(chunk))).all())
        return found

    def failing_streak(self, store: str, dag_id: str, sync_run_id: int, runs: int = 3) -> dict[int, UnsettledChange]:
        """Products with a failed change in each of the store's last ``runs`` runs of ``dag_id`` up to
        ``sync_run_id`` (skipped runs aside), with the newest failure (the platform's error code and message)."""
        with self.session() as s:
            run_ids = list(s.scalars(select(SyncRun.id).where(
                SyncRun.store == store, SyncRun.dag_id == dag_id, SyncRun.id <= sync_run_id,
                SyncRun.status.is_distinct_from("skipped")).order_by(SyncRun.id.desc()).limit(runs)))
            if len(run_ids) < runs:
                return {}
            failed: dict[int, dict[int, UnsettledChange]] = {run: {} for run in run_ids}
            for row in s.execute(select(Change.sync_run_id, Change.product_id, Change.kind, Change.status,
                                        Change.error_code, Change.error_message)
                                 .where(Change.sync_run_id.in_(run_ids), Change.status == str(ChangeStatus.FAILED))
                                 .order_by(Change.id)):
                failed[row.sync_run_id][row.product_id] = UnsettledChange(*row)
        streak = set.intersection(*(set(products) for products in failed.values()))
        return {pid: failed[run_ids[0]][pid] for pid in sorted(streak)}

