"""The urgent re-run can be triggered through the REST API of a running ``airflow api-server``.

A private Airflow home (its own SQLite metadata DB) with the embedded settings, the api-server on a free
loopback port as a subprocess (bounded wait, always killed), a token from ``GET /auth/token`` (every user is
admin in the embedded mode), then ``POST /api/v2/dags/aliexpress_urgent_rerun/dagRuns`` with conf.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "aliexpress_urgent_rerun"
START_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("airflow-home")
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AEOPS_DATABASE_URL": f"sqlite:///{home / 'aeops.db'}",
    }
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    log = (home / "api-server.log").open("w")
    proc = subprocess.Popen([AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("api-server did not start:\n" + (home / "api-server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _token(url: str) -> str:
    answer = httpx.get(f"{url}/auth/token", timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["access_token"]


def test_rest_trigger_with_conf_is_accepted(api_server: str) -> None:
    headers = {"Authorization": f"Bearer {_token(api_server)}"}
    conf = {"store": "demo", "mode": "price_override", "percent": -20, "floor_price": 5,
            "reason": "Black Friday repricing, approved by ops", "deadline_minutes": 15}

    answer = httpx.post(f"{api_server}/api/v2/dags/{DAG_ID}/dagRuns", headers=headers, timeout=30,
                        json={"dag_run_id": "urgent-bf-1", "logical_date": None, "conf": conf})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dag_run_id"] == "urgent-bf-1" and body["dag_id"] == DAG_ID
    assert body["conf"]["percent"] == -20 and body["conf"]["reason"] == conf["reason"]


def test_rest_trigger_with_an_invalid_mode_is_refused_by_the_param_schema(api_server: str) -> None:
    headers = {"Authorization": f"Bearer {_token(api_server)}"}

    answer = httpx.post(f"{api_server}/api/v2/dags/{DAG_ID}/dagRuns", headers=headers, timeout=30,
                        json={"logical_date": None, "conf": {"store": "demo", "mode": "everything",
                                                             "reason": "testing the schema"}})

    assert answer.status_code == 400, answer.text
    assert "mode" in answer.text
