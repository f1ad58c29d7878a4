"""Issue 18 end to end: whole exports only (a file still being written is not taken), failures retried by the
next scheduled run of an unchanged export."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from aeops.store import session_scope
from aeops.store.models import Change, Export, Finding, SyncRun
from tests.e2e.harness import Embedded, honest_outcome, run_dag, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_catalog_sync"
SAMPLE = Path(__file__).resolve().parents[2] / "include" / "sample" / "exports" / "demo"


def configure_demo(env: Embedded, monkeypatch: pytest.MonkeyPatch, **settings) -> None:
    """Change the demo store's settings for the next DAG run (the aeops_config Variable comes from the env)."""
    for store in env.config["stores"]:
        if store["name"] == "demo":
            store.update(settings)
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(env.config))


def demo_runs(db_url: str) -> list[SyncRun]:
    with session_scope(db_url) as s:
        return list(s.scalars(select(SyncRun).where(SyncRun.store == "demo").order_by(SyncRun.id)))


def test_a_file_still_being_written_is_not_taken(embedded, monkeypatch, tmp_path: Path) -> None:
    env = embedded()
    folder = tmp_path / "erp"
    folder.mkdir()
    whole = next(SAMPLE.glob("*.csv")).read_bytes()
    cut = whole.index(b"\n", len(whole) // 2) + 30  # half the rows, the last one cut mid-row
    export = folder / "catalog_today.csv"
    export.write_bytes(whole[:cut])  # the ERP has written half of it when the 02:00 run starts
    configure_demo(env, monkeypatch, exports=folder.as_uri(), export_settle_seconds=3)
    monkeypatch.setenv("AEOPS_EXPORT_POKE_SECONDS", "1")

    def erp_writes() -> None:
        """A slow ERP: a few bytes every 0.3 s until the run has looked at the file (or a minute), then the rest."""
        done, deadline = cut, time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if any((r.counts or {}).get("export_waits") for r in demo_runs(env.db_url)):
                    break
            except Exception:  # noqa: BLE001 - the aeops DB is created by the run's first task
                pass
            with export.open("ab") as fh:
                fh.write(whole[done : done + 3])
            done += 3
            time.sleep(0.3)
        with export.open("ab") as fh:
            fh.write(whole[done:])

    writer = threading.Thread(target=erp_writes)
    writer.start()
    try:
        dag_run = run_dag(DAG_ID, {"stores": ["demo"]})
    finally:
        writer.join()

    honest_outcome(env.db_url, dag_run)  # green, or failed at finish when the day was partial
    run = demo_runs(env.db_url)[-1]
    assert run.counts["export_waits"] >= 1  # it found the file unsettled and checked again later
    with session_scope(env.db_url) as s:
        taken = s.get(Export, run.export_id)
        codes = set(s.scalars(select(Finding.code).where(Finding.sync_run_id == run.id)))
    assert taken.size == len(whole)  # the whole file, not the half that was there at the start
    assert "FILE-TRUNCATED" not in codes
    assert run.counts["rows"] == whole.count(b"\n") - 1 and run.status in ("success", "partial")


def test_failures_are_retried_by_the_next_run_of_an_unchanged_export_and_escalated_after_three(embedded) -> None:
    env = embedded(faults="item_fail=1.0")  # the platform refuses every price and stock write today
    for _ in range(3):
        dag_run = run_dag(DAG_ID, {"stores": ["demo"]})  # no conf beyond the store: what the schedule runs
        assert honest_outcome(env.db_url, dag_run) == {"demo"}  # partial: demo's finish fails, the run too
    runs = demo_runs(env.db_url)
    assert [r.status for r in runs] == ["partial"] * 3  # never "skipped": the same export, retried each time
    assert runs[1].counts["retried_products"] > 0 and runs[1].counts["failed"] == runs[0].counts["failed"] > 0
    # three runs in a row: escalated with the platform's own error code, once
    with session_scope(env.db_url) as s:
        failing = set(s.scalars(select(Change.product_id).where(Change.sync_run_id == runs[2].id,
                                                                Change.status == "failed")))
    assert runs[2].counts["escalated"] == len(failing) > 0
    assert {i["error_code"] for i in runs[2].artifacts["escalated"]} == {"S00-10-10000-001"}
    alerts = [m for m in env.slack_messages() if "Products keep failing" in str(m)]
    assert len(alerts) == 1 and "S00-10-10000-001" in str(alerts[0])
    assert "escalated" not in (runs[1].counts or {})

    env.sim.app.state.sim.faults.item_fail = 0.0  # the platform takes writes again
    dag_run = run_dag(DAG_ID, {"stores": ["demo"]})
    assert str(dag_run.state) == "success", task_states(dag_run)
    fourth = demo_runs(env.db_url)[-1]
    assert fourth.status == "success" and fourth.counts["failed"] == 0
    assert fourth.counts["confirmed"] >= runs[2].counts["failed"]
    with session_scope(env.db_url) as s:
        assert s.get(Export, fourth.export_id).id == runs[0].export_id  # the unchanged export
    # and with nothing left to retry, the next run of that export is skipped as before
    run_dag(DAG_ID, {"stores": ["demo"]})
    assert demo_runs(env.db_url)[-1].status == "skipped"


def test_a_25_hour_old_export_alerts_in_slack_and_the_report(embedded, monkeypatch, tmp_path: Path) -> None:
    env = embedded()
    folder = tmp_path / "erp"
    folder.mkdir()
    export = folder / "catalog_yesterday.csv"
    export.write_bytes(next(SAMPLE.glob("*.csv")).read_bytes())
    when = time.time() - 25 * 3600  # the ERP's export of today is missing: heard of today (limit 24 hours)
    os.utime(export, (when, when))
    configure_demo(env, monkeypatch, exports=folder.as_uri())

    dag_run = run_dag(DAG_ID, {"stores": ["demo"]})

    assert str(dag_run.state) == "success", task_states(dag_run)
    run = demo_runs(env.db_url)[-1]
    assert 24.9 <= run.counts["export_age_hours"] <= 25.5
    alerts = [m for m in env.slack_messages() if "Catalog not fresh" in str(m)]
    assert len(alerts) == 1 and "25" in str(alerts[0]) and "above 24 hours" in str(alerts[0])
    html = Path(run.report_path).read_text(encoding="utf-8")
    assert 'id="freshness"' in html and "age of the newest export" in html

    run_dag(DAG_ID, {"stores": ["demo"]})  # the same export again: skipped, and still alerting
    assert demo_runs(env.db_url)[-1].status == "skipped"
    assert len([m for m in env.slack_messages() if "Catalog not fresh" in str(m)]) == 2


def test_a_held_override_survives_a_daily_run(embedded) -> None:
    env = embedded()
    before = sku_prices(env)
    codes = sorted(c for c, price in before.items() if price and c.startswith("THR-"))[:3]
    urgent = run_dag("aliexpress_urgent_rerun", {"store": "demo", "mode": "price_override", "percent": -10,
                                                 "scope": "skus", "skus": codes,
                                                 "reason": "Flash sale on three SKUs, approved by ops"})
    assert str(urgent.state) == "success", task_states(urgent)
    held = {c: sku_prices(env)[c] for c in codes}
    assert all(held[c] != before[c] for c in codes)

    daily = run_dag(DAG_ID, {"stores": ["demo"]})

    assert str(daily.state) == "success", task_states(daily)
    after = sku_prices(env)
    assert {c: after[c] for c in codes} == held  # the daily sync left the override's prices alone
    run = demo_runs(env.db_url)[-1]
    assert run.counts["held_skus"] == len(codes)
    assert {h["sku_code"] for h in run.artifacts["held"]} == set(codes)
    html = Path(run.report_path).read_text(encoding="utf-8")
    assert 'id="held"' in html and urgent.run_id in html
    with session_scope(env.db_url) as s:
        pushed = {i["sku_code"]: i["price"] for c in s.scalars(select(Change).where(
            Change.sync_run_id == run.id, Change.kind == "price")) for i in c.payload["skus"]}
    assert pushed and not set(pushed) & set(codes)  # the rest of the daily's price writes went out
    assert {c: after[c] for c in pushed} == pushed


def sku_prices(env: Embedded) -> dict[str, str | None]:
    from decimal import Decimal

    return {s["sku_code"]: None if s["price"] in (None, "") else str(Decimal(str(s["price"])).quantize(Decimal("0.01")))
            for p in env.products("demo").values() for s in p["skus"] if s.get("sku_code")}
