"""Adding a store is one step, and `aeops doctor` names what is wrong with a deployment, one line each.

On the embedded default (simulator + Slack sink): `aeops store add demo-3 --conn-id aliexpress_demo3 --like demo`
checks the spare demo seller against the marketplace, writes it into aeops_config, prints what the first run will
change; the store's own DAG then syncs it. `aeops doctor` on a deployment with a missing folder, expired tokens and
a wrong Slack token prints each problem on one line with what to fix, in English or Chinese.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from aeops import embedded as embedded_mode
from aeops.cli import main
from aeops.store import session_scope
from aeops.store.models import SyncRun
from tests.e2e.harness import SAMPLE, Embedded, run_dag, task_states

pytestmark = pytest.mark.e2e


def aeops(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [line for line in out.splitlines() if line.strip()]


def stale_titles(env: Embedded) -> int:
    return sum(p["subject"].endswith("(old title)") for p in env.products("demo-3").values())


@pytest.fixture
def operator_shell(monkeypatch):
    """The CLI reads connections like the airflow CLI does; restored after the test."""
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")


def test_store_add_adds_a_third_demo_store_that_its_next_run_syncs(embedded, monkeypatch, capsys, tmp_path: Path,
                                                                   operator_shell) -> None:
    env: Embedded = embedded()
    config_file = tmp_path / "aeops_config.json"
    config_file.write_text(json.dumps(env.config), encoding="utf-8")

    code, lines = aeops(capsys, "store", "add", "demo-3", "--conn-id", "aliexpress_demo3", "--like", "demo",
                        "--exports", embedded_mode.spare_exports("demo-3").as_uri(),
                        "--reports", (tmp_path / "reports" / "demo-3").as_uri(), "--config-file", str(config_file),
                        "--lang", "en")

    assert code == 0, lines
    assert not [line for line in lines if line.startswith("✗")], lines
    assert any(line.startswith("✓ seller 2000000003:") for line in lines), lines
    assert f"✓ store demo-3 added to {config_file}" in lines
    [dry] = [line for line in lines if line.startswith("✓ dry run: the first run will change")]
    assert "product(s)" in dry and "valid" in dry
    assert any("aliexpress_catalog_sync__demo-3: next run" in line and "02:00" in line for line in lines), lines
    written = json.loads(config_file.read_text(encoding="utf-8"))
    [entry] = [s for s in written["stores"] if s["name"] == "demo-3"]
    assert entry["conn_id"] == "aliexpress_demo3" and "store_num" not in entry  # not demo's (from the connection)
    assert [s["name"] for s in written["stores"]] == ["demo", "demo-kids", "demo-3"]

    # the deployment reads the new settings: the store's own DAG exists and its next run syncs it
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", config_file.read_text(encoding="utf-8"))
    stale_before = stale_titles(env)
    dag_run = run_dag("aliexpress_catalog_sync__demo-3")

    assert str(dag_run.state) == "success", task_states(dag_run)
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.dag_id == "aliexpress_catalog_sync__demo-3")).one()
    assert run.store == "demo-3" and run.status == "success", (run.status, run.message)
    assert run.counts["confirmed"] > 0
    assert stale_titles(env) < stale_before  # the spare seller's stale titles were synced (valid rows')


def test_store_add_with_a_connection_that_does_not_exist_writes_nothing(embedded, capsys, tmp_path: Path,
                                                                       operator_shell) -> None:
    env = embedded()
    config_file = tmp_path / "aeops_config.json"
    config_file.write_text(json.dumps(env.config), encoding="utf-8")

    code, lines = aeops(capsys, "store", "add", "demo-4", "--conn-id", "aliexpress_nobody", "--like", "demo",
                        "--exports", (SAMPLE / "exports" / "demo").as_uri(),
                        "--config-file", str(config_file))  # no --lang: the first store's (demo: en)

    assert code == 1
    assert [line for line in lines if line.startswith("✗")] == [
        "✗ store demo-4: connection aliexpress_nobody is not defined → add it (Admin > Connections, type "
        "aliexpress: app key, app secret, tokens in extra)"]
    assert "demo-4" not in config_file.read_text(encoding="utf-8")


def test_doctor_names_a_missing_folder_an_expired_token_and_a_wrong_slack_token_one_line_each(
        embedded, monkeypatch, capsys, tmp_path: Path, operator_shell) -> None:
    stores = []
    env = embedded(token_ttl_s=1)
    for entry in env.config["stores"]:
        stores.append({**entry, "certs": (tmp_path / "no-such-certs").as_uri()} if entry["name"] == "demo-kids"
                      else entry)
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps({**env.config, "stores": stores}))
    slack = json.loads(env.env["AIRFLOW_CONN_SLACK_API_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps({**slack, "password": "xoxb-not-the-bot"}))
    time.sleep(2.5)  # both tokens of every demo seller have expired (access 1 s, refresh 2 s)

    code, lines = aeops(capsys, "doctor", "--lang", "en")

    assert code == 1
    problems = [line for line in lines if line.startswith("✗")]
    folder = [p for p in problems if "no-such-certs" in p]
    assert folder == [f"✗ store demo-kids: certs folder {(tmp_path / 'no-such-certs').as_uri()} does not exist → "
                      "create it, or fix certs in aeops_config"]
    tokens = [p for p in problems if "has expired" in p]
    assert len(tokens) == 2 and {p.split(":")[0] for p in tokens} == {"✗ store demo", "✗ store demo-kids"}
    assert all("authorise the app again" in p for p in tokens)
    [wrong_slack] = [p for p in problems if p.startswith("✗ Slack")]
    assert "invalid_auth" in wrong_slack and "put the bot's current token" in wrong_slack
    assert "xoxb-not-the-bot" not in "\n".join(lines)

    code, lines = aeops(capsys, "doctor", "--lang", "zh-CN", "--offline")
    [folder_zh] = [line for line in lines if "no-such-certs" in line]
    assert "不存在" in folder_zh, folder_zh
