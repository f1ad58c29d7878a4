"""One real ``airflow api-server`` for the whole test session (REST trigger, UI plugin and browser tests).

A private Airflow home (its own SQLite metadata DB) with the repository's DAGs and plugins, the api-server on a
free loopback port as a subprocess (bounded wait, always killed at the end of the session), and SimpleAuthManager
with real users and passwords (``admin`` and ``viewer``), **not** the embedded all-admins mode: in all-admins
mode a middleware logs every request in as admin, so a refusal of anonymous requests could not be shown. The auth
manager is SimpleAuthManager with per-DAG grants (tests/dag_grants_auth_manager.py): the users of
:data:`DAG_GRANTS` may read only the DAGs listed for them, as a FAB role with ``can_read`` on ``DAG:<id>`` would.

The aeops side: ``aeops_config`` with both demo stores (through ``AIRFLOW_VAR_AEOPS_CONFIG``; ``demo`` in Chinese,
the default, ``demo-kids`` in English) and an aeops DB seeded with a finished daily sync per store (its report
written to the store's reports folder), an older one of ``demo-kids`` by its per-store DAG (:data:`KIDS_DAG`)
and some history, and a products-at-risk report of ``demo-kids``' own certificate watch (:data:`KIDS_CERT_DAG`,
written by the watch's own code), so the plugin's pages have real content. Started lazily
by the ``airflow_server`` fixture (tests/conftest.py) and shared: about 30 s of CI time once, however many tests
use it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
START_TIMEOUT_S = 180
SEEDED_RUN_ID = "manual__2026-11-27T02:00:00+00:00"
STORES = ("demo", "demo-kids")
KIDS_DAG = "aliexpress_catalog_sync__demo-kids"  # the daily sync split per store: holds demo-kids' data only
KIDS_RUN_ID = "manual__2026-11-26T02:00:00+00:00"
KIDS_CERT_DAG = "aliexpress_certificate_expiry__demo-kids"  # demo-kids' own certificate watch
KIDS_CERT_RUN_ID = "scheduled__2026-11-20T01:00:00+00:00"
# users whose DAGs are granted one by one (as FAB's DAG-level permissions): each reads only these DAGs' runs
DAG_GRANTS = {"kids": [KIDS_DAG], "settings": ["aliexpress_store_settings"], "nodags": ["aeops_slack_outbox"],
              "kidscerts": [KIDS_CERT_DAG]}
LANGUAGES = {"demo": "zh-CN", "demo-kids": "en"}  # the default language, and the other one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AirflowServer:
    url: str
    home: Path
    env: dict[str, str]
    passwords: dict[str, str]
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def aeops_db_url(self) -> str:
        return self.config["database_url"]

    def token(self, user: str = "admin") -> str:
        answer = httpx.post(f"{self.url}/auth/token", json={"username": user, "password": self.passwords[user]},
                            timeout=30)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["access_token"]

    def headers(self, user: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def airflow(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.proc = None


def aeops_config(home: Path) -> dict[str, Any]:
    from tests.reporting import store_config

    stores = [store_config(name, home / "reports" / name, language=LANGUAGES[name]).model_dump() for name in STORES]
    return {"database_url": f"sqlite:///{home / 'aeops.db'}", "stores": stores}


def seed(config: dict[str, Any]) -> None:
    """A finished daily sync (with its report) and some history for each store, in the server's aeops DB."""
    from aeops.config import StoreConfig
    from aeops.store.ledger import Ledger
    from tests.reporting import seed_certificate_listing, seed_store_history, seed_sync_run

    ledger = Ledger(config["database_url"])
    for raw in config["stores"]:
        store = StoreConfig.model_validate(raw)
        if store.name == "demo-kids":
            seed_certificate_listing(ledger, store, KIDS_CERT_RUN_ID, KIDS_CERT_DAG)  # the oldest run of the store
        seed_store_history(ledger, store)
        if store.name == "demo-kids":
            seed_sync_run(ledger, store, KIDS_RUN_ID, dag_id=KIDS_DAG, started=datetime(2026, 11, 26, 2, tzinfo=UTC))
        seed_sync_run(ledger, store, SEEDED_RUN_ID)


def start(home: Path) -> AirflowServer:
    port = free_port()
    passwords = {user: secrets.token_urlsafe(12) for user in ("admin", "viewer", *DAG_GRANTS)}
    (home / "passwords.json").write_text(json.dumps(passwords), encoding="utf-8")
    config = aeops_config(home)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.dag_grants_auth_manager.DagGrantsAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(["admin:admin", "viewer:viewer",
                                                              *(f"{user}:viewer" for user in DAG_GRANTS)]),
        "AEOPS_TEST_DAG_GRANTS": json.dumps(DAG_GRANTS),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW_VAR_AEOPS_CONFIG": json.dumps(config),
        "AEOPS_DATABASE_URL": config["database_url"],
    }
    server = AirflowServer(url=f"http://127.0.0.1:{port}", home=home, env=env, passwords=passwords, config=config)
    began = time.monotonic()
    migrate = subprocess.Popen([AIRFLOW, "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    seed(config)  # meanwhile: the aeops DB and the reports
    server.timings["seed_s"] = round(time.monotonic() - began, 1)
    out, _ = migrate.communicate(timeout=300)
    assert migrate.returncode == 0, f"airflow db migrate: {out[-3000:]}"
    done = server.airflow("dags", "reserialize", timeout=300)
    assert done.returncode == 0, f"airflow dags reserialize: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    server.timings["prepare_s"] = round(time.monotonic() - began, 1)
    log = (home / "api-server.log").open("w")
    server.proc = subprocess.Popen([AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "-w", "1"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{server.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("api-server did not start:\n" + (home / "api-server.log").read_text()[-3000:])
            time.sleep(0.5)
    except BaseException:
        server.stop()
        raise
    finally:
        log.close()
    server.timings["ready_s"] = round(time.monotonic() - began, 1)
    return server
