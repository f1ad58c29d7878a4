"""The daily sync's first step per store: the connection works, the token is fresh (the client every task gets,
:func:`aeops.catalog.context.client_for`, refreshes it when due), the account may be updated
(:mod:`aeops.catalog.account`: the platform's ``product_posting_forbidden``, else the operator's declaration)."""

from __future__ import annotations

from typing import Any

from aeops.catalog.account import AccountRefused, decide_standing, require
from aeops.catalog.context import client_for, context
from aeops.catalog.credentials import keep_fresh
from aeops.config import AeopsConfig
from aeops.marketplace import ApiError, AuthError, MerchantProfile
from aeops.marketplace.interface import MarketplaceClient
from aeops.secrets import get_logger
from aeops.sync.errors import SyncError

log = get_logger(__name__)


def preflight(store: str, *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None,
              dag_id: str | None = None, run_id: str | None = None, sync_run_id: int | None = None) -> dict[str, Any]:
    """Connection works, token not about to expire (refreshed when due), writes allowed (refused with the reason
    when the platform forbids posting or nobody says the account may be written). The decision and its source
    are logged and, for a run (``sync_run_id``, or ``dag_id`` + ``run_id``), kept in ``artifacts["standing"]``
    for its report."""
    ctx = context(store, config)
    # the newest tokens (refreshed when due, under the connection's lock): aeops.catalog.credentials
    client = client_for(ctx) if client is None else keep_fresh(ctx.ledger, ctx.store, client)
    conn_id = ctx.store.conn_id
    profile = _merchant_profile(client, store, conn_id)
    decision = decide_standing(profile, ctx.store)
    if sync_run_id is None and dag_id and run_id:
        sync_run_id = ctx.ledger.runs.start(store, dag_id, run_id)
    if sync_run_id is not None:
        ctx.ledger.runs.update(sync_run_id, artifacts={"standing": decision.to_dict()})
    try:
        require(decision, store)
    except AccountRefused as refused:
        raise SyncError(str(refused)) from None
    log.info("%s: preflight ok (seller %s): %s [decided by: %s]", store, client.seller_id, decision.text("en"),
             _SOURCES[decision.source])
    return {"seller_id": client.seller_id, "standing": decision.to_dict()}


_SOURCES = {"platform": "platform field", "declaration": "operator declaration", "none": "nobody"}


def _merchant_profile(client, store: str, conn_id: str) -> MerchantProfile | None:
    """The seller profile; None when the platform refused the call with a business error (the operator's
    declaration then decides alone). Refused credentials stop the run; server errors, throttling and the daily
    quota (after the client's retries) fail the task, which Airflow retries."""
    try:
        return client.merchant_profile()
    except AuthError as exc:
        raise SyncError(f"{store}: the marketplace rejected the credentials of connection {conn_id!r} "
                        f"({exc.code}); re-authorise the app for this seller and update the connection") from None
    except ApiError as exc:
        if type(exc) is not ApiError:  # ServerError, Throttled, QuotaExhausted: not an answer about the account
            raise
        log.warning("%s: seller profile not readable (%s): product_posting_forbidden not stated", store,
                    exc.code or type(exc).__name__)
        return None
