"""Freshness: the newest export's age and the oldest unsynced change's, alerted once per run past the limits."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aeops.catalog.context import RunContext
from aeops.catalog.diff import PlannedChange
from aeops.catalog.timestamps import source_times
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


def _export_aged(tmp_path: Path, hours: float) -> Path:
    export = tmp_path / "today.csv"
    export.write_text("product_id\n")
    old = time.time() - hours * 3600
    os.utime(export, (old, old))
    return export


def test_a_23_hour_old_export_and_nothing_unsynced_stay_quiet(sqlite_url, tmp_path: Path, sent) -> None:
    _export_aged(tmp_path, 23)
    ctx = _ctx(sqlite_url, tmp_path)
    run = ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "d1"))

    ages = freshness.check_freshness(ctx, run)

    assert ages == {"export_age_hours": pytest.approx(23, abs=0.1)} and sent == []


def test_an_export_older_than_24_hours_alerts_by_default(sqlite_url, tmp_path: Path, sent) -> None:
    """The guide: key fields synchronised within 24 hours; a missing export of the day is heard of that day."""
    _export_aged(tmp_path, 25)
    ctx = _ctx(sqlite_url, tmp_path)
    run = ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "d1"))

    ages = freshness.check_freshness(ctx, run)

    assert ctx.store.export_max_age_hours == 24
    assert ages == {"export_age_hours": pytest.approx(25, abs=0.1)}
    assert len(sent) == 1 and "25" in sent[0].text and "above 24 hours" in sent[0].text
    relaxed = _ctx(sqlite_url, tmp_path, export_max_age_hours=26)  # a store may allow its ERP more
    freshness.check_freshness(relaxed, ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync",
                                                                                   "d2")))
    assert len(sent) == 1


def _failed_change(ctx: RunContext, run_id: str, source_at=None) -> int:
    run = ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", run_id)
    ctx.ledger.changes.store_plan(run, "demo", [PlannedChange(1, "price", {"skus": []})],
                                  source_at={1: source_at} if source_at else None)
    ctx.ledger.changes.fail([c.id for c in ctx.ledger.changes.of_run(run)], "E-1", "refused")
    return run


def test_a_change_counts_from_when_its_source_changed_not_from_the_run_that_saw_it(sqlite_url, tmp_path: Path,
                                                                                   sent) -> None:
    """The export said the price changed 20 hours before the run; 5 hours after the run it is 25 hours unsynced."""
    (tmp_path / "today.csv").write_text("product_id\n")
    ctx = _ctx(sqlite_url, tmp_path)
    probe = ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "probe"))
    started = probe.started_at.replace(tzinfo=freshness.UTC)
    run = ctx.ledger.runs.get(_failed_change(ctx, "d1", source_at=started - timedelta(hours=20)))

    ages = freshness.check_freshness(ctx, run, now=started + timedelta(hours=5))

    assert ages["oldest_unsynced_hours"] == pytest.approx(25, abs=0.2)
    assert len(sent) == 1 and "unsynced for 25" in sent[0].text


def test_a_change_whose_source_changed_23_hours_ago_stays_quiet(sqlite_url, tmp_path: Path, sent) -> None:
    (tmp_path / "today.csv").write_text("product_id\n")
    ctx = _ctx(sqlite_url, tmp_path)
    probe = ctx.ledger.runs.get(ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "probe"))
    started = probe.started_at.replace(tzinfo=freshness.UTC)
    run = ctx.ledger.runs.get(_failed_change(ctx, "d1", source_at=started - timedelta(hours=20)))

    ages = freshness.check_freshness(ctx, run, now=started + timedelta(hours=3))

    assert ages["oldest_unsynced_hours"] == pytest.approx(23, abs=0.2) and sent == []


def test_source_times_take_the_updated_at_column_else_the_export_time() -> None:
    exported = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    rows = [{"product_id": "1", "updated_at": "2026-12-04 08:00:00"},  # Shanghai time: 00:00 UTC
            {"product_id": "1", "updated_at": "2026-12-04T09:30:00+08:00"},  # the product's newest row wins
            {"product_id": "2", "updated_at": None},
            {"product_id": "3", "updated_at": "yesterday"},  # unreadable: the export's time
            {"product_id": "4", "updated_at": "2026-12-06T00:00:00Z"}]  # after the file: the file's time

    times = source_times(rows, exported, "Asia/Shanghai")

    assert times == {1: datetime(2026, 12, 4, 1, 30, tzinfo=UTC), 2: exported, 3: exported, 4: exported}
    assert source_times(rows[2:3], None, "Asia/Shanghai") == {}
