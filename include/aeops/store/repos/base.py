"""What every repository shares: the one session factory it works through, and bounded ``IN`` lists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.orm import Session

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
