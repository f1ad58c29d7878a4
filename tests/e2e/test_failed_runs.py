"""A run whose work failed ends failed in Airflow, says why in its report and summary, and pages Slack once.

One test per aeops DAG (dag.test() against the simulator and the Slack sink), each breaking the run the way a
new user would, plus the Slack outbox delivering at the next run's start what an earlier run left behind.
"""

from __future__ import annotations

import html
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aeops import embedded as embedded_mode
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.notify.slack_sink import channel_id
from aeops.store import session_scope, upgrade
from aeops.store.models import SlackOutbox, SyncRun, utcnow
from tests.e2e.harness import Embedded, run_dag, task_states

pytestmark = pytest.mark.e2e
ALERTS, REPORTS = "#aeops-alerts", "#aeops-reports"


def messages(env: Embedded, channel: str) -> list[dict]:
    return [m for m in env.slack_messages() if m["channel"] == channel_id(channel)]


def flat(message: dict) -> str:
    return message["text"] + json.dumps(message["blocks"], ensure_ascii=False)


def store_folder_missing(embedded, tmp_path: Path, key: str, store: str = "demo-kids") -> Embedded:
    stores = embedded_mode.aeops_config()["stores"]
    for entry in stores:
        if entry["name"] == store:
            entry[key] = (tmp_path / "no-such-folder").as_uri()
    return embedded(config_overrides={"stores": stores})


def test_urgent_price_file_with_abc_fails_the_run_with_the_reason_everywhere(embedded, tmp_path: Path) -> None:
    """The new user's case: a price file holding `abc` as a price."""
    # a price file is read only from the store's price_files (or exports) folder
    env = embedded(config_overrides={"store_overrides": {"price_files": str(tmp_path)}})
    price_file = tmp_path / "prices.csv"
    price_file.write_text("sku_code,price\nNOT-CHECKED-YET,abc\n", encoding="utf-8")

    dag_run = run_dag("aliexpress_urgent_rerun", {"store": "demo", "mode": "price_override",
                                                  "price_file": str(price_file),
                                                  "reason": "Black Friday prices from the buyer's sheet"})

    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["plan"] == "failed" and states["report"] == "failed" and states["release_lock"] == "success"
    reason = "line 2: price is not a number"  # the line and column, never the cell's value
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.run_id == dag_run.run_id)).one()
    assert run.status == "failed"
    page_text = html.unescape(Path(run.report_path).read_text(encoding="utf-8"))
    assert "What stopped it" in page_text and reason in page_text
    summaries = [m for m in messages(env, REPORTS) if "FAILED" in m["text"]]  # the run's report and final summary
    assert any(m["text"].startswith("Urgent re-run FAILED") for m in summaries)
    assert all(reason in flat(m) for m in summaries)
    [page] = messages(env, ALERTS)  # one message for the failing run: plan and report fold into it
    assert reason in flat(page) and "plan" in flat(page) and "report" in flat(page)


def test_daily_sync_with_a_store_that_cannot_be_synced_fails_with_the_reason(embedded, tmp_path: Path) -> None:
    env = store_folder_missing(embedded, tmp_path, "exports")

    dag_run = run_dag("aliexpress_catalog_sync", {"stores": ["demo-kids"]})

    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["prepare.pull_export[0]"] == "failed" and states["outcome"] == "failed"
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.run_id == dag_run.run_id)).one()
    assert run.status == "failed"
    assert "no-such-folder" in Path(run.report_path).read_text(encoding="utf-8")
    [summary] = messages(env, REPORTS)  # demo-kids reads Chinese: its summary and its page are in Chinese
    assert summary["text"].startswith("失败：店铺 demo-kids 商品目录同步") and "no-such-folder" in flat(summary)
    [page] = messages(env, ALERTS)  # one page for the run, whatever failed in it (docs/slack.md)
    missing = (tmp_path / "no-such-folder").as_uri()
    assert page["text"].startswith(
        f"aliexpress_catalog_sync 运行失败，店铺 demo-kids: prepare.pull_export[0]（店铺 demo-kids）："
        f"LocationError: {missing} does not exist; outcome: SyncError: store(s) demo-kids could "
        "not be synced; "), page["text"]
    assert "（2 个失败任务），店铺 demo-kids" in flat(page) and "失败的任务" in flat(page)


def test_certificate_watch_with_a_missing_folder_fails_and_pages_once(embedded, tmp_path: Path) -> None:
    env = store_folder_missing(embedded, tmp_path, "certs")

    dag_run = run_dag("aliexpress_certificate_expiry", {"as_of": "2026-11-26"})

    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["watch.scan_certificates[1]"] == "failed" and states["watch.scan_certificates[0]"] == "success"
    # demo's own alerts go on; the page of demo-kids' failure is in its language (Chinese)
    [page] = [m for m in messages(env, ALERTS) if m["text"].startswith("aliexpress_certificate_expiry 运行失败")]
    assert "demo-kids" in flat(page) and "does not exist or is not a folder" in flat(page)


def test_logo_rotation_with_a_missing_folder_fails_and_pages_once(embedded, tmp_path: Path) -> None:
    env = store_folder_missing(embedded, tmp_path, "logo")

    dag_run = run_dag("aliexpress_logo_rotation", {"as_of": "2026-11-26"})

    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["check_logo[1]"] == "failed" and states["check_logo[0]"] == "success"
    [page] = [m for m in messages(env, ALERTS) if m["text"].startswith("aliexpress_logo_rotation 运行失败")]
    assert "demo-kids" in flat(page) and "does not exist or is not a folder" in flat(page)


def test_slack_outbox_dag_fails_while_slack_refuses_the_token_and_delivers_once_fixed(
        embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    env = embedded()
    good = env.env["AIRFLOW_CONN_SLACK_API_DEFAULT"]
    wrong = json.loads(good)
    wrong["password"] = "xoxb-revoked-000000000000"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(wrong))
    upgrade(env.db_url)
    send(notice(title="Certificate expires in 7 days", text="Sparky_CE", severity="warning", store="demo"))

    blocked = run_dag("aeops_slack_outbox")
    assert str(blocked.state) == "failed" and task_states(blocked)["drain"] == "failed"
    assert env.slack_messages() == []  # nothing got through, nothing is lost:
    with session_scope(env.db_url) as s:
        waiting = s.scalars(select(SlackOutbox).where(SlackOutbox.status == "pending")).all()
        assert waiting and waiting[0].last_error == "blocked: invalid_auth"
        s.execute(update(SlackOutbox).values(next_attempt_at=None))  # the back-off has passed

    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", good)  # the token is fixed
    fixed = run_dag("aeops_slack_outbox")
    assert str(fixed.state) == "success"
    texts = [m["text"] for m in env.slack_messages()]
    assert texts[0].startswith("Certificate expires in 7 days")  # the oldest first, none lost


def test_a_message_queued_while_slack_was_down_goes_out_when_the_next_run_starts(embedded) -> None:
    env = embedded()
    env.sink.fail("500", count=1)
    upgrade(env.db_url)
    result = send(notice(title="Logo rotated", text="queued while Slack was down", store="demo"))
    assert result.delivery.pending == 1 and env.slack_messages() == []
    with session_scope(env.db_url) as s:  # time passes: its back-off is over when the next run starts
        s.execute(update(SlackOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))

    dag_run = run_dag("aliexpress_logo_rotation", {"as_of": "2026-11-26"})

    assert str(dag_run.state) == "success", task_states(dag_run)
    texts = [m["text"] for m in env.slack_messages()]
    assert texts[0].startswith("Logo rotated (demo): queued while Slack was down")  # delivered first, at the start
    assert messages(env, ALERTS) == []  # and no alert about it
    with session_scope(env.db_url) as s:
        assert s.scalars(select(SlackOutbox.status).order_by(SlackOutbox.id)).first() == "sent"
