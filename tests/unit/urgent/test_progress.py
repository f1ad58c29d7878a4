"""The deadline: started / half-way / late / done messages, each once, and a missed deadline fails the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aeops.config import load_config
from aeops.store import session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import Change
from aeops.urgent import steps

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
REQUEST = {"store": "demo", "mode": "price_override", "percent": -20, "reason": "Black Friday repricing"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list:
    messages: list = []
    monkeypatch.setattr(steps, "_send", lambda ctx, message: messages.append(message))
    return messages


@pytest.fixture
def config(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)  # it wins over database_url
    return load_config({"database_url": sqlite_url, "stores": [{"name": "demo", "language": "en"}]})


def _start(config, run_id: str = "manual__1") -> int:
    info = steps.start(dict(REQUEST), run_id, triggered_at=T0, config=config)
    return info["sync_run_id"]


def test_start_records_the_reason_and_posts_started_once(config, sent) -> None:
    sync_run_id = _start(config)
    _start(config)  # a retried start posts nothing new
    run = Ledger(config.database_url).runs.get(sync_run_id)
    assert "Black Friday repricing" in run.message and run.kind == "urgent"
    assert run.artifacts["deadline"]["due_at"] == (T0 + timedelta(minutes=15)).isoformat()
    assert [m.text.split(":")[0] for m in sent] == ["Urgent re-run started (demo)"]
    assert Ledger(config.database_url).runs.milestones(sync_run_id)["requested"].detail["reason"] == REQUEST["reason"]


def test_half_way_on_track_then_late_each_posted_once(config, sent) -> None:
    from aeops.catalog.context import context

    sync_run_id = _start(config)
    with session_scope(config.database_url) as s:
        for pid, status in enumerate(["confirmed", "confirmed", "planned", "planned"]):
            s.add(Change(sync_run_id=sync_run_id, store="demo", product_id=pid, kind="price", status=status))
    ctx = context("demo", config)
    steps.note_progress(ctx, sync_run_id, "manual__1", now=T0 + timedelta(minutes=4))
    steps.note_progress(ctx, sync_run_id, "manual__1", now=T0 + timedelta(minutes=5))
    steps.note_progress(ctx, sync_run_id, "manual__1", now=T0 + timedelta(minutes=16))
    steps.note_progress(ctx, sync_run_id, "manual__1", now=T0 + timedelta(minutes=17))
    titles = [(m.text.split(" (")[0], m.severity) for m in sent[1:]]
    assert titles == [("Urgent re-run half-way", "info"), ("Urgent re-run missed its deadline", "error")]
    assert "2 of 4 changes answered after 4.0 of 15 min; on track" in sent[1].text


def test_a_run_that_lands_late_alerts_with_error_severity_and_fails(config, sent) -> None:
    sync_run_id = _start(config)
    Ledger(config.database_url).runs.update(sync_run_id, status="success", counts={"confirmed": 3, "targets": 3})
    with pytest.raises(steps.DeadlineMissed, match="took 17.5 min, deadline 15 min"):
        steps.report("demo", "manual__1", now=T0 + timedelta(minutes=17.5), config=config)
    final = sent[-1]
    assert final.severity == "error" and final.text.startswith("Urgent re-run LATE: 17.5 min")
    assert "revert" in final.text  # how to undo the override


def test_a_run_on_time_is_a_plain_summary(config, sent) -> None:
    sync_run_id = _start(config)
    Ledger(config.database_url).runs.update(sync_run_id, status="partial",
                      counts={"confirmed": 2, "failed": 1, "targets": 3})
    summary = steps.report("demo", "manual__1", now=T0 + timedelta(minutes=3), config=config)
    assert summary["late"] is False and summary["status"] == "partial"
    assert sent[-1].severity == "warning" and "retry_failed" in sent[-1].text


def test_chunks_are_sized_so_every_pool_slot_has_work() -> None:
    assert steps.chunk_batches({"planned_price": 100_000}) == 50  # 5000 batches: capped at 50 a task
    assert steps.chunk_batches({"planned_price": 1000}) == 4  # 50 batches over 8 slots, two chunks each
    assert steps.chunk_batches({}) == 1
