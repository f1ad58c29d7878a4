"""The urgent re-run's ``retry_failed`` without a run id finds the store's last daily sync, whichever DAG ran it:
the store's own ``aliexpress_catalog_sync__<store>`` (the schedule) or the all-store DAG (by hand)."""

from __future__ import annotations

import pytest

from aeops.catalog.context import RunContext
from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.marketplace import ApiError
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.urgent.change_sets import plan_retry
from aeops.urgent.request import RequestError, UrgentRequest

RETRY = UrgentRequest(store="demo", mode="retry_failed", reason="the marketplace was down at 02:00")


class GoneProducts:
    """A marketplace on which no product can be read (each product asked about is remembered)."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def get_product(self, product_id: int):
        self.asked.append(product_id)
        raise ApiError("not found", code="isv.product-not-found")


@pytest.fixture
def ctx(sqlite_url: str) -> RunContext:
    config = load_config({"database_url": sqlite_url, "stores": [{"name": "demo", "language": "en"},
                                                                  {"name": "demo-kids", "language": "en"}]})
    return RunContext(config, config.store("demo"), Ledger(sqlite_url))


def _daily(ctx: RunContext, store: str, dag_id: str, run_id: str, product_id: int, kind: str = "daily") -> int:
    """A finished run of ``dag_id`` for ``store`` whose one price change failed."""
    run = ctx.ledger.runs.start(store, dag_id, run_id, kind=kind)
    ctx.ledger.changes.store_plan(run, store, [PlannedChange(product_id, "price", {"skus": {}})])
    ctx.ledger.changes.set_status([c.id for c in ctx.ledger.changes.of_run(run)], ChangeStatus.FAILED)
    ctx.ledger.runs.update(run, status="partial")
    return run


def test_retry_without_a_run_id_takes_the_stores_own_daily_dags_last_run(ctx: RunContext) -> None:
    _daily(ctx, "demo", "aliexpress_catalog_sync", "manual__2026-11-25", 1005000000000001)
    own = _daily(ctx, "demo", "aliexpress_catalog_sync__demo", "scheduled__2026-11-26T18:00:00+00:00",
                 1005000000000002)
    # newer, but not the store's daily sync: another job of the store, another store's own daily DAG
    _daily(ctx, "demo", "aliexpress_certificate_expiry__demo", "scheduled__2026-11-27T01:00:00+00:00",
           1005000000000003, kind="certificates")
    _daily(ctx, "demo-kids", "aliexpress_catalog_sync__demo-kids", "scheduled__2026-11-27T10:00:00+00:00",
           1005000000000004)
    client = GoneProducts()

    outcome = plan_retry(ctx, client, RETRY)

    assert outcome.source_run_id == own and outcome.targets == 1
    assert client.asked == [1005000000000002]


def test_a_store_whose_daily_syncs_all_ran_under_its_own_dag_can_be_retried(ctx: RunContext) -> None:
    own = _daily(ctx, "demo", "aliexpress_catalog_sync__demo", "scheduled__2026-11-26T18:00:00+00:00",
                 1005000000000002)

    assert plan_retry(ctx, GoneProducts(), RETRY).source_run_id == own
    with pytest.raises(RequestError, match="no daily sync run"):
        plan_retry(RunContext(ctx.config, ctx.config.store("demo-kids"), ctx.ledger), GoneProducts(),
                   UrgentRequest(store="demo-kids", mode="retry_failed", reason="x"))
