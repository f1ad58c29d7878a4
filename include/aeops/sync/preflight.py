"""The daily sync's first step per store: the connection works, the token is fresh, the account may be updated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.catalog.account import AccountRefused, require_normal_standing
from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.timestamps import aware
from aeops.config import AeopsConfig
from aeops.marketplace import AuthError
from aeops.marketplace.interface import MarketplaceClient
from aeops.secrets import get_logger
from aeops.sync.errors import SyncError

log = get_logger(__name__)


def preflight(store: str, *, client: MarketplaceClient | None = None,
              config: AeopsConfig | None = None) -> dict[str, Any]:
    """Connection works, token not about to expire (refreshed when due), account in normal standing (a frozen,
    restricted or unknown standing is refused with the reason)."""
    ctx = context(store, config)
    client = client or client_for(ctx.store)
    conn_id = ctx.store.conn_id
    token = ctx.ledger.tokens.get(conn_id)
    expires_at = None
    if token is not None:  # a refreshed token is newer than the connection's
        client.access_token, client.refresh_token = token.access_token, token.refresh_token
        expires_at = aware(token.expires_at)
    due = expires_at is not None and expires_at <= datetime.now(UTC) + timedelta(days=ctx.store.token_refresh_days)
    if due:
        log.info("%s: access token expires %s, within %d days: refreshing", store, expires_at,
                 ctx.store.token_refresh_days)
        refresh_token(ctx, client)
    try:
        standing = client.account_standing()
    except AuthError as exc:
        raise SyncError(f"{store}: the marketplace rejected the credentials of connection {conn_id!r} "
                        f"({exc.code}); re-authorise the app for this seller and update the connection") from None
    try:
        require_normal_standing(standing, store)
    except AccountRefused as refused:
        raise SyncError(str(refused)) from None
    log.info("%s: preflight ok (seller %s, account %s, %s merchant)", store, standing.seller_id, standing.status,
             standing.merchant_type or "unknown")
    return {"seller_id": standing.seller_id, "status": standing.status, "merchant_type": standing.merchant_type}


def refresh_token(ctx: RunContext, client: MarketplaceClient) -> None:
    """Refresh the access token and keep the newest tokens in the aeops DB (the connection stays as set up)."""
    info = client.refresh_access_token()
    expires = (datetime.fromtimestamp(info.expire_time_ms / 1000, UTC) if info.expire_time_ms
               else datetime.now(UTC) + timedelta(days=30))
    refresh_expires = (datetime.fromtimestamp(info.refresh_token_valid_time_ms / 1000, UTC)
                       if info.refresh_token_valid_time_ms else None)
    ctx.ledger.tokens.save(ctx.store.conn_id, info.access_token, info.refresh_token or client.refresh_token,
                           expires, refresh_expires)
    log.info("%s: token refreshed, valid until %s", ctx.store.name, expires)
