"""Slack messages, scrubbing and the outbox's rules, without a network (fake slack_sdk client)."""

from __future__ import annotations

import argparse
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy import select

from aeops.commands.slack_sink import slack_sink_command
from aeops.errors import CommandError
from aeops.notify.callbacks import is_final_failure
from aeops.notify.messages import failure_alert, notice, sync_summary, task_log_url
from aeops.notify.outbox import choose_channel, deliver_pending, enqueue
from aeops.secrets import MASK, register_secret, scrub, scrub_text
from aeops.store.db import get_engine, session_scope
from aeops.store.models import Base, SlackOutbox

T0 = datetime(2024, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    Base.metadata.create_all(get_engine(url))  # same schema as migration 0001 (tests/unit/store/test_store.py)
    return url


class FakeClient:
    """Records api_call; answers like Slack or raises what slack_sdk raises for a given HTTP status."""

    token = "xoxb-fake-token-123"

    def __init__(self, fail: list[tuple[int, dict[str, Any], dict[str, str]]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = list(fail or [])
        self.n = 0

    def api_call(self, method: str, json: dict[str, Any]) -> dict[str, Any]:  # noqa: A002 - slack_sdk name
        self.calls.append((method, json))
        if self.fail:
            status, data, headers = self.fail.pop(0)
            resp = SlackResponse(client=None, http_verb="POST", api_url=method, req_args={}, data=data,
                                 headers=headers, status_code=status)
            raise SlackApiError("failed", resp)
        self.n += 1
        return {"ok": True, "channel": "C1", "ts": json.get("ts") or f"1.{self.n}"}


def _ctx(exc: BaseException | None = None, **ti: Any) -> dict[str, Any]:
    base = dict(dag_id="aliexpress_urgent_rerun", task_id="push", run_id="manual__2024-11-29T01:00:00+00:00",
                try_number=2, map_index=-1, state="failed")
    task = SimpleNamespace(**{**base, **ti})
    return {"ti": task, "run_id": task.run_id, "exception": exc, "params": {"store": "demo"}}


# -- scrub ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "leak",
    [
        "xoxb-1234-5678-abcdEFGH", "xapp-1-A0-123-abc", "Bearer abc.def.ghi",
        'access_token": "s3cr3t-value"', "refresh_token=s3cr3t-value&x=1", "app_secret: s3cr3t-value",
        "50000600a12bCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
    ],
)
def test_scrub_masks_token_shapes(leak: str) -> None:
    out = scrub_text(f"call failed: {leak} (retry)")
    assert "s3cr3t" not in out and "xoxb-1234" not in out and "abcd1234" not in out
    assert MASK in out and out.startswith("call failed:")


def test_scrub_masks_passed_and_registered_secrets_inside_blocks() -> None:
    register_secret("registered-app-secret-42")
    payload = {"text": "a plain-secret-99 b", "blocks": [{"text": {"text": "x registered-app-secret-42"}}]}
    out = json.dumps(scrub(payload, ["plain-secret-99"]))
    assert "plain-secret-99" not in out and "registered-app-secret-42" not in out


def test_scrub_keeps_ordinary_text() -> None:
    text = "SKU A&B-1 price: must be positive; see run scheduled__2024-11-29T02:00:00+00:00"
    assert scrub_text(text) == text


# -- builders ------------------------------------------------------------------------------------------
def test_task_log_url_matches_airflow3_route() -> None:
    url = task_log_url("d", "manual__2024-11-29T01:00:00+00:00", "t", map_index=3, try_number=2,
                       base_url="http://af:8080/")
    assert url == "http://af:8080/dags/d/runs/manual__2024-11-29T01%3A00%3A00%2B00%3A00/tasks/t/mapped/3?try_number=2"


def test_failure_alert_has_one_error_line_and_stable_dedupe_key() -> None:
    a = failure_alert(_ctx(ValueError("line one\nline two xoxb-99-zz")), base_url="http://af")
    b = failure_alert(_ctx(ValueError("line one\nline two"), try_number=1, run_id="other"), base_url="http://af")
    assert a.text == "Task `push` failed for store *demo*: ValueError: line one"
    assert a.dedupe_key == b.dedupe_key and a.severity == "error" and a.thread_key is None
    assert "line two" not in json.dumps(a.blocks)


def test_dag_level_failure_alert_links_the_run() -> None:
    ctx = _ctx(None)
    ctx["reason"] = "task_failure"
    msg = failure_alert(ctx, base_url="http://af")
    assert msg.text.startswith("DAG run of `aliexpress_urgent_rerun` failed for store *demo*: task_failure")
    assert "http://af/dags/aliexpress_urgent_rerun/runs/manual__2024-11-29T01%3A00%3A00%2B00%3A00|" in json.dumps(
        msg.blocks)


def test_sync_summary_lists_top_findings_with_advice_and_no_other_row_fields() -> None:
    row = {"code": "ERR-207", "sku_code": "S-1", "field": "main_image", "message": "640x640 < 800x800",
           "title": "Secret launch product", "price": "9.99"}
    msg = sync_summary(store="demo", dag_id="d", run_id="r", rows=10, findings_by_code={"ERR-207": 1}, pushed=9,
                       failed=0, verified=9, completion_rate=1.0, top_findings=[row])
    flat = json.dumps(msg.blocks)
    assert "S-1" in flat and "at least 800x800" in flat
    assert "Secret launch product" not in flat and "9.99" not in flat
    assert msg.kind == "summary" and msg.thread_key == "r"


def test_notice_rejects_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        notice(title="t", text="x", severity="critical")


def test_severity_picks_the_channel() -> None:
    assert choose_channel(notice(title="t", text="x", severity="warning"), "#a", "#r") == "#a"
    assert choose_channel(notice(title="t", text="x"), "#a", "#r") == "#r"


def test_retry_is_not_a_final_failure() -> None:
    assert not is_final_failure(_ctx(state="up_for_retry"))
    assert is_final_failure(_ctx(state="failed"))
    assert is_final_failure({"dag_run": object(), "reason": "task_failure"})


# -- outbox --------------------------------------------------------------------------------------------
def test_permanent_error_marks_failed_and_the_queue_moves_on(db: str) -> None:
    for i in range(2):
        enqueue(db, notice(title=f"n{i}", text="x"), channel="#r", now=T0)
    client = FakeClient(fail=[(200, {"ok": False, "error": "channel_not_found"}, {})])
    report = deliver_pending(db, client, now=T0)
    assert (report.failed, report.sent, report.pending) == (1, 1, 0)
    with session_scope(db) as s:
        rows = s.scalars(select(SlackOutbox).order_by(SlackOutbox.id)).all()
    assert [r.status for r in rows] == ["failed", "sent"] and rows[0].last_error == "channel_not_found"


def test_backoff_grows_and_blocks_later_messages(db: str) -> None:
    enqueue(db, notice(title="a", text="x"), channel="#r", now=T0)
    enqueue(db, notice(title="b", text="x"), channel="#r", now=T0)
    client = FakeClient(fail=[(503, {"ok": False}, {}), (503, {"ok": False}, {})])
    deliver_pending(db, client, now=T0)
    assert deliver_pending(db, client, now=T0 + timedelta(seconds=29)).stopped_by.startswith("waiting")
    deliver_pending(db, client, now=T0 + timedelta(seconds=31))
    with session_scope(db) as s:
        head = s.scalars(select(SlackOutbox).order_by(SlackOutbox.id)).first()
    assert head.next_attempt_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=31 + 60)
    assert [m for m, _ in client.calls] == ["chat.postMessage"] * 2


def test_a_live_claim_by_another_deliverer_is_respected(db: str) -> None:
    enqueue(db, notice(title="a", text="x"), channel="#r", now=T0)
    with session_scope(db) as s:
        row = s.scalars(select(SlackOutbox)).one()
        row.status, row.next_attempt_at = "sending", T0 + timedelta(minutes=2)
    client = FakeClient()
    assert deliver_pending(db, client, now=T0).sent == 0 and client.calls == []
    assert deliver_pending(db, client, now=T0 + timedelta(minutes=3)).sent == 1  # lease expired: retried


def test_token_in_a_queued_payload_never_leaves(db: str) -> None:
    client = FakeClient()
    enqueue(db, notice(title="t", text="plain"), channel="#r", now=T0)
    with session_scope(db) as s:  # simulate a payload written by older code
        s.scalars(select(SlackOutbox)).one().payload = {"text": f"oops {client.token}"}
    deliver_pending(db, client, now=T0)
    assert client.token not in json.dumps(client.calls)


def test_cli_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = argparse.Namespace(host="127.0.0.1", port=busy.getsockname()[1], out=str(tmp_path / "o.jsonl"))
        with pytest.raises(CommandError, match="cannot listen on 127.0.0.1"):
            slack_sink_command(args)
