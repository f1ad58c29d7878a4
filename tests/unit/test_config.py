"""aeops_config: defaults, validation errors a person can act on, and where the database URL comes from."""

from __future__ import annotations

import json

import pytest

from aeops import embedded
from aeops.config import ConfigError, load_config, parse_config


def test_defaults_give_one_demo_store() -> None:
    cfg = parse_config({})
    assert [s.name for s in cfg.stores] == ["demo"]
    store = cfg.stores[0]
    assert store.conn_id == "aliexpress_default" and store.timezone == "Asia/Shanghai"
    assert store.language_sites == ["en", "ru", "es", "fr", "pt"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"stores": [{"name": "a"}, {"name": "a"}]}, "repeated: a"),
        ({"stores": [{"name": "a", "timezone": "Mars/Base"}]}, "unknown time zone"),
        ({"stores": [{"name": "a", "sync_time": "02:00"}]}, "stores.0.sync_time"),
        ({"stores": [{"name": "a", "qps": 0}]}, "stores.0.qps"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ("{not json", "not valid JSON"),
    ],
)
def test_invalid_settings_name_the_field(raw: object, needle: str) -> None:
    with pytest.raises(ConfigError, match="aeops_config") as info:
        parse_config(raw)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_env_database_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", "postgresql://u@h/aeops")
    assert parse_config({"database_url": "sqlite:///x.db"}).resolved_database_url() == "postgresql://u@h/aeops"
    monkeypatch.delenv("AEOPS_DATABASE_URL")
    assert parse_config({"database_url": "sqlite:///x.db"}).resolved_database_url() == "sqlite:///x.db"


def test_default_database_is_sqlite_in_airflow_home(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert parse_config({}).resolved_database_url() == f"sqlite:///{tmp_path / 'aeops.db'}"


def test_config_from_env_json_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AEOPS_CONFIG", json.dumps({"stores": [{"name": "x"}]}))
    assert load_config().stores[0].name == "x"
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"stores": [{"name": "y"}]}))
    monkeypatch.setenv("AEOPS_CONFIG", str(path))
    assert load_config().stores[0].name == "y"
    monkeypatch.setenv("AEOPS_CONFIG", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="not a file"):
        load_config()


def test_unknown_store_lists_configured_ones() -> None:
    with pytest.raises(ConfigError, match="configured: demo"):
        parse_config({}).store("nope")


def test_embedded_files_are_valid_and_carry_two_stores(tmp_path) -> None:
    embedded.write(tmp_path)
    variables = json.loads((tmp_path / "variables.json").read_text())
    cfg = parse_config(variables["aeops_config"])
    assert [s.name for s in cfg.stores] == ["demo", "demo-kids"]
    assert cfg.stores[0].exports.startswith("file://") and cfg.stores[0].exports.endswith("/exports/demo")
    conns = json.loads((tmp_path / "connections.json").read_text())
    assert {"aliexpress_default", "aliexpress_kids", "slack_api_default"} <= set(conns)
    assert json.loads(conns["slack_api_default"]["extra"])["base_url"].startswith("http://127.0.0.1:")
    pools = json.loads((tmp_path / "pools.json").read_text())
    assert pools[embedded.API_POOL]["slots"] >= 1 and pools[embedded.URGENT_POOL]["slots"] >= 1
    assert pools[embedded.PLANNING_POOL]["slots"] == cfg.planning_pool_slots == 4
