"""A day's honest outcome: a partial daily sync fails its store's task (after its report and Slack summary), unless
the store says a partial day is fine (``partial_is_success``); a message that cannot be written to the Slack outbox
fails the task that sent it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.notify.messages import notice
from aeops.notify.send import OutboxWriteFailed, send
from aeops.store.ledger import Ledger
from aeops.sync import finish as finish_module

DAG_ID = "aliexpress_catalog_sync"


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What finish did, in order (the alerts it may send besides the summary are not this test's)."""
    done: list[str] = []
    monkeypatch.setattr(finish_module, "notify_summary",
                        lambda ctx, run, summary: done.append(f"summary {summary['status']}"))
    for name in ("escalate_failing", "check_freshness", "open_new_product_tasks"):
        monkeypatch.setattr(finish_module, name, lambda *a, **k: None)
    real_report = finish_module.write_run_report

    def report(*args, **kwargs):
        written = real_report(*args, **kwargs)
        done.append("report")
        return written

    monkeypatch.setattr(finish_module, "write_run_report", report)
    return done


def _config(tmp_path: Path, sqlite_url: str, **store) -> object:
    return load_config({"database_url": sqlite_url, "stores": [
        {"name": "demo", "language": "en", "reports": str(tmp_path / "reports"), **store}]})


def _run_with_a_failed_write(ledger: Ledger, kind: str = "daily") -> int:
    run = ledger.runs.start("demo", DAG_ID, "run-1", kind=kind)
    ledger.runs.update(run, counts={"valid_rows": 2, "planned_price": 2})
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in (1, 2)])
    [failed, _other] = sorted(ledger.changes.open_ids([run])[(run, "price")])
    ledger.changes.fail([failed], "ERR", "system busy")
    return run


def test_a_partial_daily_sync_fails_its_task_after_its_report_and_summary(tmp_path, sqlite_url, steps,
                                                                          monkeypatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    ledger = Ledger(sqlite_url)
    run = _run_with_a_failed_write(ledger)

    with pytest.raises(finish_module.PartialSync) as partial:
        finish_module.finish("demo", DAG_ID, "run-1", config=_config(tmp_path, sqlite_url))

    assert steps == ["report", "summary partial"]  # both written before the task fails
    assert str(partial.value).startswith("store demo: the sync is partial: 1 write(s) failed, 0 not verified or "
                                         "still in review, 1 not sent, 0 blocked; the next run retries them")
    assert ledger.runs.get(run).status == "partial" and ledger.runs.get(run).report_path


def test_a_store_that_accepts_a_partial_day_keeps_its_task_green(tmp_path, sqlite_url, steps, monkeypatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    ledger = Ledger(sqlite_url)
    _run_with_a_failed_write(ledger)

    result = finish_module.finish("demo", DAG_ID, "run-1",
                                  config=_config(tmp_path, sqlite_url, partial_is_success=True))

    assert result["status"] == "partial" and steps == ["report", "summary partial"]


def test_the_partial_reason_reads_in_chinese_for_a_chinese_store(tmp_path, sqlite_url) -> None:
    from aeops.catalog.context import RunContext

    cfg = load_config({"stores": [{"name": "demo"}]})
    ctx = RunContext(cfg, cfg.store("demo"), Ledger(sqlite_url))
    reason = finish_module.partial_reason(ctx, {"failed": 2, "verify_failed": 1, "in_review": 1}, "r.html")
    assert reason.startswith("店铺 demo：本次同步只完成了一部分：2 个写入失败，2 个未通过核实或仍在审核中")


def test_a_message_that_cannot_be_written_to_the_outbox_fails_the_task() -> None:
    config = load_config({"stores": [{"name": "demo", "language": "en"}]})
    message = notice(title="Certificate expires", text="CE of 1001", store="demo", severity="warning")
    unreachable = "postgresql+psycopg2://aeops@127.0.0.1:1/aeops?connect_timeout=2"

    with pytest.raises(OutboxWriteFailed) as failed:
        send(message, store="demo", config=config, db_url=unreachable)

    assert str(failed.value) == ("a Slack message (notice) could not be written to the outbox (OperationalError); "
                                 "this task fails so that its retry sends it again")
