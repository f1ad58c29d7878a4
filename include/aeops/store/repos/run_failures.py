"""The failures of DAG runs (``run_failures``): one row per run, task and map index (``task_id`` empty: the run
itself), with its one-line error; written by the failure callbacks, read by the run's one Slack page
(:mod:`aeops.notify.pages`), its report, its summary and its verdict."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from aeops.store.models import RunFailure, utcnow
from aeops.store.repos.base import Repository


class RunFailures(Repository):
    """``ledger.failures``: what failed in each DAG run."""

    def record(self, dag_id: str, run_id: str, *, task_id: str, map_index: int, store: str | None, error: str,
               try_number: int | None) -> bool:
        """Record a failure once per (run, task, map index); True when it is new (a later try updates its error and
        keeps the store first recorded)."""
        try:
            with self._transaction() as s:
                s.add(RunFailure(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, store=store,
                                 error=error, try_number=try_number, created_at=utcnow()))
            return True
        except IntegrityError:
            with self._transaction() as s:
                row = s.scalars(select(RunFailure).where(
                    RunFailure.dag_id == dag_id, RunFailure.run_id == run_id, RunFailure.task_id == task_id,
                    RunFailure.map_index == map_index)).one()
                row.error, row.try_number = error, try_number
                row.store = row.store or store
            return False

    def of_run(self, dag_id: str, run_id: str, store: str | None = None) -> list[RunFailure]:
        """The run's failures in the order they happened; with ``store``: that store's and those of no store."""
        with self._transaction() as s:
            query = select(RunFailure).where(RunFailure.dag_id == dag_id, RunFailure.run_id == run_id)
            if store is not None:
                query = query.where(or_(RunFailure.store == store, RunFailure.store.is_(None)))
            return list(s.scalars(query.order_by(RunFailure.id)))
