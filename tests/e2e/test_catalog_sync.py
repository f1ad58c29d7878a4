"""The daily catalog sync end to end: dag.test() against the simulator, the sample exports and the Slack sink."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aeops.catalog.model import desired_from_rows
from aeops.exports import newest_export, read_export
from aeops.findings import ROW_CODES
from aeops.marketplace.simulator import api as sim_api
from aeops.notify.links import api_base_url
from aeops.store import session_scope
from aeops.store.models import ApiWrite, Change, Export, Finding, SyncRun
from tests.e2e.harness import Embedded, honest_outcome, run_dag, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_catalog_sync"
DONE = {"confirmed", "verified"}  # verified: seen on every storefront view after the push


def _money(value: Any) -> str | None:
    return None if value in (None, "") else str(Decimal(str(value)).quantize(Decimal("0.01")))


def marketplace_view(env: Embedded, store: str) -> dict[int, dict[str, Any]]:
    """The simulator's products of a store in the canonical shape (title, freight template, SKUs)."""
    view = {}
    for pid, p in env.products(store).items():
        view[pid] = {
            "title": p["subject"],
            "freight_template_id": str(p["freight_template_id"]),
            "skus": {s["sku_code"]: {"price": _money(s["price"]), "discount_price": _money(s.get("discount_price")),
                                     "stock": int(s["stock"])} for s in p["skus"]},
        }
    return view


def valid_desired(env: Embedded, store: str) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """What the export wants for its valid rows, and the row numbers blocked by error findings."""
    cfg = next(s for s in env.config["stores"] if s["name"] == store)
    frame = read_export(newest_export(cfg["exports"])).frame
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.store == store).order_by(SyncRun.id.desc())).first()
        blocked = set(s.scalars(select(Finding.row).where(Finding.sync_run_id == run.id, Finding.severity == "error",
                                                          Finding.row.is_not(None))))
    valid = frame[~frame["row"].astype(int).isin(blocked)]
    return desired_from_rows(valid.to_dict("records")), blocked


def assert_marketplace_matches_export(env: Embedded, store: str) -> None:
    desired, _ = valid_desired(env, store)
    seen = marketplace_view(env, store)
    for pid, want in desired.items():
        have = seen[pid]
        assert have["title"] == want["title"], pid
        assert have["freight_template_id"] == want["freight_template_id"], pid
        for code, sku in want["skus"].items():
            assert have["skus"][code] == sku, (pid, code)


def writes(env: Embedded) -> int:
    with session_scope(env.db_url) as s:
        return s.scalar(select(func.count()).select_from(ApiWrite))


def test_daily_sync_pushes_the_valid_rows_of_both_stores_and_nothing_twice(embedded) -> None:
    env = embedded()
    before = {store: marketplace_view(env, store) for store in ("demo", "demo-kids")}

    dag_run = run_dag(DAG_ID)

    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    for store in ("demo", "demo-kids"):
        assert_marketplace_matches_export(env, store)
    with session_scope(env.db_url) as s:
        runs = {r.store: r for r in s.scalars(select(SyncRun))}
        assert {r.status for r in runs.values()} == {"success"}
        codes = set(s.scalars(select(Finding.code).where(Finding.sync_run_id == runs["demo"].id)))
        statuses = dict(s.execute(select(Change.status, func.count()).group_by(Change.status)).all())
    assert set(ROW_CODES) <= codes  # every row rule fired on the sample and was stored
    assert set(statuses) <= DONE and statuses.get("verified", 0) + statuses.get("confirmed", 0) > 0

    # Rejected rows are untouched: a blocked product's marketplace SKUs keep yesterday's values.
    desired, blocked = valid_desired(env, "demo")
    after = marketplace_view(env, "demo")
    frame = read_export(newest_export(env.config["stores"][0]["exports"])).frame
    blocked_skus = {(int(r.product_id), r.sku_code) for r in frame.itertuples() if r.row in blocked
                    and str(r.product_id).isdigit() and (int(r.product_id), r.sku_code) not in
                    {(p, c) for p, d in desired.items() for c in d["skus"]}}
    checked = 0
    for pid, code in blocked_skus:
        if pid in before["demo"] and code in before["demo"][pid]["skus"]:
            assert after[pid]["skus"][code] == before["demo"][pid]["skus"][code]
            checked += 1
    assert checked > 0

    # Slack got one summary per store, through the real SlackHook client, each in its store's language, with
    # http(s) links only: the report at its stable address on the Airflow API server, never a file:// path.
    messages = env.slack_messages()
    texts = [m.get("text", "") for m in messages]
    assert sum("Catalog sync for demo:" in t for t in texts) == 1
    assert sum("店铺 demo-kids 商品目录同步" in t for t in texts) == 1
    assert [m["text"] for m in messages if m.get("thread_ts")] == []  # one message a store: the report lists all
    chinese = json.dumps([m.get("blocks") for m in messages if "demo-kids" in m.get("text", "")], ensure_ascii=False)
    # the top findings themselves in the store's language, with the advice for their cause
    assert "证书" in chinese and not re.search(r"cannot be|expired on|is misnamed|disagrees with|rejects", chinese)
    assert "file://" not in json.dumps(messages, ensure_ascii=False)
    links = re.findall(r"<(https?://[^|>]+)\|", json.dumps([m.get("blocks") for m in messages], ensure_ascii=False))
    report_links = {u for u in links if "/aeops/reports/" in u}
    assert {u.split("/aeops/reports/")[1].split("/")[0] for u in report_links} == {"demo", "demo-kids"}
    assert all(u.startswith(api_base_url() + "/aeops/reports/") for u in report_links), report_links

    # A second run of the same export is skipped (and says so); forced, it writes nothing.
    calls = writes(env)
    again = run_dag(DAG_ID)
    assert str(again.state) == "success"
    with session_scope(env.db_url) as s:
        skipped = s.scalars(select(SyncRun).where(SyncRun.run_id == again.run_id)).all()
    assert {r.status for r in skipped} == {"skipped"}
    assert re.fullmatch(r"export .+\.csv \(sha256 [0-9a-f]{12}\) was already synced; trigger with force=true to sync "
                        r"it again", skipped[0].message), skipped[0].message
    forced = run_dag(DAG_ID, {"force": True})
    assert str(forced.state) == "success"
    assert writes(env) == calls


WRITE_APIS = {"aliexpress.solution.batch.product.price.update", "aliexpress.solution.batch.product.inventory.update",
              "aliexpress.solution.product.edit", "aliexpress.photobank.redefining.uploadimageforsdk"}


def sim_state(env: Embedded) -> dict[str, Any]:
    """The simulator's whole state (sellers, apps, products, photobank) without the time it was read."""
    return {k: v for k, v in env.sim.catalog().items() if k != "as_of_ms"}


def sim_calls(env: Embedded) -> dict[str, int]:
    """API name -> requests the simulator received since its start (or the last reset)."""
    return httpx.get(f"{env.sim.url}/_sim/calls", timeout=30).json()


def aeops_writes(env: Embedded) -> dict[str, Any]:
    """What the aeops DB records of writes: the calls sent, the changes past ``planned``, the exports synced."""
    with session_scope(env.db_url) as s:
        return {"api_writes": s.scalars(select(ApiWrite.api)).all(),
                "changes": sorted(set(s.scalars(select(Change.status)))),
                "synced_exports": s.scalars(select(Export.path).where(Export.synced_at.is_not(None))).all(),
                "image_urls": [r.artifacts.get("image_urls") for r in s.scalars(select(SyncRun))
                               if (r.artifacts or {}).get("image_urls")]}


def test_dry_run_writes_nothing_anywhere_and_the_real_run_after_it_is_not_skipped(embedded) -> None:
    """A dry run of the daily sync plans (an auto-fixed image included) and writes nothing: not a product, not a
    photobank image, no export marked synced; the marketplace's whole state and aeops's write records are what
    they were. The real run after it syncs the same export (it was never synced) and writes."""
    env = embedded()
    before = sim_state(env)
    assert before["photobank"] and before["products"]
    dag_run = run_dag(DAG_ID, {"dry_run": True})

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert sim_state(env) == before  # products, photobank, sellers, apps: everything as it was
    assert not {api for api, n in sim_calls(env).items() if n} & WRITE_APIS, sim_calls(env)
    assert aeops_writes(env) == {"api_writes": [], "changes": ["planned"], "synced_exports": [], "image_urls": []}
    with session_scope(env.db_url) as s:
        runs = s.scalars(select(SyncRun)).all()
    assert {(r.store, r.status) for r in runs} == {("demo", "dry_run"), ("demo-kids", "dry_run")}
    assert sum(r.counts.get("auto_fixed_images", 0) for r in runs) > 0  # an image was fixed: staged, not uploaded

    real = run_dag(DAG_ID)

    assert str(real.state) == "success", task_states(real)
    with session_scope(env.db_url) as s:
        statuses = {r.store: r.status for r in s.scalars(select(SyncRun).where(SyncRun.run_id == real.run_id))}
    assert statuses == {"demo": "success", "demo-kids": "success"}
    written = aeops_writes(env)
    assert written["api_writes"] and len(written["synced_exports"]) == 2
    assert {api for api, n in sim_calls(env).items() if n} & WRITE_APIS
    for store in ("demo", "demo-kids"):
        assert_marketplace_matches_export(env, store)


BUSY = ("S00-10-10000-001", "system busy, please retry later")  # the platform's retryable refusal (item_fail)
STUCK = 1005001234813408  # demo's THR-032: yesterday's marketplace shows an older price, so the first run writes it


def left_to_retry(env: Embedded, run_id: str) -> set[tuple[str, int, str]]:
    """(store, product, kind) of the changes a DAG run left for the next run: every store's run of it, not only the
    newest sync run (each store has its own; which is newest depends on the order the tasks ran). Each of its changes
    ended confirmed, verified, or failed with the platform's code: none silently lost, none left in flight."""
    with session_scope(env.db_url) as s:
        changes = s.scalars(select(Change).join(SyncRun, Change.sync_run_id == SyncRun.id)
                            .where(SyncRun.run_id == run_id)).all()
        assert {c.status for c in changes} <= DONE | {"failed", "verify_failed"}, {c.status for c in changes}
        assert all(c.error_code for c in changes if c.status == "failed")
        return {(c.store, c.product_id, c.kind) for c in changes if c.status not in DONE}


def pushed_by(env: Embedded, run_id: str) -> set[tuple[str, int, str]]:
    with session_scope(env.db_url) as s:
        return set(s.execute(select(Change.store, Change.product_id, Change.kind)
                             .join(SyncRun, Change.sync_run_id == SyncRun.id).where(SyncRun.run_id == run_id)).all())


def test_bad_day_on_the_marketplace_loses_nothing_and_a_retry_finishes(embedded, monkeypatch) -> None:
    """Faults at random, and one product whose price the platform refuses ("system busy") in the first run and
    in the first retry: the retries go on until every store's run is clean, each pushing only what was left."""
    env = embedded(faults="throttle=0.05,item_fail=0.05,server_error=0.05,lost_response=0.05,seed=11")
    busy_runs = [2]  # DAG runs in which STUCK's price is refused

    def busy_for_stuck(product: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str, str] | None:
        return BUSY if int(product["product_id"]) == STUCK and busy_runs[0] > 0 else check_price(product, items)

    check_price = sim_api._check_price_item
    monkeypatch.setattr(sim_api, "_check_price_item", busy_for_stuck)
    first = run_dag(DAG_ID)
    busy_runs[0] -= 1
    # demo's sync is partial (STUCK's price refused): its finish task fails after its report and summary, and the
    # run is failed, not green
    assert "demo" in honest_outcome(env.db_url, first)
    assert any("Catalog sync for demo:" in m.get("text", "") for m in env.slack_messages())
    left = left_to_retry(env, first.run_id)
    assert ("demo", STUCK, "price") in left
    # What is left is still wanted: a forced retry run pushes exactly that (what the marketplace does not show
    # yet) until nothing is left. A store whose retry failed again is retried although the other store's run of
    # the same DAG run left nothing (the flake of 2026-12-06: only the newest sync run, demo-kids's, was looked at).
    retries = 0
    while left and retries < 5:
        retry = run_dag(DAG_ID, {"force": True})
        busy_runs[0] -= 1
        retries += 1
        assert pushed_by(env, retry.run_id) <= left, left
        partial = honest_outcome(env.db_url, retry)  # failed while a store is left partial, green once none is
        left = left_to_retry(env, retry.run_id)
        assert partial == {store for store, _pid, _kind in left}, (partial, left)
    assert not left
    assert retries >= 2  # STUCK was refused by the first retry too, and pushed by a later one
    for store in ("demo", "demo-kids"):
        assert_marketplace_matches_export(env, store)


def test_unreachable_marketplace_fails_the_store_and_alerts(embedded, monkeypatch) -> None:
    env = embedded()
    env.sim.stop()  # the marketplace is down for the whole run
    dag_run = run_dag(DAG_ID, {"stores": ["demo-kids"]})
    assert str(dag_run.state) == "failed"
    states = task_states(dag_run)
    assert states["prepare.preflight[0]"] == "failed"
    # demo-kids reads Chinese: one page for the run, naming the failing task, the store and the error in Chinese
    alerts = [m["text"] for m in env.slack_messages() if " 运行失败" in m["text"].split(":")[0]]
    assert len(alerts) == 1, [m.get("text") for m in env.slack_messages()]
    assert alerts[0].startswith("aliexpress_catalog_sync 运行失败，店铺 demo-kids: "
                                "prepare.preflight[0]（店铺 demo-kids）：ServerError: "), alerts[0]
    assert "Transport could not connect" in alerts[0]
