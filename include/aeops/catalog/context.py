"""What every step of a catalog run starts from: the settings, the store, its ledger and its marketplace client."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Any

from aeops.catalog.credentials import keep_fresh
from aeops.catalog.timestamps import today_in
from aeops.config import AeopsConfig, ConfigError, StoreConfig, load_airflow_config
from aeops.marketplace.app_limits import app_limits
from aeops.marketplace.interface import MarketplaceClient
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)


@dataclass(frozen=True)
class RunContext:
    """One store of one run: ``ctx.config``, ``ctx.store`` (its settings), ``ctx.ledger`` (the aeops DB)."""

    config: AeopsConfig
    store: StoreConfig
    ledger: Ledger

    @property
    def db_url(self) -> str:
        """The aeops DB's URL, for the parts that take one (the Slack outbox, the certificate registry)."""
        return self.ledger.url

    def today(self) -> date:
        """Today in the store's time zone."""
        return today_in(self.store.timezone)


def context(store: str, config: AeopsConfig | None = None) -> RunContext:
    """The context of ``store``: settings from ``config`` (inside a task: the ``aeops_config`` Variable); the aeops
    DB's schema is brought up to date once per process."""
    cfg = config or load_airflow_config()
    return RunContext(cfg, cfg.store(store), Ledger(cfg.resolved_database_url()))


def client_for(ctx: RunContext, **overrides: Any) -> MarketplaceClient:
    """The one way every task gets the store's marketplace client: built from the store's connection (app key and
    secret; its secrets registered with :mod:`aeops.secrets`), with the newest tokens of ``token_state`` (refreshed
    when due, under the connection's lock) and a call refused for its access token sent once more after a refresh
    (:mod:`aeops.catalog.credentials`; ReauthoriseNeeded when no refresh token is accepted any more)."""

    from aeops.marketplace.hooks import AliExpressHook  # imports Airflow

    store, cfg = ctx.store, ctx.config
    client = AliExpressHook(store.conn_id).get_client(**{"qps": store.qps, "platform_tz": store.platform_tz,
                                                         **overrides})
    client.app_limits = app_limits(cfg.rate_limit_backend or os.environ.get("AEOPS_RATE_LIMIT"),
                                   app_qps=cfg.app_qps, api_qps=cfg.app_api_qps, daily_quota=cfg.app_daily_quota)
    return keep_fresh(ctx.ledger, store, client)


def list_stores(only: list[str] | None, config: AeopsConfig | None = None) -> list[str]:
    """The configured stores' names (only those in ``only`` when given; ConfigError naming unknown ones)."""
    cfg = config or load_airflow_config()
    names = [s.name for s in cfg.stores]
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ConfigError(f"unknown store(s) {', '.join(unknown)}; configured: {', '.join(names)}")
        names = [n for n in names if n in only]
    log.info("stores in this run: %s", ", ".join(names))
    return names
