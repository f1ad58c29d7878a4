"""Each store is its own DAG: it runs at its own local hour, and one store's bad day is only its own.

Two stores on the embedded default, in different time zones (and one with its own cron from ``aeops_config``);
the DAG files are parsed with that configuration, the next run times read from each DAG's timetable; then the
demo-kids store's marketplace is down for its whole run (its connection points at a closed port): the demo store's
run stays green with its report and Slack summary, and only demo-kids' alerts channel is paged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import select

from aeops import embedded as embedded_mode
from aeops.notify.slack_sink import channel_id
from aeops.store import session_scope
from aeops.store.models import SyncRun
from tests.e2e.harness import Embedded, free_port, load_dag, run_dag, task_states

pytestmark = pytest.mark.e2e
CHANNELS = {"demo": ("#demo-alerts", "#demo-reports"), "demo-kids": ("#kids-alerts", "#kids-reports")}
ZONES = {"demo": "Asia/Shanghai", "demo-kids": "America/Los_Angeles"}


def two_stores(embedded, **store_extra: dict) -> Embedded:
    stores = embedded_mode.aeops_config()["stores"]
    for entry in stores:
        entry["timezone"] = ZONES[entry["name"]]
        entry["slack_alerts_channel"], entry["slack_reports_channel"] = CHANNELS[entry["name"]]
        entry.update(store_extra.get(entry["name"], {}))
    return embedded(config_overrides={"stores": stores})


def next_run(dag, after: datetime) -> pendulum.DateTime:
    from airflow.timetables.base import TimeRestriction

    info = dag.timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=TimeRestriction(earliest=pendulum.instance(after), latest=None,
                                                                      catchup=False))
    return info.run_after


def texts(env: Embedded, channel: str) -> list[str]:
    return [m["text"] + json.dumps(m.get("blocks") or [], ensure_ascii=False) for m in env.slack_messages()
            if m["channel"] == channel_id(channel)]


def test_two_stores_in_different_time_zones_run_at_their_own_local_hour(embedded) -> None:
    two_stores(embedded, **{"demo-kids": {"schedules": {"certificate_expiry": "30 7 * * 1-5"}}})
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    demo = next_run(load_dag("aliexpress_catalog_sync__demo"), now)
    kids = next_run(load_dag("aliexpress_catalog_sync__demo-kids"), now)

    # 02:00 store time by default: Beijing 02:00 = 18:00 UTC the day before; Los Angeles 02:00 = 10:00 UTC
    assert demo.in_timezone("Asia/Shanghai").format("YYYY-MM-DD HH:mm") == "2026-12-07 02:00"
    assert demo.in_timezone("UTC").format("YYYY-MM-DD HH:mm") == "2026-12-06 18:00"
    assert kids.in_timezone("America/Los_Angeles").format("YYYY-MM-DD HH:mm") == "2026-12-07 02:00"
    assert kids.in_timezone("UTC").format("YYYY-MM-DD HH:mm") == "2026-12-07 10:00"
    # the store's own cron from aeops_config: weekdays 07:30 in Los Angeles (6 Dec 2026 is a Sunday)
    watch = next_run(load_dag("aliexpress_certificate_expiry__demo-kids"), now)
    assert watch.in_timezone("America/Los_Angeles").format("ddd HH:mm") == "Mon 07:30"
    assert next_run(load_dag("aliexpress_certificate_expiry__demo"), now).in_timezone("Asia/Shanghai").hour == 9
    # the all-store DAG only runs when triggered
    assert load_dag("aliexpress_catalog_sync").timetable.__class__.__name__ == "NullTimetable"


def test_a_store_whose_marketplace_is_down_fails_alone_and_pages_only_its_own_channel(
        embedded, monkeypatch, tmp_path: Path) -> None:
    env = two_stores(embedded)
    kids_conn = json.loads(env.env["AIRFLOW_CONN_ALIEXPRESS_KIDS"])
    kids_conn["host"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there: down for the whole run
    monkeypatch.setenv("AIRFLOW_CONN_ALIEXPRESS_KIDS", json.dumps(kids_conn))

    kids_run = run_dag("aliexpress_catalog_sync__demo-kids")
    demo_run = run_dag("aliexpress_catalog_sync__demo")

    assert str(kids_run.state) == "failed", task_states(kids_run)
    assert str(demo_run.state) == "success", task_states(demo_run)
    with session_scope(env.db_url) as s:
        demo = s.scalars(select(SyncRun).where(SyncRun.dag_id == "aliexpress_catalog_sync__demo")).one()
    assert demo.store == "demo" and demo.status == "success", (demo.status, demo.message)
    assert demo.counts["changed_products"] > 0, demo.counts
    assert demo.report_path and Path(demo.report_path).is_file()
    demo_alerts, demo_reports = CHANNELS["demo"]
    kids_alerts, _ = CHANNELS["demo-kids"]
    assert texts(env, demo_reports), "the demo store's Slack summary"
    assert texts(env, demo_alerts) == [], "the demo store's team is not paged"
    pages = texts(env, kids_alerts)
    assert pages and all("demo-kids" in p for p in pages)
    assert all("aliexpress_catalog_sync__demo-kids" in p for p in pages)
