"""What every repository shares: the one session factory it works through, and bounded ``IN`` lists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import or_
from sqlalchemy.orm import Session

from aeops.schedules import SEPARATOR, job_dag_id

IN_BATCH = 500  # ids per IN list (SQLite caps bound parameters)
BULK_ROWS = 5000  # rows per bulk INSERT/UPDATE statement


class Transactions(Protocol):
    """Where a repository gets its sessions: :class:`aeops.store.db.Database` (the ledger is one)."""

    def transaction(self) -> AbstractContextManager[Session]:
        """A transaction on the aeops DB: committed on leaving, rolled back on an error."""


class Repository:
    """One aggregate's SQL over the ledger's session factory: each method is one transaction unless it says
    otherwise."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    def _transaction(self) -> AbstractContextManager[Session]:
        return self._db.transaction()


def chunks(ids: list[int], size: int = IN_BATCH) -> Iterator[list[int]]:
    """``ids`` in slices of at most ``size`` (one ``IN`` list each)."""
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def same_job(column: Any, dag_id: str) -> Any:
    """A filter on a ``dag_id`` column for a store's history of one job: the all-store DAG and every per-store
    DAG of it (``aliexpress_catalog_sync`` and ``aliexpress_catalog_sync__<store>`` are one history; queries that
    use it are already limited to one store)."""
    base = job_dag_id(dag_id)
    escaped = (base + SEPARATOR).replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return or_(column == base, column.like(escaped + "%", escape="\\"))
