# ruff: noqa: F811 - pytest fixtures imported from slack_fixtures are redefined as test arguments
"""Slack end to end: provider SlackHook + slack_sdk WebClient -> local sink, with the aeops outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from slack_fixtures import (  # noqa: F401 - fixtures
    ACCESS_TOKEN,
    APP_SECRET,
    SLACK_TEST_TOKEN,
    TEST_SECRETS,
    outbox_db,
    recorded_lines,
    slack_conn,
    slack_sink,
)
from sqlalchemy import select

from aeops.config import load_config
from aeops.findings import Finding, Severity
from aeops.notify.callbacks import on_failure_callback
from aeops.notify.messages import failure_alert, notice, summary_details, sync_summary
from aeops.notify.outbox import deliver_pending
from aeops.notify.send import send, slack_client
from aeops.notify.slack_sink import SlackSink, channel_id, token_fingerprint
from aeops.store.db import session_scope
from aeops.store.models import SlackOutbox

CONFIG = load_config({"stores": [{"name": "demo", "language": "en", "slack_alerts_channel": "#ops-alerts",
                                  "slack_reports_channel": "#ops-reports"}],
                      "slack_fold_window_minutes": 30})


def _context(exc: BaseException, *, task_id: str = "push", state: str = "failed", try_number: int = 3) -> dict:
    ti = SimpleNamespace(dag_id="aliexpress_catalog_sync", task_id=task_id, run_id="scheduled__2024-11-29T02:00",
                         try_number=try_number, max_tries=2, map_index=-1, state=state)
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "exception": exc, "params": {"store": "demo"}}


def _outbox(db: str) -> list[SlackOutbox]:
    with session_scope(db) as s:
        return list(s.scalars(select(SlackOutbox).order_by(SlackOutbox.id)))


def test_hook_connection_from_env_var_reaches_the_sink_with_its_token(slack_conn: SlackSink) -> None:
    client = slack_client()
    assert client.base_url == slack_conn.api_url
    assert client.api_call("auth.test")["ok"] is True
    [req] = slack_conn.requests("auth.test")
    assert req["auth"] == {"present": True, "sha256_prefix": token_fingerprint(SLACK_TEST_TOKEN)}
    assert SLACK_TEST_TOKEN not in slack_conn.state.out.read_text()


def test_failure_callback_posts_one_alert_with_log_link(
    slack_conn: SlackSink, outbox_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEOPS_CONFIG", CONFIG.model_dump_json())
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    callback = on_failure_callback(store="{{ params.store }}", db_url=outbox_db)

    callback(_context(RuntimeError("boom on try 1"), state="up_for_retry", try_number=1))
    assert slack_conn.messages() == []  # a try that will be retried pages nobody

    callback(_context(RuntimeError(f"batch rejected: invalid app_secret={APP_SECRET}\nTraceback ...")))
    [msg] = slack_conn.messages("#ops-alerts")  # the run's page
    assert msg["text"].startswith("Run of aliexpress_catalog_sync failed for store demo: push (store demo): "
                                  "RuntimeError: batch rejected")
    flat = json.dumps(msg["blocks"])
    assert "https://airflow.example.com/dags/aliexpress_catalog_sync/runs/scheduled__2024-11-29T02%3A00/" \
           "tasks/push?try_number=3" in flat
    assert APP_SECRET not in flat and "Traceback" not in flat
    [row] = _outbox(outbox_db)
    assert row.status == "sent" and row.slack_ts == msg["ts"] and row.channel == "#ops-alerts"


def test_sync_summary_is_thread_parent_and_details_reply_in_its_thread(slack_conn: SlackSink, outbox_db: str) -> None:
    findings = [Finding("SKU-CHARS", Severity.ERROR, f"remove '&' from A&{i}", sku_code=f"A&{i}", field="sku_code")
                for i in range(25)]
    summary = sync_summary(store="demo", dag_id="aliexpress_catalog_sync", run_id="manual__1", rows=120,
                           findings_by_code={"SKU-CHARS": 25}, pushed=90, failed=2, verified=88,
                           completion_rate=0.98,
                           report_url="http://airflow.example/aeops/reports/demo/aliexpress_catalog_sync/manual__1",
                           top_findings=findings)
    send(summary, config=CONFIG, db_url=outbox_db)
    for detail in summary_details(findings, store="demo", run_id="manual__1"):
        send(detail, config=CONFIG, db_url=outbox_db)

    parent, *replies = slack_conn.messages("#ops-reports")
    assert "120 rows" in parent["text"] and "2 failed" in parent["text"] and "98.0%" in parent["text"]
    flat = json.dumps(parent["blocks"])
    assert "<http://airflow.example/aeops/reports/demo/aliexpress_catalog_sync/manual__1|Open the report>" in flat
    assert "Remove &amp; # /" in flat  # the code's advice (a finding kept without its texts), escaped for Slack
    assert len(replies) == 2 and all(r["thread_ts"] == parent["ts"] for r in replies)
    assert parent["reply_count"] == 2


def test_identical_alerts_fold_into_the_first_message(slack_conn: SlackSink, outbox_db: str) -> None:
    for _ in range(3):
        send(failure_alert(_context(ValueError("stock must be >= 0"))), config=CONFIG, db_url=outbox_db)
    send(failure_alert(_context(ValueError("another problem"))), config=CONFIG, db_url=outbox_db)

    first, other = slack_conn.messages("#ops-alerts")
    assert first["text"].endswith("(x3)") and "edited" in first
    assert "another problem" in other["text"] and "(x" not in other["text"]
    assert len(slack_conn.requests("chat.postMessage")) == 2
    assert len(slack_conn.requests("chat.update")) == 2
    assert [r.status for r in _outbox(outbox_db)] == ["sent", "folded", "folded", "sent"]

    later = datetime.now(UTC) + timedelta(minutes=31)  # outside the 30-minute window: a new message
    send(failure_alert(_context(ValueError("stock must be >= 0"))), config=CONFIG, db_url=outbox_db, now=later)
    assert len(slack_conn.messages("#ops-alerts")) == 3


def test_outbox_survives_429_and_500_then_delivers_in_order_once(slack_conn: SlackSink, outbox_db: str) -> None:
    client = slack_client()
    t0 = datetime.now(UTC)
    slack_conn.fail("429", count=1, retry_after=7)
    first = send(notice(title="n0", text="zero"), config=CONFIG, db_url=outbox_db, client=client, now=t0)
    assert first.delivery.stopped_by == "ratelimited (429)" and first.delivery.pending == 1
    [row] = _outbox(outbox_db)
    assert row.next_attempt_at.replace(tzinfo=UTC) == t0 + timedelta(seconds=7)  # Retry-After honoured

    # inside the Retry-After window nothing is sent, even though the sink has recovered
    send(notice(title="n1", text="one"), config=CONFIG, db_url=outbox_db, client=client, now=t0 + timedelta(seconds=3))
    assert slack_conn.messages() == [] and len(slack_conn.requests()) == 1

    slack_conn.fail("500", count=2)
    t1 = t0 + timedelta(seconds=8)
    report = deliver_pending(outbox_db, client, now=t1)
    assert report.stopped_by == "Slack answered HTTP 500" and report.pending == 2
    for i in range(2, 5):
        send(notice(title=f"n{i}", text="x"), config=CONFIG, db_url=outbox_db, client=client, now=t1)
    assert len(slack_conn.requests()) == 2  # sends inside the back-off did not call Slack
    report = deliver_pending(outbox_db, client, now=t1 + timedelta(minutes=5))  # 500 again
    assert report.stopped_by == "Slack answered HTTP 500" and report.pending == 5
    report = deliver_pending(outbox_db, client, now=t1 + timedelta(minutes=30))  # Slack is back
    assert report.pending == 0 and report.sent == 5

    texts = [m["text"].split(":")[0] for m in slack_conn.messages("#ops-reports")]
    assert texts == ["n0", "n1", "n2", "n3", "n4"]  # in order, none lost, none duplicated
    assert all(r.status == "sent" and r.attempts >= 1 for r in _outbox(outbox_db))
    assert [r["status"] for r in slack_conn.requests("chat.postMessage")] == [429, 500, 500] + [200] * 5


def test_slack_down_never_raises_and_keeps_the_message(outbox_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackSink() as dead:
        url = dead.api_url
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
        {"conn_type": "slack", "password": SLACK_TEST_TOKEN, "extra": {"base_url": url, "timeout": 2}}))
    result = send(notice(title="t", text="x", severity="error"), config=CONFIG, db_url=outbox_db)
    assert not result.delivered and result.delivery.stopped_by.startswith("connection error")
    [row] = _outbox(outbox_db)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at is not None


def test_wrong_token_is_refused_and_message_stays_pending(slack_sink: SlackSink, outbox_db: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps(
        {"conn_type": "slack", "password": "xoxb-wrong-token", "extra": {"base_url": slack_sink.api_url}}))
    result = send(notice(title="t", text="x"), config=CONFIG, db_url=outbox_db)
    assert result.delivery.stopped_by == "invalid_auth"
    assert _outbox(outbox_db)[0].status == "pending"
    assert slack_sink.requests()[0]["auth"]["sha256_prefix"] == token_fingerprint("xoxb-wrong-token")


def test_no_secret_from_the_test_connections_appears_in_any_recorded_request(
    slack_conn: SlackSink, outbox_db: str
) -> None:
    leaky = [
        failure_alert(_context(PermissionError(f"token {ACCESS_TOKEN} rejected, bot {SLACK_TEST_TOKEN}"))),
        notice(title="Certificate", text=f"upload failed: access_token={ACCESS_TOKEN}&sign=ABCDEF123",
               severity="warning"),
        sync_summary(store="demo", dag_id="d", run_id="r", rows=1, findings_by_code={}, pushed=0, failed=1,
                     verified=0, top_findings=[{"code": "PRICE-INVALID", "sku_code": "S1", "field": "price",
                                                "message": f"app secret {APP_SECRET} in row"}]),
    ]
    for message in leaky:
        send(message, config=CONFIG, db_url=outbox_db, secrets=[APP_SECRET])
    lines = recorded_lines(slack_conn)
    assert len(lines) == 3 and all(line["status"] == 200 for line in lines)
    raw = slack_conn.state.out.read_text()
    for secret in TEST_SECRETS:
        assert secret not in raw
    stored = json.dumps([r.payload for r in _outbox(outbox_db)])
    for secret in TEST_SECRETS:
        assert secret not in stored
    assert all(line["headers"].get("Authorization") == "present" for line in lines)


def test_sink_control_endpoints_and_form_bodies(slack_sink: SlackSink) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {SLACK_TEST_TOKEN}"}
    with httpx.Client(base_url=slack_sink.url, timeout=5) as http:
        assert http.post("/_sink/fail", json={"mode": "429", "count": 1, "retry_after": 3}).json()["ok"]
        limited = http.post("/api/chat.postMessage", data={"channel": "#x", "text": "hi"}, headers=auth)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        posted = http.post("/api/chat.postMessage", data={"channel": "#x", "text": "hi"}, headers=auth).json()
        assert posted["ok"] and posted["channel"] == channel_id("#x") and posted["message"]["text"] == "hi"
        assert http.post("/api/chat.postMessage", json={"channel": "#x", "text": "hi"}).json() == {
            "ok": False, "error": "not_authed"}
        assert http.post("/api/chat.update", json={"channel": posted["channel"], "ts": "1.2", "text": "x"},
                         headers=auth).json()["error"] == "message_not_found"
        assert http.get("/_sink/messages").json()["messages"][0]["ts"] == posted["ts"]
        assert http.post("/_sink/fail", json={"mode": "teapot"}).status_code == 400
        http.post("/_sink/reset")
        assert http.get("/_sink/messages").json()["messages"] == []
