"""Slack carries only links a browser opens: http(s) addresses built from the Airflow API base URL."""

from __future__ import annotations

import json

import pytest

from aeops.notify import links
from aeops.notify.messages import notice, sync_summary


def test_report_links_are_absolute_on_the_api_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.seller.example/")

    url = links.report_url("demo-kids", "aliexpress_catalog_sync", "scheduled__2026-11-27T18:00:00+00:00")

    assert url == ("https://airflow.seller.example/aeops/reports/demo-kids/aliexpress_catalog_sync/"
                   "scheduled__2026-11-27T18%3A00%3A00%2B00%3A00")
    assert links.run_tab_url("d", "r") == "https://airflow.seller.example/dags/d/runs/r/plugin/aeops-report"
    assert links.health_url("demo") == "https://airflow.seller.example/aeops/health/demo"


@pytest.mark.parametrize("bad", ["file:///opt/airflow/reports/demo/r.html", "/opt/airflow/reports/demo/r.html",
                                 "s3://bucket/reports/r.html", ""])
def test_a_file_path_never_becomes_a_slack_link(bad: str) -> None:
    summary = sync_summary(store="demo", dag_id="d", run_id="r", rows=1, findings_by_code={}, pushed=0, failed=0,
                           verified=0, report_url=bad)
    other = notice(title="t", text="x", link=bad)

    for message in (summary, other):
        flat = json.dumps(message.payload())
        assert "file://" not in flat and "/opt/airflow" not in flat and "s3://" not in flat
    assert "Open the report" not in json.dumps(summary.blocks)


def test_an_http_report_link_is_kept() -> None:
    summary = sync_summary(store="demo", dag_id="d", run_id="r", rows=1, findings_by_code={}, pushed=0, failed=0,
                           verified=0, report_url="http://127.0.0.1:8080/aeops/reports/demo/d/r", lang="zh-CN")
    assert "<http://127.0.0.1:8080/aeops/reports/demo/d/r|打开报告>" in json.dumps(summary.blocks, ensure_ascii=False)
