"""The newest access and refresh tokens aeops obtained for a connection (``token_state``), kept encrypted with
Fernet (:mod:`aeops.store.crypto`): never in clear in the table."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from aeops.store import crypto
from aeops.store.models import TokenState
from aeops.store.repos.base import Repository


@dataclass(frozen=True)
class NewTokens:
    """What a refresh gave: both tokens and when they expire (UTC; the refresh token's when the platform said)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    refresh_expires_at: datetime | None


class Tokens(Repository):
    """``ledger.tokens``: the tokens aeops refreshed, per connection."""

    def get(self, conn_id: str) -> TokenState | None:
        """The newest tokens aeops refreshed for a connection (None: the connection's own are the newest)."""
        with self._transaction() as s:
            return s.get(TokenState, conn_id)

    def save(self, conn_id: str, access_token: str, refresh_token: str | None, expires_at: datetime,
             refresh_expires_at: datetime | None) -> None:
        """Keep the newest tokens of a connection; both are stored encrypted (``aeops.store.crypto``)."""
        crypto.cipher()  # no key: KeyMissing (one line) before any statement carries the tokens
        with self._transaction() as s:
            _put(s, conn_id, NewTokens(access_token, refresh_token, expires_at, refresh_expires_at))

    def refresh_locked(self, conn_id: str,
                       refresh: Callable[[TokenState | None], NewTokens | None]) -> TokenState | None:
        """One transaction holding the connection's refresh lock: the newest tokens are read *after* the lock is
        taken (another task may have refreshed them while this one waited) and handed to ``refresh``, which decides
        and makes the platform call; what it returns is kept (None: nothing new). Returns the newest tokens.

        The lock: on PostgreSQL a transaction-scoped advisory lock on the connection (``pg_advisory_xact_lock``:
        needs no row, so it also guards a connection's first refresh; held across Celery workers; freed at commit,
        at rollback and when a dead worker's connection closes); on SQLite the database's write lock
        (``BEGIN IMMEDIATE``: one writer per file, the other writers wait up to the busy timeout, 30 s, for the
        one refresh call). ``refresh`` raising rolls back and frees the lock."""
        crypto.cipher()  # no key: KeyMissing before the platform hands out a token that could not be kept
        with self._transaction() as s:
            _lock(s, conn_id)
            current = s.get(TokenState, conn_id, populate_existing=True)
            new = refresh(current)
            return current if new is None else _put(s, conn_id, new, current)

    def unreadable(self) -> list[str]:
        """The connections whose stored tokens none of the configured Fernet keys opens (``aeops doctor``)."""
        with self._transaction() as s:
            rows = s.execute(text("SELECT conn_id, access_token FROM token_state")).all()
        return sorted(conn for conn, token in rows if token and not crypto.readable(token))

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the first configured Fernet key (after putting a new key in front);
        returns the number of connections re-encrypted."""
        with self._transaction() as s:
            states = list(s.scalars(select(TokenState)))
            for state in states:  # values pass through EncryptedText again: encrypted with the first key
                s.execute(update(TokenState).where(TokenState.conn_id == state.conn_id)
                          .values(access_token=state.access_token, refresh_token=state.refresh_token))
            return len(states)


def _put(s: Session, conn_id: str, new: NewTokens, current: TokenState | None = None) -> TokenState:
    state = current or s.get(TokenState, conn_id) or TokenState(conn_id=conn_id)
    state.access_token, state.refresh_token = new.access_token, new.refresh_token
    state.expires_at, state.refresh_expires_at = new.expires_at, new.refresh_expires_at
    s.add(state)
    s.flush()
    return state


def _lock(s: Session, conn_id: str) -> None:
    """Take the connection's refresh lock for the rest of the session's transaction (see ``refresh_locked``)."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"aeops token refresh\x1f{conn_id}".encode(), digest_size=8).digest(),
                             "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":  # the session's first statement: pysqlite has not begun a transaction yet
        s.execute(text("BEGIN IMMEDIATE"))
    else:
        raise NotImplementedError(f"no token refresh lock for {dialect}: the aeops DB is SQLite or PostgreSQL")
