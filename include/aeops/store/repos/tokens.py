"""The newest access and refresh tokens aeops obtained for a connection (``token_state``), kept encrypted with
Fernet (:mod:`aeops.store.crypto`): never in clear in the table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from aeops.store import crypto
from aeops.store.models import TokenState
from aeops.store.repos.base import Repository


class Tokens(Repository):
    """``ledger.tokens``: the tokens the daily sync refreshed, per connection."""

    def get(self, conn_id: str) -> TokenState | None:
        """The newest tokens aeops refreshed for a connection (None: the connection's own are the newest)."""
        with self._transaction() as s:
            return s.get(TokenState, conn_id)

    def save(self, conn_id: str, access_token: str, refresh_token: str | None, expires_at: datetime,
             refresh_expires_at: datetime | None) -> None:
        """Keep the newest tokens of a connection; both are stored encrypted (``aeops.store.crypto``)."""
        crypto.cipher()  # no key: KeyMissing (one line) before any statement carries the tokens
        with self._transaction() as s:
            state = s.get(TokenState, conn_id) or TokenState(conn_id=conn_id)
            state.access_token, state.refresh_token = access_token, refresh_token
            state.expires_at, state.refresh_expires_at = expires_at, refresh_expires_at
            s.add(state)

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the first configured Fernet key (after putting a new key in front);
        returns the number of connections re-encrypted."""
        with self._transaction() as s:
            states = list(s.scalars(select(TokenState)))
            for state in states:  # values pass through EncryptedText again: encrypted with the first key
                s.execute(update(TokenState).where(TokenState.conn_id == state.conn_id)
                          .values(access_token=state.access_token, refresh_token=state.refresh_token))
            return len(states)
