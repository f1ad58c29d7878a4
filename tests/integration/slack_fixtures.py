"""Fixtures for the Slack integration tests: a running sink, the slack_api_default connection, a DB.

Import them into a test module with ``from tests.integration.slack_fixtures import *`` or by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aeops.notify.slack_sink import SlackSink

SLACK_TEST_TOKEN = "xoxb-test-1234567890-abcdefghijkl"
APP_SECRET = "test-app-secret-0f9e8d7c6b5a"
ACCESS_TOKEN = "50000600a12bCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
REFRESH_TOKEN = "50001600z98yXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxw"
TEST_SECRETS = (SLACK_TEST_TOKEN, APP_SECRET, ACCESS_TOKEN, REFRESH_TOKEN)


@pytest.fixture
def slack_sink(tmp_path: Path) -> Iterator[SlackSink]:
    """A sink on a free 127.0.0.1 port that checks the test token, recording to tmp_path/slack.jsonl."""
    with SlackSink(out=tmp_path / "slack.jsonl", token=SLACK_TEST_TOKEN) as sink:
        yield sink


@pytest.fixture
def slack_conn(slack_sink: SlackSink, monkeypatch: pytest.MonkeyPatch) -> SlackSink:
    """``slack_api_default`` (env var connection) pointing at the sink, plus an AliExpress connection."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_DEFAULT",
        json.dumps({"conn_type": "slack", "password": SLACK_TEST_TOKEN,
                    "extra": {"base_url": slack_sink.api_url, "timeout": 5}}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIEXPRESS_DEFAULT",
        json.dumps({"conn_type": "aliexpress", "host": "http://127.0.0.1:9", "login": "500001", "password": APP_SECRET,
                    "extra": {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN}}),
    )
    return slack_sink


@pytest.fixture
def outbox_db(tmp_path: Path) -> str:
    """A migrated aeops DB (SQLite) for the outbox."""
    from aeops.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    upgrade(url)
    return url


def recorded_lines(sink: SlackSink) -> list[dict]:
    """Every request the sink wrote to its --out file."""
    assert sink.state.out is not None
    return [json.loads(line) for line in sink.state.out.read_text(encoding="utf-8").splitlines() if line]
