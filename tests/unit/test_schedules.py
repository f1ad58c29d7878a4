"""Per-store DAG ids and schedules read from aeops_config when the DAG files are parsed (aeops.schedules)."""

from __future__ import annotations

import json

import pytest

from aeops.config import ConfigError, parse_config
from aeops.schedules import configured_stores, job_dag_id, per_store_dag_id, stores_of


def test_each_store_gets_its_own_crons_else_the_deployment_defaults(monkeypatch) -> None:
    monkeypatch.setenv("AEOPS_SYNC_CRON", "15 3 * * *")
    [madrid, shanghai] = stores_of({"stores": [
        {"name": "madrid", "timezone": "Europe/Madrid", "schedules": {"catalog_sync": "0 1 * * *"}},
        {"name": "shanghai"}]})
    assert madrid.crons("catalog_sync") == ["0 1 * * *"] and madrid.timezone == "Europe/Madrid"
    assert shanghai.crons("catalog_sync") == ["15 3 * * *"] and shanghai.timezone == "Asia/Shanghai"
    assert shanghai.crons("logo_rotation") == ["0 9 1 1,4,7,10 *", "0 9 15 2,5,8,11 *"]
    assert madrid.dag_id("catalog_sync") == "aliexpress_catalog_sync__madrid"


def test_dag_ids_keep_the_store_name_readable_and_map_back_to_the_job() -> None:
    assert per_store_dag_id("aliexpress_catalog_sync", "demo-kids") == "aliexpress_catalog_sync__demo-kids"
    assert per_store_dag_id("aliexpress_catalog_sync", "my store/eu") == "aliexpress_catalog_sync__my_store_eu"
    assert job_dag_id("aliexpress_catalog_sync__demo-kids") == "aliexpress_catalog_sync"
    assert job_dag_id("aliexpress_catalog_sync") == "aliexpress_catalog_sync"


def test_an_unreadable_document_makes_no_store_dag_and_no_crash(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", "{not json")
    assert configured_stores() == []
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps({"stores": [{"name": "a"}, {"name": "b"}]}))
    assert [s.name for s in configured_stores()] == ["a", "b"]


@pytest.mark.parametrize(("schedules", "says"), [
    ({"catalog_sync": "every day"}, "is not a cron expression"),
    ({"nightly": "0 2 * * *"}, "unknown job 'nightly'"),
])
def test_a_wrong_schedule_is_refused_naming_it(schedules, says) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_config({"stores": [{"name": "demo", "schedules": schedules}]})


def test_two_stores_that_would_share_a_dag_id_are_refused() -> None:
    with pytest.raises(ConfigError, match="would share a DAG id"):
        parse_config({"stores": [{"name": "a b"}, {"name": "a_b"}]})
