"""The aeops DB as the Airflow connection ``aeops_db``: its password lives only in a connection (and so can come
from a secrets backend); ``AEOPS_DATABASE_URL`` stays for the embedded mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from aeops.config import ConfigError, parse_config, url_of_connection
from aeops.secrets import registered_secrets
from aeops.store import current_revision, head_revision

PASSWORD = "db-pass-7f3a9c"  # the local server trusts 127.0.0.1 and ignores it; it must never be printed


def _connection_json(url: str) -> str:
    u = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": u.host, "port": u.port, "login": u.username,
                       "password": PASSWORD, "schema": u.database, "extra": {"connect_timeout": 5}})


def test_a_postgres_connection_becomes_a_psycopg2_url_with_its_password_registered() -> None:
    from airflow.sdk import Connection

    conn = Connection(conn_id="aeops_db", conn_type="postgres", host="db.internal", port=5432, login="aeops",
                      password="pw-91b2c3d4", schema="aeops", extra=json.dumps({"sslmode": "require", "x": "y"}))
    url = make_url(url_of_connection(conn))
    assert (url.drivername, url.host, url.port, url.username, url.database) == (
        "postgresql+psycopg2", "db.internal", 5432, "aeops", "aeops")
    assert url.password == "pw-91b2c3d4" and dict(url.query) == {"sslmode": "require"}
    assert "pw-91b2c3d4" in registered_secrets()


def test_other_connection_types_are_refused_by_name() -> None:
    from airflow.sdk import Connection

    with pytest.raises(ConfigError, match="must be one of postgres, postgresql, sqlite"):
        url_of_connection(Connection(conn_id="aeops_db", conn_type="mysql", host="h"))


def test_the_connection_is_used_when_no_environment_url_is_set(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.delenv("AEOPS_DATABASE_URL")
    monkeypatch.setenv("AIRFLOW_CONN_AEOPS_DB", json.dumps({"conn_type": "sqlite",
                                                            "host": str(tmp_path / "from-conn.db")}))
    assert parse_config({"database_url": "sqlite:///ignored.db"}).resolved_database_url() == (
        f"sqlite:///{tmp_path / 'from-conn.db'}")


def test_the_environment_url_still_wins_for_the_embedded_mode(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", "sqlite:///embedded.db")
    monkeypatch.setenv("AIRFLOW_CONN_AEOPS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "x.db")}))
    assert parse_config({}).resolved_database_url() == "sqlite:///embedded.db"


def test_a_password_in_the_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match="database_url: .*must not hold a password.*'aeops_db'"):
        parse_config({"database_url": "postgresql://aeops:secret@db/aeops"})


@pytest.mark.postgres
def test_aeops_db_upgrade_reaches_the_database_of_the_connection_and_never_prints_its_password(
        postgres_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AEOPS_DATABASE_URL"}
    env["AIRFLOW_CONN_AEOPS_DB"] = _connection_json(postgres_url)
    aeops = Path(sys.executable).with_name("aeops")
    done = subprocess.run([str(aeops), "db", "upgrade"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert make_url(postgres_url).database in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    assert current_revision(postgres_url) == head_revision()
