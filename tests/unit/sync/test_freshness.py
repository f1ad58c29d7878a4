"""Freshness: the newest export's age and the oldest unsynced change's, alerted once per run past the limits."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from aeops.catalog.context import RunContext
from aeops.catalog.diff import PlannedChange
from aeops.config import parse_config
from aeops.store.ledger import Ledger
from aeops.sync import freshness


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list:
    messages: list = []
    monkeypatch.setattr(freshness, "send", lambda message, **_kw: messages.append(message))
    return messages


def _ctx(sqlite_url: str, exports: Path, **store) -> RunContext:
    cfg = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo", "exports": str(exports),
                                                                "language": "en", **store}]})
    return RunContext(cfg, cfg.store("demo"), Ledger(sqlite_url))


def test_a_change_unsynced_for_more_than_a_day_alerts_once_with_its_age(sqlite_url, tmp_path: Path, sent) -> None:
    (tmp_path / "today.csv").write_text("product_id\n")  # written now: 30 hours later it is stale as well
    ctx = _ctx(sqlite_url, tmp_path)
    first = ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "d1")
    ctx.ledger.changes.store_plan(first, "demo", [PlannedChange(1, "price", {"skus": []})])
    ctx.ledger.changes.fail([c.id for c in ctx.ledger.changes.of_run(first)], "E-1", "refused")
    run = ctx.ledger.runs.get(first)
    later = run.started_at.replace(tzinfo=freshness.UTC) + timedelta(hours=30)

    ages = freshness.check_freshness(ctx, run, now=later)
    again = freshness.check_freshness(ctx, run, now=later)  # a retried finish: no second alert

    assert ages["oldest_unsynced_hours"] == pytest.approx(30, abs=0.2) and ages["export_age_hours"] > 29
    assert again == ages and len(sent) == 1
    assert "unsynced for 30" in sent[0].text and "within 24 hours" in sent[0].text
    assert ctx.ledger.runs.get(first).counts["oldest_unsynced_hours"] == ages["oldest_unsynced_hours"]


def test_a_fresh_export_and_nothing_unsynced_stay_quiet(sqlite_url, tmp_path: Path, sent) -> None:
    export = tmp_path / "today.csv"
    export.write_text("product_id\n")
    old = time.time() - 25 * 3600
    os.utime(export, (old, old))
    ctx = _ctx(sqlite_url, tmp_path)
    run = ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "d1"))

    ages = freshness.check_freshness(ctx, run)

    assert ages == {"export_age_hours": pytest.approx(25, abs=0.1)} and sent == []
    tight = _ctx(sqlite_url, tmp_path, export_max_age_hours=24)
    freshness.check_freshness(tight, run)
    assert len(sent) == 1 and "25" in sent[0].text and "above 24 hours" in sent[0].text
