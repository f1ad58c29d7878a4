"""The urgent re-run end to end: dag.test() with conf for each mode against the simulator and the Slack sink."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aeops.marketplace.simulator.faults import Faults
from aeops.store import session_scope
from aeops.store.models import Change, RunMilestone, StoreLock, SyncRun
from tests.e2e.harness import Embedded, run_dag, task_states
from tests.e2e.hitl import Responder, Step, api_client

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_urgent_rerun"
REASON = "Black Friday repricing, approved by ops"


def prices(env: Embedded, store: str = "demo") -> dict[str, tuple[str, str | None]]:
    """SKU code -> (price, discount price) on the simulator, as two-place strings."""
    def money(v: Any) -> str | None:
        return None if v in (None, "") else str(Decimal(str(v)).quantize(Decimal("0.01")))

    return {s["sku_code"]: (money(s["price"]), money(s.get("discount_price")))
            for p in env.products(store).values() for s in p["skus"] if s.get("sku_code")}


def stocks(env: Embedded, store: str = "demo") -> dict[str, int]:
    return {s["sku_code"]: int(s["stock"]) for p in env.products(store).values() for s in p["skus"]
            if s.get("sku_code")}


def urgent_run(env: Embedded, run_id: str) -> SyncRun:
    with session_scope(env.db_url) as s:
        return s.scalars(select(SyncRun).where(SyncRun.dag_id == DAG_ID, SyncRun.run_id == run_id)).one()


def slack_texts(env: Embedded) -> list[str]:
    return [m.get("text", "") for m in env.slack_messages()]


def run(conf: dict[str, Any]):
    dag_run = run_dag(DAG_ID, {"reason": REASON, **conf})
    return dag_run, task_states(dag_run)


@pytest.fixture(scope="module")
def api():
    return api_client()


def run_answering(api, conf: dict[str, Any], choice: str):
    """Run with a person answering the approval request (Approve / Reject) through the REST route."""
    responder = Responder(api, DAG_ID, [Step("approve", choice)], fallback="Reject", timeout_s=240)
    responder.start()
    try:
        dag_run, states = run(conf)
    finally:
        responder.stop.set()
        responder.join(timeout=10)
    assert not responder.errors, responder.errors
    return dag_run, states, responder


def off(value: str, percent: int) -> str:
    return str((Decimal(value) * (100 + percent) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_whole_store_percentage_override_lands_guarded_and_revert_restores_every_price(embedded, api) -> None:
    env = embedded()
    before = prices(env)
    kids_before = prices(env, "demo-kids")

    # more than 100 SKUs change: the override waits for approval, then pushes
    dag_run, states, responder = run_answering(
        api, {"store": "demo", "mode": "price_override", "percent": -20, "floor_price": 10}, "Approve")

    assert str(dag_run.state) == "success", states
    [asked] = responder.answered
    assert "SKUs change (more than 100)" in asked.detail["body"]
    assert "counts** in the 15-minute deadline" in asked.detail["body"]  # the guide: 15 minutes from the trigger
    assert "Guard hits: floor" in asked.detail["body"] and "Plan (dry-run report)" in asked.detail["body"]
    after = prices(env)
    for code, (price, discount) in before.items():
        if Decimal(price) <= 0:  # a broken SKU of the demo marketplace: skipped with a reason, left alone
            assert after[code] == before[code]
            continue
        want_price = max(Decimal(off(price, -20)), Decimal("10.00"))
        assert Decimal(after[code][0]) == want_price, code
        if discount is not None and Decimal("10.00") <= Decimal(off(discount, -20)) < want_price:
            assert after[code][1] == off(discount, -20), code
        else:  # no room left for a discount under the guarded price: dropped
            assert after[code][1] is None or Decimal(after[code][1]) < Decimal(after[code][0]), code
    assert prices(env, "demo-kids") == kids_before  # another store is never touched
    override = urgent_run(env, dag_run.run_id)
    assert override.status == "success" and override.kind == "urgent"
    assert REASON in override.message and "-20" in override.message
    assert override.counts["confirmed"] == override.counts["planned_price"] > 50
    assert override.counts.get("guarded_floor", 0) > 0
    with session_scope(env.db_url) as s:
        names = set(s.scalars(select(RunMilestone.name).where(RunMilestone.sync_run_id == override.id)))
        assert {"requested", "locked", "half-way", "done"} <= names
        assert all(c.previous["skus"] for c in s.scalars(select(Change).where(Change.sync_run_id == override.id)))
        lock = s.get(StoreLock, "demo")
        assert lock is not None and lock.holds == 0  # released by the teardown
    texts = slack_texts(env)
    assert any("Urgent re-run started" in t and REASON in t for t in texts), texts
    assert any("half-way" in t for t in texts), texts
    assert any("Urgent re-run done in" in t for t in texts), texts

    revert_run, states = run({"store": "demo", "mode": "revert", "run_id": dag_run.run_id})

    assert str(revert_run.state) == "success", states
    # The demo marketplace has a product whose old discount was above its price: the platform refuses to
    # restore that one (its whole batch item fails and is reported); every other price is back.
    def refused(code: str) -> bool:
        price, discount = before.get(code, ("0", None))
        return discount is not None and Decimal(price) > 0 and Decimal(discount) >= Decimal(price)

    invalid = {pid for pid, p in env.products().items() if any(refused(sku["sku_code"]) for sku in p["skus"])}
    invalid_skus = {sku["sku_code"] for pid in invalid for sku in env.products()[pid]["skus"]}
    after_revert = prices(env)
    assert {c: v for c, v in after_revert.items() if c not in invalid_skus} == {
        c: v for c, v in before.items() if c not in invalid_skus}
    reverted = urgent_run(env, revert_run.run_id)
    assert reverted.counts["reverted_skus"] == override.counts["priced_skus"]
    assert reverted.counts.get("failed", 0) == len(invalid) and reverted.status == ("partial" if invalid else "success")


def test_absolute_prices_from_a_file_change_only_the_listed_skus(embedded, api, tmp_path: Path) -> None:
    # a price file is read only from the store's price_files (or exports) folder
    env = embedded(config_overrides={"store_overrides": {"price_files": str(tmp_path)}})
    before = prices(env)
    codes = sorted(before)[:3]
    price_file = tmp_path / "prices.csv"
    price_file.write_text("sku_code,price,discount_price\n"
                          f"{codes[0]},99.999,\n{codes[1]},12.5,11\n{codes[2]},1.00,\nNO-SUCH-SKU,5,\n",
                          encoding="utf-8")

    # 3 SKUs, but prices move by more than 30%: approval first
    dag_run, states, _ = run_answering(api, {"store": "demo", "mode": "price_override",
                                             "price_file": str(price_file), "floor_price": 2,
                                             "ceiling_price": 50}, "Approve")

    assert str(dag_run.state) == "success", states
    after = prices(env)
    assert after[codes[0]] == ("50.00", None)  # 99.999 -> ceiling
    assert after[codes[1]] == ("12.50", "11.00")
    assert after[codes[2]] == ("2.00", None)  # 1.00 -> floor
    assert {c: v for c, v in after.items() if c not in codes[:3]} == {c: v for c, v in before.items()
                                                                       if c not in codes[:3]}
    run_row = urgent_run(env, dag_run.run_id)
    assert run_row.counts["skipped"] == 1
    assert run_row.artifacts["skipped"][0]["what"] == "NO-SUCH-SKU"


def test_skus_mode_resyncs_only_the_listed_skus_from_the_newest_export(embedded) -> None:
    from aeops.exports import newest_export, read_export

    env = embedded()
    frame = read_export(newest_export(env.config["stores"][0]["exports"])).frame
    export = {str(r["sku_code"]): r for r in frame.to_dict("records")}
    before_prices, before_stocks = prices(env), stocks(env)
    stale = [c for c in sorted(before_stocks) if c in export
             and str(export[c]["stock"]).isdigit() and int(export[c]["stock"]) != before_stocks[c]]
    assert len(stale) >= 3, "the demo marketplace has stale stock to re-sync"
    chosen = stale[:2]

    dag_run, states = run({"store": "demo", "mode": "skus", "skus": chosen})

    assert str(dag_run.state) == "success", states
    after = stocks(env)
    for code in chosen:
        assert after[code] == int(export[code]["stock"])
    assert after[stale[2]] == before_stocks[stale[2]]  # not listed: left alone
    assert prices(env).keys() == before_prices.keys()


def test_retry_failed_pushes_what_the_daily_sync_could_not(embedded) -> None:
    env = embedded(faults="item_fail=0.5,seed=3")
    daily = run_dag("aliexpress_catalog_sync", {"stores": ["demo"], "force": True})
    with session_scope(env.db_url) as s:
        daily_run = s.scalars(select(SyncRun).where(SyncRun.dag_id == "aliexpress_catalog_sync")).one()
        failed = list(s.scalars(select(Change).where(Change.sync_run_id == daily_run.id,
                                                     Change.status == "failed")))
    assert failed, "the faults made some writes fail"
    env.sim.app.state.sim.faults = Faults.parse("")  # the platform recovered

    dag_run, states = run({"store": "demo", "mode": "retry_failed"})

    assert str(dag_run.state) == "success", states
    retry = urgent_run(env, dag_run.run_id)
    assert retry.artifacts["source_run_id"] == daily_run.id
    assert retry.counts["confirmed"] >= len({(c.product_id, c.kind) for c in failed})
    assert retry.counts.get("failed", 0) == 0
    view = prices(env)
    for change in failed:
        if change.kind == "price":
            for item in change.payload["skus"]:
                assert view[item["sku_code"]][0] == item["price"]
    assert daily.run_id != dag_run.run_id


def test_rejected_override_writes_nothing_and_slack_says_so(embedded, api) -> None:
    env = embedded()
    before = prices(env)
    codes = sorted(before)[:2]

    dag_run, states, responder = run_answering(
        api, {"store": "demo", "mode": "price_override", "percent": -45, "scope": "skus", "skus": codes}, "Reject")

    assert str(dag_run.state) == "success", states
    assert states["approve"] == "success" and states["collect_chunks"] == "skipped"
    assert "price(s) move by more than 30%" in responder.answered[0].detail["body"]
    assert prices(env) == before
    run_row = urgent_run(env, dag_run.run_id)
    assert run_row.status == "rejected"
    with session_scope(env.db_url) as s:
        statuses = {c.status for c in s.scalars(select(Change).where(Change.sync_run_id == run_row.id))}
        decision = s.scalars(select(RunMilestone).where(RunMilestone.sync_run_id == run_row.id,
                                                        RunMilestone.name == "approval")).one().detail
    assert statuses == {"rejected"}
    assert decision["decision"] == "rejected" and decision["by"]
    assert any("override rejected by" in t and "nothing was written" in t for t in slack_texts(env))
    assert any("waits for approval" in t for t in slack_texts(env))


def test_dry_run_writes_nothing_and_says_so(embedded) -> None:
    env = embedded()
    before = prices(env)

    dag_run, states = run({"store": "demo", "mode": "price_override", "percent": 10, "dry_run": True})

    assert str(dag_run.state) == "success", states
    assert states["approve"] == "skipped"  # a dry run never waits for approval
    assert prices(env) == before
    run_row = urgent_run(env, dag_run.run_id)
    assert run_row.status == "dry_run" and run_row.counts["planned_price"] > 0
    assert any("dry run" in t.lower() and "nothing was written" in t for t in slack_texts(env))


def test_an_unknown_store_fails_at_once_naming_the_configured_stores(embedded) -> None:
    env = embedded()

    dag_run, states = run({"store": "nope", "mode": "retry_failed"})

    assert str(dag_run.state) == "failed"
    assert states["start"] == "failed" and states["plan"] == "upstream_failed"
    alerts = [t for t in slack_texts(env) if "failed" in t]
    assert any("unknown store 'nope'" in t and "demo, demo-kids" in t for t in alerts), alerts


def test_a_missing_reason_is_refused_before_anything_runs(embedded) -> None:
    env = embedded()
    before = prices(env)

    dag_run = run_dag(DAG_ID, {"store": "demo", "mode": "price_override", "percent": -5, "reason": "   "})

    assert str(dag_run.state) == "failed" and task_states(dag_run)["start"] == "failed"
    assert prices(env) == before
    assert any("reason is required" in t for t in slack_texts(env))


def _milestones(env: Embedded, run_row: SyncRun) -> dict[str, dict]:
    with session_scope(env.db_url) as s:
        return {m.name: dict(m.detail or {}) | {"_at": m.created_at} for m in
                s.scalars(select(RunMilestone).where(RunMilestone.sync_run_id == run_row.id))}


def _first_write(env: Embedded, run_row: SyncRun):
    from aeops.store.models import ApiWrite

    with session_scope(env.db_url) as s:
        return min(s.scalars(select(ApiWrite.started_at).where(ApiWrite.sync_run_id == run_row.id)))


def test_a_planned_override_approved_ahead_starts_at_its_start_time_and_lands_within_its_deadline(
        embedded, api) -> None:
    """Black Friday in small: approved ahead, the prices land on their own at the start time, within 15 minutes
    counted from the start; at the end time a revert run of the override is started."""
    from datetime import UTC, datetime, timedelta

    env = embedded()
    before = prices(env)
    starts = (datetime.now(UTC) + timedelta(seconds=75)).replace(microsecond=0)
    ends = starts + timedelta(seconds=20)

    dag_run, states, responder = run_answering(
        api, {"store": "demo", "mode": "price_override", "percent": -20, "floor_price": 10,
              "start_at": starts.isoformat(), "end_at": ends.isoformat()}, "Approve")

    assert str(dag_run.state) == "success", states
    [asked] = responder.answered
    assert "Planned:" in asked.detail["body"] and "counts** in the 15-minute deadline" in asked.detail["body"]
    override = urgent_run(env, dag_run.run_id)
    marks = _milestones(env, override)
    assert marks["approval"]["decision"] == "approved" and marks["approval"]["into_deadline_seconds"] < 0  # ahead
    assert "waiting-for-start" in marks and marks["started-at-start"]["_at"] >= starts
    assert _first_write(env, override) >= starts  # nothing written before the start time
    assert override.artifacts["deadline"]["triggered_at"] == starts.isoformat()  # the clock runs from the start
    done = marks["done"]
    assert not done["late"] and done["elapsed_minutes"] < 15 and override.status == "success"
    assert prices(env) != before
    texts = slack_texts(env)
    assert any("Planned price override registered" in t for t in texts), texts
    assert any("Urgent re-run done in" in t and "Approved ahead by" in t for t in texts), texts
    assert "before the clock started" in Path(override.report_path).read_text(encoding="utf-8")
    assert states["wait_for_end"] == "success" and states["revert_at_end"] == "success", states
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        revert = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID,
                                                      DagRun.run_id == f"revert_at_end__{dag_run.run_id}")).one()
        assert revert.conf["mode"] == "revert" and revert.conf["run_id"] == dag_run.run_id


def test_a_planned_override_approved_late_reports_the_approval_time_inside_its_deadline(embedded, api) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    env = embedded()
    starts = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    late = Responder(api, DAG_ID, [Step("approve", "Approve", before=lambda: time.sleep(
        max(0.0, (starts + timedelta(seconds=30) - datetime.now(UTC)).total_seconds())))],
        fallback="Reject", timeout_s=300)
    late.start()
    try:
        dag_run, states = run({"store": "demo", "mode": "price_override", "percent": -20, "floor_price": 10,
                               "start_at": starts.isoformat()})
    finally:
        late.stop.set()
        late.join(timeout=10)
    assert not late.errors, late.errors

    assert str(dag_run.state) == "success", states
    override = urgent_run(env, dag_run.run_id)
    marks = _milestones(env, override)
    assert marks["approval"]["into_deadline_seconds"] >= 30  # answered 30 s after the clock started
    assert _first_write(env, override) >= datetime.fromisoformat(marks["approval"]["at"])
    assert not marks["done"]["late"]
    summary = [t for t in slack_texts(env) if "Urgent re-run done in" in t]
    assert summary and "went to the approval (inside the deadline)" in summary[-1], summary
    assert "went to the approval" in Path(override.report_path).read_text(encoding="utf-8")
    assert states["end_time"] == "skipped"  # no end time: the prices stay
