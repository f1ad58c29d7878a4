"""The daily sync's verify sensor under dag.test(): reschedule-mode pokes until the deadline, one re-push,
the failures in the run's counts, report and Slack summary; a clean run reports 100% completion."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aeops.store import session_scope
from aeops.store.models import Change, SyncRun, VerifyResult
from tests.e2e.harness import honest_outcome, run_dag, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_catalog_sync"


@pytest.fixture
def quick_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pokes a second apart (the DAG file reads these when it is parsed)."""
    monkeypatch.setenv("AEOPS_VERIFY_POKE_SECONDS", "1")
    monkeypatch.setenv("AEOPS_VERIFY_MAX_WAIT_SECONDS", "1")


def demo_run(db_url: str) -> SyncRun:
    with session_scope(db_url) as s:
        return s.scalars(select(SyncRun).where(SyncRun.store == "demo").order_by(SyncRun.id.desc())).first()


def test_clean_sync_is_verified_in_one_poke_with_full_completion(embedded, quick_verify) -> None:
    env = embedded(profile="rich")  # the completion rate (rich profile only)
    dag_run = run_dag(DAG_ID, {"stores": ["demo"]})

    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states["settle.verify[0]"] == "success"
    run = demo_run(env.db_url)
    assert run.status == "success"
    assert run.counts["verified_share"] == 1.0 and run.counts["marketplace_completion_rate"] == 1.0
    assert run.counts["verified"] == run.counts["confirmed"] > 0 and run.counts["verify_failed"] == 0
    assert run.artifacts["verify"]["passes"] == 1
    summary = next(m for m in env.slack_messages() if "Catalog sync for demo:" in m.get("text", ""))
    counts = re.fullmatch(r"Catalog sync for demo: (\d+) rows, (\d+) pushed, 0 failed, (\d+) verified, \d+ findings, "
                          r"completion 100\.0%", summary["text"])  # the marketplace's completion rate, in words
    assert counts, summary["text"]
    assert [int(n) for n in counts.groups()] == [run.counts["rows"], run.counts["pushed"], run.counts["verified"]]


def test_device_that_never_updates_is_reported_after_one_repush(embedded, quick_verify) -> None:
    # every page of every changed product is read (a budget above the whole grid): a sampled run could verify a
    # product by its product query alone, without ever reading the mobile page that never updates
    env = embedded(faults="never_device=mobile", config_overrides={
        "verify_deadline_minutes": 0.05, "store_overrides": {"storefront_page_budget": 10_000}},
        profile="rich")  # the pages' last-modified times blame the device (rich profile only)
    before = {pid: {s["sku_code"]: s for s in p["skus"]} for pid, p in env.products("demo").items()}
    dag_run = run_dag(DAG_ID, {"stores": ["demo"]})

    assert honest_outcome(env.db_url, dag_run) == {"demo"}  # unverified writes: demo's finish fails, the run too
    run = demo_run(env.db_url)
    assert run.status == "partial"
    assert run.artifacts["verify"]["passes"] >= 2  # the sensor was rescheduled and poked again
    assert run.counts["verify_failed"] > 0 and run.counts["repushed_products"] > 0
    # A first run writes price and stock blind (issue 18): a blind write that restated what the product already
    # showed is right on the mobile pages too. Every write that changed a value failed verification.
    with session_scope(env.db_url) as s:
        verified = s.scalars(select(Change).where(Change.sync_run_id == run.id, Change.status == "verified")).all()
    for change in verified:
        assert change.kind in ("price", "inventory") and change.payload.get("blind"), change.kind
        for item in change.payload["skus"]:
            was = before[change.product_id][item["sku_code"]]
            if change.kind == "inventory":
                assert int(was["stock"]) == int(item["inventory"]), (change.product_id, item)
            else:
                assert Decimal(str(was["price"])) == Decimal(item["price"]), (change.product_id, item)
    with session_scope(env.db_url) as s:
        statuses = set(s.scalars(select(Change.status).where(Change.sync_run_id == run.id)))
        blamed = set(s.execute(select(VerifyResult.check, VerifyResult.device, VerifyResult.site).where(
            VerifyResult.sync_run_id == run.id, VerifyResult.passed.is_(False))).all())
        products = s.scalar(select(func.count(func.distinct(VerifyResult.product_id))).where(
            VerifyResult.sync_run_id == run.id, VerifyResult.passed.is_(False)))
    assert "verify_failed" in statuses and "confirmed" not in statuses  # every write that changed a value
    assert blamed == {("device", "mobile", None)}
    assert products == run.counts["repushed_products"]
    html = Path(run.report_path).read_text(encoding="utf-8")
    assert "Information update completion rate" in html and "Verified share" in html and "mobile" in html
