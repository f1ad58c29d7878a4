"""Issue 25 end to end: a price a person changes on the marketplace after a sync is put back by the next run of the
same export (the platform's ``gmt_modified``, a Beijing time, is stored as the UTC instant it is, so drift sees
the edit; stored as its wall clock it looked 8 hours in the future and the edit stayed, run after run)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
from aeops.marketplace import AliExpressClient
from aeops.marketplace.models import SkuPrice
from aeops.store import session_scope
from aeops.store.models import Change, ProductState, SyncRun
from tests.e2e.harness import run_dag, task_states
from tests.e2e.test_catalog_sync import marketplace_view, valid_desired

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_catalog_sync"
STORE = "demo"


def test_a_price_changed_on_the_marketplace_after_a_sync_is_put_back_by_the_next_run(embedded) -> None:
    env = embedded()
    first = run_dag(DAG_ID, {"stores": [STORE]})
    assert str(first.state) == "success", task_states(first)
    desired, _ = valid_desired(env, STORE)
    before = marketplace_view(env, STORE)
    pid, code, want = next((pid, code, sku) for pid, product in sorted(desired.items())
                           for code, sku in sorted(product["skus"].items())
                           if sku["price"] and before[pid]["skus"][code] == sku)
    with session_scope(env.db_url) as s:
        state = s.get(ProductState, (STORE, pid))
        assert state is not None and state.marketplace_modified_at is not None
        ours = max(t for t in (state.last_seen_at, state.confirmed_at) if t is not None)  # aeops's clock
    while datetime.now(UTC) < ours + timedelta(seconds=1):  # gmt_modified has whole seconds: edit after them
        time.sleep(0.1)

    # a person lowers the price on the marketplace (as the seller center does: a signed call with the seller's token)
    edited = Decimal(want["price"]) - Decimal("1.00")
    discount = Decimal(want["discount_price"]) if want["discount_price"] else None
    with AliExpressClient(env.sim.url, DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS[STORE][2],
                          seller_id=DEMO_SELLERS[STORE][1]) as client:
        report = client.update_prices({pid: [SkuPrice(code, edited, discount)]})
    assert report.by_status("success") == [pid], report.outcomes
    assert marketplace_view(env, STORE)[pid]["skus"][code]["price"] == str(edited)

    # the export did not change: the next run is forced (unforced, an already synced export is skipped)
    second = run_dag(DAG_ID, {"stores": [STORE], "force": True})

    assert str(second.state) == "success", task_states(second)
    assert marketplace_view(env, STORE)[pid]["skus"][code] == want  # the export's price is back
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.run_id == second.run_id, SyncRun.store == STORE)).one()
        put_back = s.scalars(select(Change).where(Change.sync_run_id == run.id, Change.product_id == pid,
                                                  Change.kind == "price")).one()
    assert put_back.status in ("confirmed", "verified")
    assert {i["sku_code"]: i["price"] for i in put_back.payload["skus"]}[code] == want["price"]
    assert run.counts["info_reads"] >= 1  # the product was read again: the edit was seen as drift
