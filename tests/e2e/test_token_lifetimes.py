"""Issue 25 end to end, on the simulator's ``documented`` profile (tokens expire, an expired access token is refused
``IllegalAccessToken``): every task of a run gets its client from one factory (``aeops.catalog.context.client_for``)
with the newest token of ``token_state``.

- the connection's access token has expired: the run's first call is refused, the token is refreshed once and kept in
  ``token_state``, and every task goes on with it; the next run (the connection still holding the expired token,
  ``token_state`` a fresh one) pushes and verifies without refreshing again;
- the refresh token has expired too: the run fails once, its one Slack page saying to re-authorise the app for the
  store and how; once the seller has authorised the app again and the new tokens are in the connection, the next run
  syncs.
"""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from aeops.catalog.context import client_for, context
from aeops.config import parse_config
from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
from aeops.marketplace import AliExpressClient
from aeops.marketplace.simulator.products import now_ms
from aeops.store import session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import ApiWrite, Change, Finding, SyncRun
from tests.e2e.harness import SAMPLE, Embedded, run_dag, task_states
from tests.e2e.test_catalog_sync import marketplace_view

pytestmark = pytest.mark.e2e
SYNC = "aliexpress_catalog_sync"
STORE = "demo"
CONN_ID, SELLER_ID, CONN_ACCESS, CONN_REFRESH = DEMO_SELLERS[STORE]


def expire(env: Embedded, kind: str, *tokens: str) -> None:
    """The platform's clock passes these tokens' expiry (``kind``: ``access_tokens`` or ``refresh_tokens``)."""
    held = dict(env.sim.state.sellers()[str(SELLER_ID)][kind])
    for token in tokens:
        assert token in held, f"the simulator never issued this {kind[:-1]}"
        held[token] = now_ms() - 1000
    env.sim.state.set_seller(SELLER_ID, **{kind: held})


def sim_calls(env: Embedded) -> dict[str, int]:
    return httpx.get(f"{env.sim.url}/_sim/calls", timeout=10).json()


def reset_calls(env: Embedded) -> None:
    httpx.post(f"{env.sim.url}/_sim/calls/reset", timeout=10).raise_for_status()


def use_exports(env: Embedded, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The demo store reads its exports from ``folder`` (the aeops_config Variable comes from the environment)."""
    for store in env.config["stores"]:
        if store["name"] == STORE:
            store["exports"] = folder.as_uri()
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(env.config))


def demo_run(env: Embedded, run_id: str) -> SyncRun:
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.store == STORE, SyncRun.run_id == run_id)).one()
        s.expunge(run)
        return run


def stored_token(env: Embedded):
    return Ledger(env.db_url).tokens.get(CONN_ID)


def raised_prices(source: Path, target: Path, product_ids: set[int]) -> dict[tuple[int, str], str]:
    """A new export: ``source`` with these products' prices one unit up; returns (product, SKU) -> new price."""
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    raised = {}
    for row in rows:
        if row["product_id"].isdigit() and int(row["product_id"]) in product_ids:
            row["price"] = str(Decimal(row["price"]) + 1)
            raised[(int(row["product_id"]), row["sku_code"])] = row["price"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    target.write_text(out.getvalue(), encoding="utf-8")
    os.utime(target, (source.stat().st_mtime + 60, source.stat().st_mtime + 60))  # the newest export
    return raised


def test_a_refreshed_token_serves_every_task_and_the_next_run(embedded, monkeypatch, tmp_path: Path) -> None:
    env = embedded(profile="documented")
    erp = tmp_path / "erp"
    erp.mkdir()
    first_export = erp / "catalog_1.csv"
    first_export.write_bytes(next((SAMPLE / "exports" / STORE).glob("*.csv")).read_bytes())
    use_exports(env, monkeypatch, erp)
    expire(env, "access_tokens", CONN_ACCESS)  # the connection's token has expired (its 30 days are over)
    reset_calls(env)

    first = run_dag(SYNC, {"stores": [STORE]})

    assert str(first.state) == "success", task_states(first)
    run = demo_run(env, first.run_id)
    assert run.status == "success" and run.counts["verified"] == run.counts["confirmed"] > 0
    assert sim_calls(env).get("/auth/token/refresh") == 1  # the first refused call refreshed; no task again
    fresh = stored_token(env)
    assert fresh is not None and fresh.access_token != CONN_ACCESS and fresh.refresh_token == CONN_REFRESH

    # the next day: the connection still holds the expired token, token_state the fresh one; a new export
    with session_scope(env.db_url) as s:  # three products whose prices were pushed and no row of which had a finding
        verified = set(s.scalars(select(Change.product_id).where(Change.sync_run_id == run.id,
                                                                  Change.kind == "price",
                                                                  Change.status == "verified")))
        verified -= set(s.scalars(select(Finding.product_id).where(Finding.sync_run_id == run.id,
                                                                    Finding.product_id.is_not(None))))
    assert len(verified) >= 3
    raised = raised_prices(first_export, erp / "catalog_2.csv", set(sorted(verified)[:3]))
    reset_calls(env)

    second = run_dag(SYNC, {"stores": [STORE]})

    assert str(second.state) == "success", task_states(second)
    run = demo_run(env, second.run_id)
    assert run.status == "success" and run.counts["verified"] == run.counts["confirmed"] > 0
    calls = sim_calls(env)
    assert "/auth/token/refresh" not in calls, calls  # every task used token_state's token: none was refused
    assert calls.get("aliexpress.solution.batch.product.price.update", 0) >= 1
    view = marketplace_view(env, STORE)
    assert {key: view[key[0]]["skus"][key[1]]["price"] for key in raised} == {
        key: str(Decimal(price).quantize(Decimal("0.01"))) for key, price in raised.items()}
    assert stored_token(env).access_token == fresh.access_token


def test_an_expired_refresh_token_fails_the_run_once_saying_to_re_authorise(embedded, monkeypatch) -> None:
    env = embedded(profile="documented")
    # an earlier task refreshed the expired connection token: token_state holds the newest tokens
    expire(env, "access_tokens", CONN_ACCESS)
    client_for(context(STORE, parse_config(env.config))).merchant_profile()
    earlier = stored_token(env)
    assert earlier is not None and earlier.access_token != CONN_ACCESS
    # ... and since then the 60 days of the refresh token are over too, and the access token has expired
    expire(env, "access_tokens", earlier.access_token)
    expire(env, "refresh_tokens", CONN_REFRESH)
    before = env.products(STORE)

    failed = run_dag(SYNC, {"stores": [STORE]})

    assert str(failed.state) == "failed"
    states = task_states(failed)
    assert states["prepare.preflight[0]"] == "failed" and states["outcome"] == "failed", states
    assert env.products(STORE) == before
    with session_scope(env.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ApiWrite)) == 0
    pages = [m for m in env.slack_messages() if m.get("text", "").startswith(f"Run of {SYNC} failed")]
    assert len(pages) == 1, [m.get("text") for m in env.slack_messages()]
    page = pages[0]["text"] + json.dumps(pages[0].get("blocks"), ensure_ascii=False)
    assert "re-authorise the app for demo: the platform refused its refresh token (IllegalRefreshToken)" in page
    assert f"authorise app {DEMO_APP_KEY} again" in page and f"connection {CONN_ID}" in page
    assert stored_token(env).access_token == earlier.access_token  # nothing was kept of the failed refresh

    # the seller authorises the app again; the new tokens go into the connection (as the message says)
    code = httpx.post(f"{env.sim.url}/_sim/oauth/{SELLER_ID}/code", timeout=10).json()["code"]
    with AliExpressClient(env.sim.url, DEMO_APP_KEY, DEMO_APP_SECRET, seller_id=SELLER_ID) as app:
        created = app.call("/auth/token/create", {"code": code})
    connection = json.loads(env.env[f"AIRFLOW_CONN_{CONN_ID.upper()}"])
    connection["extra"].update(access_token=created["access_token"], refresh_token=created["refresh_token"])
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))

    again = run_dag(SYNC, {"stores": [STORE]})

    assert str(again.state) == "success", task_states(again)
    run = demo_run(env, again.run_id)
    assert run.status == "success" and run.counts["verified"] == run.counts["confirmed"] > 0
    assert stored_token(env).refresh_token == created["refresh_token"]  # token_state moved on to the new ones
