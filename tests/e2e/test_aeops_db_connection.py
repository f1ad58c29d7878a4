"""The aeops DB reached through the Airflow connection ``aeops_db`` (no AEOPS_DATABASE_URL, no database_url): a DAG
run records its work there."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from aeops.store import session_scope
from aeops.store.models import LogoChange, SlackOutbox
from tests.e2e.harness import run_dag, task_states

pytestmark = pytest.mark.e2e


def test_a_dag_run_reaches_the_aeops_db_through_the_aeops_db_connection(embedded, tmp_path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = embedded()
    config = {k: v for k, v in env.config.items() if k != "database_url"}
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(config))
    monkeypatch.delenv("AEOPS_DATABASE_URL")
    database = tmp_path / "from-the-connection.db"
    monkeypatch.setenv("AIRFLOW_CONN_AEOPS_DB", json.dumps({"conn_type": "sqlite", "host": str(database)}))

    dag_run = run_dag("aliexpress_logo_rotation", {"as_of": "2026-11-26"})

    assert str(dag_run.state) == "success", task_states(dag_run)
    url = f"sqlite:///{database}"
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(LogoChange)) >= 1  # the rotation was recorded there
        assert s.scalar(select(func.count()).select_from(SlackOutbox)) >= 1  # and the Slack messages
    assert env.slack_messages()
    assert not (env.tmp / "aeops.db").exists()  # the harness's own database was never opened
