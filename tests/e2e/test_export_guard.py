"""The export guard end to end (issue 26's proof): after a normal first sync, the ERP exports every price halved.
The daily sync holds the demo store's export (nothing of it pushed while the form waits; demo-kids, with an
ordinary change, is pushed as usual) and asks a person through Airflow's REST route (tests/e2e/hitl.py): approved,
the halved prices reach the marketplace; rejected, nothing is written and the run says so. A dry run of the same
export shows what the guard would hold and asks nobody."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from aeops.store import session_scope
from aeops.store.models import ApiWrite, Change, ExportGuard, SyncRun
from tests.e2e.harness import Embedded, run_dag, task_states
from tests.e2e.hitl import Responder, Step, api_client

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_catalog_sync"
SAMPLE = Path(__file__).resolve().parents[2] / "include" / "sample" / "exports"


def prices(env: Embedded, store: str) -> dict[str, str]:
    return {s["sku_code"]: str(Decimal(str(s["price"])).quantize(Decimal("0.01")))
            for p in env.products(store).values() for s in p["skus"] if s.get("sku_code") and s.get("price")}


def write_export(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    with (folder / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def sample_rows(store: str) -> list[dict[str, str]]:
    """The store's sample export in canonical columns (demo-kids' is GB18030 with Chinese headers)."""
    from aeops.exports import read_export

    frame = read_export((SAMPLE / store / "catalog_2026-11-25.csv").as_uri()).frame
    return [{k: "" if v is None or v != v else str(v) for k, v in row.items() if k != "row"}  # NaN: empty
            for row in frame.to_dict("records")]


def halve(value: str) -> str:
    try:
        half = (Decimal(value) / 2).quantize(Decimal("0.01"))
    except ArithmeticError:
        return value  # a row the rules reject anyway stays as it was
    return str(max(half, Decimal("0.01")))


@pytest.fixture
def env(embedded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Embedded:
    started = embedded()
    folders = {}
    for store in ("demo", "demo-kids"):
        folders[store] = tmp_path / "exports" / store
        folders[store].mkdir(parents=True)
        write_export(folders[store], "catalog_2026-12-05.csv", sample_rows(store))
    for store in started.config["stores"]:
        store["exports"] = folders[store["name"]].as_uri()
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(started.config))
    started.folders = folders
    first = run_dag(DAG_ID)  # the first sync: what the store holds is known from here on
    assert str(first.state) == "success", task_states(first)
    return started


@pytest.fixture(scope="module")
def api():
    return api_client()


@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_an_export_that_halves_every_price_is_held_until_a_person_answers(env, api, answer: str) -> None:
    before = {store: prices(env, store) for store in ("demo", "demo-kids")}
    halved = [{**r, "price": halve(r["price"]), "discount_price": halve(r["discount_price"])
               if r["discount_price"] else ""} for r in sample_rows("demo")]
    write_export(env.folders["demo"], "catalog_2026-12-06.csv", halved)
    kids = sample_rows("demo-kids")
    kids_sku = next(r for r in kids if r["sku_code"] in before["demo-kids"] and not r["discount_price"])
    kids_sku["price"] = str((Decimal(before["demo-kids"][kids_sku["sku_code"]]) + 1).quantize(Decimal("0.01")))
    write_export(env.folders["demo-kids"], "catalog_2026-12-06.csv", kids)
    if answer == "Reject":  # a dry run first: it shows what the guard would hold, asks nobody, writes nothing
        dry = run_dag(DAG_ID, {"dry_run": True, "stores": ["demo"]})
        assert str(dry.state) == "success", task_states(dry)
        assert task_states(dry)["settle.approve[0]"] == "skipped"
        with session_scope(env.db_url) as s:
            dry_run = s.scalars(select(SyncRun).where(SyncRun.store == "demo", SyncRun.run_id == dry.run_id)).one()
            dry_guard = s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == dry_run.id)).one()
        assert dry_run.status == "dry_run" and dry_guard.held and dry_guard.dry_run and dry_guard.decision is None
        assert prices(env, "demo") == before["demo"]
        dry_report = Path(dry_run.report_path).read_text(encoding="utf-8")
        assert "the export guard would hold this export for a person&#39;s approval" in dry_report
        assert "Dry run: the export guard would hold this export" in dry_report and "(-50.0%)" in dry_report
    seen_while_waiting: dict[str, dict[str, str]] = {}

    def while_the_form_waits() -> None:
        seen_while_waiting.update({store: prices(env, store) for store in ("demo", "demo-kids")})

    responder = Responder(api, DAG_ID, [Step("settle.approve", answer, before=while_the_form_waits)],
                          fallback="Reject", timeout_s=300)
    responder.start()
    try:
        dag_run = run_dag(DAG_ID)
    finally:
        responder.stop.set()
        responder.join(timeout=10)

    states = task_states(dag_run)
    assert not responder.errors, responder.errors
    assert str(dag_run.state) == "success", (states, responder.errors)
    [asked] = responder.answered  # one person task: demo's; demo-kids was not held
    assert (asked.task_id, asked.map_index) == ("settle.approve", 0)
    assert asked.detail["subject"] == "Approve the held catalog export for demo"
    assert asked.detail["options"] == ["Approve", "Reject"]
    body = asked.detail["body"]
    assert "SKUs change price" in body and "⚠" in body and "(-50.0%)" in body
    # held: nothing of demo's export reached the marketplace while the form waited; demo-kids was pushed already
    assert seen_while_waiting["demo"] == before["demo"]
    assert seen_while_waiting["demo-kids"][kids_sku["sku_code"]] == kids_sku["price"]
    assert states["settle.approve[1]"] == "skipped"
    # not held: its push_held is skipped by its trigger rule, never started (no task process for nothing)
    ran_on = {(ti.task_id, ti.map_index): ti.hostname for ti in dag_run.get_task_instances()}  # "": never started
    assert states["settle.push_held[1]"] == "skipped" and ran_on[("settle.push_held", 1)] == ""
    assert ran_on[("settle.held", 1)] != ""  # the person task's gate does run: it decides

    after = prices(env, "demo")
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.store == "demo", SyncRun.run_id == dag_run.run_id)).one()
        guard = s.scalars(select(ExportGuard).where(ExportGuard.sync_run_id == run.id)).one()
        writes = s.scalars(select(ApiWrite).where(ApiWrite.sync_run_id == run.id)).all()
        changes = {c.status for c in s.scalars(select(Change).where(Change.sync_run_id == run.id,
                                                                    Change.kind == "price"))}
    assert guard.held and {c["check"] for c in guard.checks if c["tripped"]} >= {"changed_prices"}
    assert guard.decided_by and guard.decided_at is not None
    texts = [m["text"] for m in env.slack_messages()]
    assert sum(t.startswith("Catalog export held for approval (demo)") for t in texts) == 1
    report = Path(run.report_path).read_text(encoding="utf-8")
    assert 'id="export-guard"' in report
    halved_by_sku = {r["sku_code"]: r["price"] for r in halved}
    if answer == "Approve":
        assert guard.decision == "approved" and run.status == "success"
        assert writes and changes <= {"confirmed", "verified"}
        changed = [sku for sku in before["demo"] if sku in halved_by_sku and before["demo"][sku] != after[sku]]
        assert changed and all(after[sku] == halved_by_sku[sku] for sku in changed)
        assert sum(after[sku] == halved_by_sku[sku] for sku in before["demo"] if sku in halved_by_sku) > 10
        assert f"approved by {guard.decided_by}: pushed" in report
    else:
        assert guard.decision == "rejected" and run.status == "rejected"
        assert writes == [] and changes == {"rejected"}  # not one call to the marketplace for demo
        assert after == before["demo"]
        assert states["settle.push_held[0]"] == "skipped"
        summary = next(t for t in texts if t.startswith("Catalog sync for demo:"))
        assert summary  # the run's Slack summary, with the report's headline:
        blocks = json.dumps([m.get("blocks") for m in env.slack_messages() if "Catalog sync for demo" in m["text"]])
        assert "Nothing was written to the marketplace" in blocks
        assert f"rejected by {guard.decided_by}: nothing was written" in report
