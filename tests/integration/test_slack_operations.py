# ruff: noqa: F811 - pytest fixtures imported from slack_fixtures are redefined as test arguments
"""The Slack outbox operated: one page per failing run, a refused bot token blocks the queue without losing a
message, and `aeops slack list|flush|drop` (provider SlackHook -> local sink, aeops outbox in SQLite)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from slack_fixtures import SLACK_TEST_TOKEN, outbox_db, slack_conn, slack_sink  # noqa: F401 - fixtures
from sqlalchemy import select

from aeops import cli
from aeops.config import load_config
from aeops.notify import pages
from aeops.notify.callbacks import on_failure_callback
from aeops.notify.messages import notice
from aeops.notify.outbox_admin import outbox_health
from aeops.notify.send import OutboxBlocked, drain_or_fail, send
from aeops.notify.slack_sink import SlackSink
from aeops.store.db import session_scope
from aeops.store.models import SlackOutbox

CONFIG = load_config({"stores": [{"name": "demo", "slack_alerts_channel": "#ops-alerts",
                                  "slack_reports_channel": "#ops-reports"},
                                 {"name": "demo-kids", "slack_alerts_channel": "#ops-alerts",
                                  "slack_reports_channel": "#ops-reports"}]})
DAG_ID = "aliexpress_catalog_sync"


def task_context(run_id: str, task_id: str, error: BaseException, *, store: str | None = None,
                 map_index: int = -1) -> dict:
    ti = SimpleNamespace(dag_id=DAG_ID, task_id=task_id, run_id=run_id, try_number=3, map_index=map_index,
                         state="failed")
    task = SimpleNamespace(op_args=(store,) if store else (), op_kwargs={})
    return {"ti": ti, "task_instance": ti, "task": task, "run_id": run_id, "exception": error, "params": {}}


def dag_context(run_id: str, last_task: str, reason: str = "task_failure") -> dict:
    ti = SimpleNamespace(dag_id=DAG_ID, task_id=last_task, run_id=run_id, try_number=1, map_index=-1, state="failed")
    return {"ti": ti, "dag_run": SimpleNamespace(dag_id=DAG_ID, run_id=run_id), "run_id": run_id, "reason": reason,
            "params": {}}


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEOPS_CONFIG", CONFIG.model_dump_json())


def _rows(db: str) -> list[SlackOutbox]:
    with session_scope(db) as s:
        return list(s.scalars(select(SlackOutbox).order_by(SlackOutbox.id)))


def test_a_failing_run_pages_once_listing_every_failing_task_and_store(slack_conn: SlackSink, outbox_db: str,
                                                                      configured: None) -> None:
    callback = on_failure_callback(db_url=outbox_db)
    run = "scheduled__2026-11-29T02:00:00+00:00"
    callback(task_context(run, "prepare.preflight", RuntimeError("demo-kids: the marketplace rejected the "
                                                                 "credentials"), store="demo-kids", map_index=1))
    callback(task_context(run, "push_chunk", ConnectionError("gateway unreachable"), store="demo", map_index=0))
    callback(task_context(run, "outcome", RuntimeError("store(s) demo-kids could not be synced")))
    callback(dag_context(run, "outcome"))  # the DAG-level callback of the same run

    [page] = slack_conn.messages("#ops-alerts")  # one message for the run, edited as failures came in
    assert slack_conn.messages("#ops-reports") == []
    flat = page["text"] + json.dumps(page["blocks"])
    for expected in ("prepare.preflight[1]", "push_chunk[0]", "outcome", "demo-kids", "demo",
                     "the marketplace rejected the credentials", "gateway unreachable"):
        assert expected in flat, expected
    assert len(slack_conn.requests("chat.postMessage")) == 1 and len(slack_conn.requests("chat.update")) == 3
    assert "(x" not in page["text"]  # a page shows its newest version, not a fold count

    other = "scheduled__2026-11-30T02:00:00+00:00"  # another run is another page
    callback(task_context(other, "outcome", RuntimeError("store(s) demo could not be synced")))
    assert len(slack_conn.messages("#ops-alerts")) == 2
    assert [f.label for f in pages.failures_of_run(outbox_db, DAG_ID, run)] == [
        "prepare.preflight[1]", "push_chunk[0]", "outcome"]


def test_a_run_stopped_by_airflow_is_a_failure_of_the_run_itself(slack_conn: SlackSink, outbox_db: str,
                                                                  configured: None) -> None:
    on_failure_callback(db_url=outbox_db)(dag_context("manual__1", "verify", reason="timed_out"))
    [page] = slack_conn.messages("#ops-alerts")
    # no store: the first store's language (the default, Chinese)
    assert page["text"].startswith(f"{DAG_ID} 运行失败: （整个运行）: the run timed out (dagrun_timeout)")


def test_a_refused_bot_token_blocks_the_queue_says_so_and_loses_nothing(slack_sink: SlackSink, outbox_db: str,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        configured: None, capsys) -> None:
    def connection(token: str) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
            {"conn_type": "slack", "password": token, "extra": {"base_url": slack_sink.api_url, "timeout": 5}}))

    connection("xoxb-wrong-token-000000")
    for n in range(3):
        result = send(notice(title=f"n{n}", text="x", severity="error"), config=CONFIG, db_url=outbox_db)
        assert result.delivery.blocked == "invalid_auth"
    health = outbox_health(outbox_db)
    assert health.blocked and health.pending == 3 and not health.ok
    with pytest.raises(OutboxBlocked) as caught:  # the outbox DAG's task fails, saying what to fix
        drain_or_fail(config=CONFIG, db_url=outbox_db)
    assert "invalid_auth" in str(caught.value) and "slack_api_default" in str(caught.value)
    assert "aeops slack flush" in str(caught.value) and slack_sink.messages() == []

    monkeypatch.setenv("AEOPS_DATABASE_URL", outbox_db)
    assert cli.main(["slack", "list"]) == 0
    listed = capsys.readouterr().out
    assert "BLOCKED" in listed and "invalid_auth" in listed and "n0" in listed

    connection(SLACK_TEST_TOKEN)  # the token is fixed: flush delivers everything, in order, at once
    assert cli.main(["slack", "flush"]) == 0
    assert [m["text"].split(":")[0] for m in slack_sink.messages("#ops-alerts")] == ["n0", "n1", "n2"]
    assert outbox_health(outbox_db).ok and outbox_health(outbox_db).pending == 0


def test_an_operator_drops_one_message_and_the_record_stays(slack_sink: SlackSink, outbox_db: str,
                                                            monkeypatch: pytest.MonkeyPatch, configured: None,
                                                            capsys) -> None:
    with SlackSink() as dead:
        url = dead.api_url  # Slack is down: both messages wait
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
        {"conn_type": "slack", "password": SLACK_TEST_TOKEN, "extra": {"base_url": url, "timeout": 2}}))
    send(notice(title="wrong alert", text="posted by mistake", severity="error"), config=CONFIG, db_url=outbox_db)
    send(notice(title="real alert", text="keep", severity="error"), config=CONFIG, db_url=outbox_db)
    first, second = _rows(outbox_db)
    monkeypatch.setenv("AEOPS_DATABASE_URL", outbox_db)

    assert cli.main(["slack", "drop", str(first.id), "--reason", "sent by mistake"]) == 0
    assert cli.main(["slack", "drop", str(first.id)]) == 2  # already dropped: one line, exit 2
    assert "only pending or failed messages can be dropped" in capsys.readouterr().err
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
        {"conn_type": "slack", "password": SLACK_TEST_TOKEN, "extra": {"base_url": slack_sink.api_url}}))
    assert cli.main(["slack", "flush"]) == 0
    assert [m["text"].split(":")[0] for m in slack_sink.messages()] == ["real alert"]
    dropped, sent = _rows(outbox_db)
    assert dropped.status == "dropped" and "sent by mistake" in dropped.last_error and sent.status == "sent"
