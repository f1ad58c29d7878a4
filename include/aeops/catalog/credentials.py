"""The newest tokens of a store's connection, for every marketplace client aeops builds.

The connection holds the tokens a person put there; ``token_state`` (``ledger.tokens``, Fernet-encrypted) holds the
newest aeops obtained by refreshing them, and those win. :func:`keep_fresh` (which
:func:`aeops.catalog.context.client_for` applies to every task's client) gives a client the newest tokens, registered
with :mod:`aeops.secrets`; refreshes them when they expire within the store's ``token_refresh_days``; and sets the
client's ``on_token_refused``, so a call the platform refuses for its access token is sent once more after a refresh.

Every refresh runs under the connection's refresh lock in the aeops DB
(:meth:`aeops.store.repos.tokens.Tokens.refresh_locked`) and decides on ``token_state`` as read once the lock is
held: a task that waited while another one refreshed takes the new tokens and calls nobody. The refresh tokens tried,
in order: ``token_state``'s (unless the platform said it has expired), then the connection's when it differs (a person
put new ones there after re-authorising the app).

When the platform refuses every refresh token (it lives 60 days for a launched app and a refresh does not extend it),
only the seller can help: :class:`ReauthoriseNeeded`, one line in the store's language naming the store and what to
do. The task fails with it and the run pages Slack once (:mod:`aeops.notify.pages`). While the access token still
works, a refused refresh is a warning in the log, not a failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aeops.config import StoreConfig
from aeops.i18n import N_, translator
from aeops.marketplace.errors import AuthError, SignatureError
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.models import TokenInfo
from aeops.secrets import get_logger, register_secret
from aeops.store.ledger import Ledger
from aeops.store.models import TokenState, aware
from aeops.store.repos.tokens import NewTokens

log = get_logger(__name__)

APP_REFUSALS = {"InvalidAppKey", "AppKeyNotExist", "11"}  # the app itself (key, IP whitelist), not the seller's
DEFAULT_ACCESS_DAYS = 30  # a refresh answer without expire_time: a launched app's documented access lifetime (§3.3)
REAUTHORISE = N_("re-authorise the app for {store}: the platform refused its refresh token ({why}). Have the seller "
                 "authorise app {app_key} again, then put the new access and refresh tokens in the extras of "
                 "connection {conn_id} (Airflow: Admin → Connections) and run it again")


class ReauthoriseNeeded(RuntimeError):
    """The platform refused every refresh token of a store: only the seller authorising the app again helps."""


def keep_fresh(ledger: Ledger, store: StoreConfig, client: MarketplaceClient) -> MarketplaceClient:
    """``client`` with the newest tokens of the store's connection (refreshed when due) and, for a client that
    takes one, the ``on_token_refused`` that refreshes them once a call is refused. ReauthoriseNeeded when they
    are due and no refresh token is accepted any more."""
    tokens = StoreTokens(ledger, store, client)
    tokens.load()
    if hasattr(client, "on_token_refused"):
        client.on_token_refused = tokens.after_refusal  # type: ignore[attr-defined]
    return client


class StoreTokens:
    """The tokens one client uses, kept as new as ``token_state`` (one per client; thread-safe)."""

    def __init__(self, ledger: Ledger, store: StoreConfig, client: MarketplaceClient) -> None:
        self.ledger, self.store, self.client = ledger, store, client
        self.connection_refresh_token = client.refresh_token  # the connection's own: tried after token_state's
        self._lock = threading.Lock()
        self._failed: ReauthoriseNeeded | None = None  # once no refresh token is accepted, the answer stays

    def load(self) -> None:
        """Take ``token_state``'s tokens when it has some; refresh them when they expire within
        ``token_refresh_days`` (the connection's own expiry is unknown: they are refreshed once refused)."""
        state = self.ledger.tokens.get(self.store.conn_id)
        if state is None:
            return
        self._use(state)
        if not self._due(state):
            return
        log.info("%s: access token expires %s, within %d days: refreshing", self.store.name,
                 aware(state.expires_at), self.store.token_refresh_days)
        try:
            self._refresh(lambda current: current is not None and not self._due(current))
        except ReauthoriseNeeded:
            if _expired(state):
                raise
            log.warning("%s: the refresh token was refused; the access token still works until %s: re-authorise "
                        "the app before then", self.store.name, aware(state.expires_at))

    def after_refusal(self, refused: str | None) -> None:
        """The client's ``on_token_refused``: switch to a newer token than ``refused``, refreshing when
        ``token_state`` holds none."""
        with self._lock:
            if self._failed is not None:  # this client met the refused refresh token already: no new call
                raise self._failed
            if self.client.access_token != refused:  # another thread of this client switched already
                return
            log.info("%s: access token refused by the platform: refreshing", self.store.name)
            self._refresh(lambda current: current is not None and current.access_token != refused
                          and not _expired(current))

    # ------------------------------------------------------------------------------------------- the refresh
    def _refresh(self, newer_is_enough: Callable[[TokenState | None], bool]) -> None:
        """Under the connection's lock: take what another task refreshed meanwhile, else refresh."""

        def decide(current: TokenState | None) -> NewTokens | None:
            return None if newer_is_enough(current) else self._call_platform(current)

        try:
            state = self.ledger.tokens.refresh_locked(self.store.conn_id, decide)
        except ReauthoriseNeeded as failed:
            self._failed = failed
            raise
        if state is not None:
            self._use(state)

    def _call_platform(self, current: TokenState | None) -> NewTokens:
        """Refresh with the first refresh token the platform accepts; ReauthoriseNeeded when it accepts none."""
        now = datetime.now(UTC)
        candidates: list[tuple[str, datetime | None]] = []
        why = "none configured"
        if current is not None:
            refresh_expires = aware(current.refresh_expires_at) if current.refresh_expires_at else None
            if refresh_expires is not None and refresh_expires <= now:
                why = f"expired {refresh_expires:%Y-%m-%d %H:%M} UTC"
            else:
                candidates.append((current.refresh_token, refresh_expires))
        known = {token for token, _ in candidates}
        if self.connection_refresh_token and self.connection_refresh_token not in known:
            candidates.append((self.connection_refresh_token, None))
        for token, refresh_expires in candidates:
            try:
                info = self.client.refresh_access_token(token)
            except AuthError as exc:
                if isinstance(exc, SignatureError) or (exc.code or "") in APP_REFUSALS:
                    raise  # the app's key or secret: re-authorising the seller would not help
                why = exc.code or type(exc).__name__
                log.warning("%s: the platform refused a refresh token (%s)", self.store.name, why)
                continue
            log.info("%s: token refreshed, valid until %s", self.store.name, _expiry(info.expire_time_ms, now))
            return _new_tokens(info, token, refresh_expires, now)
        raise self._reauthorise(why)

    def _reauthorise(self, why: str) -> ReauthoriseNeeded:
        values = {"store": self.store.name, "why": why, "conn_id": self.store.conn_id,
                  "app_key": getattr(self.client, "app_key", None) or "?"}
        log.error("%s", REAUTHORISE.format(**values))  # English in the log, for grep
        return ReauthoriseNeeded(translator(self.store.language)(REAUTHORISE).format(**values))

    # ------------------------------------------------------------------------------------------- helpers
    def _use(self, state: TokenState) -> None:
        register_secret(state.access_token)
        register_secret(state.refresh_token)
        self.client.access_token, self.client.refresh_token = state.access_token, state.refresh_token

    def _due(self, state: TokenState) -> bool:
        return aware(state.expires_at) <= datetime.now(UTC) + timedelta(days=self.store.token_refresh_days)


def _expired(state: TokenState) -> bool:
    return aware(state.expires_at) <= datetime.now(UTC)


def _expiry(ms: int | None, now: datetime) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else now + timedelta(days=DEFAULT_ACCESS_DAYS)


def _new_tokens(info: TokenInfo, used: str, refresh_expires: datetime | None, now: datetime) -> NewTokens:
    """What to keep of a refresh answer: the refresh token stays the one used when the answer names none, and so
    does its known expiry (a refresh does not extend it, §3.3)."""
    valid = info.refresh_token_valid_time_ms
    return NewTokens(info.access_token, info.refresh_token or used, _expiry(info.expire_time_ms, now),
                     datetime.fromtimestamp(valid / 1000, UTC) if valid else refresh_expires)
