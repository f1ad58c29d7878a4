"""End-to-end harness: the embedded mode on free ports, for one test.

``embedded(faults="...")`` (a pytest fixture factory, see tests/e2e/conftest.py) starts

- the marketplace simulator (uvicorn in a thread) seeded with the demo marketplace of both sample stores
  (yesterday's catalog: ``aeops.embedded.demo_marketplace_rows``), in the profile ``profile=`` names, else
  ``$AEOPS_SIMULATOR_PROFILE``, else ``rich`` (a test that needs the simulator's assumed fields says ``rich``),
- the Slack sink (checks the demo bot token),

points the ``aliexpress_default``, ``aliexpress_kids`` and ``slack_api_default`` connections at them through
``AIRFLOW_CONN_*`` environment variables (they win over the metadata DB), sets ``aeops_config`` through
``AIRFLOW_VAR_AEOPS_CONFIG`` with a temporary aeops DB and reports folder, and returns an :class:`Embedded`.
``run_dag(dag_id, conf)`` runs a DAG with ``dag.test()`` (tasks in-process) and returns the DagRun; retry
delays are shortened to one second so a retried task does not stall the test.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from aeops import embedded
from aeops.demo import ALL_DEMO_SELLERS, DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SLACK_TOKEN

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SAMPLE = ROOT / "include" / "sample"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimulatorThread:
    """The real simulator app served by uvicorn in a daemon thread on a free loopback port, in ``profile``
    (default: ``$AEOPS_SIMULATOR_PROFILE``, else ``rich``; ``token_ttl_s`` shortens the tokens' lifetimes)."""

    def __init__(self, state_path: Path, faults: str = "", profile: str | None = None,
                 token_ttl_s: float | None = None) -> None:
        import uvicorn

        from aeops.marketplace.simulator.app import create_app
        from aeops.marketplace.simulator.faults import Faults
        from aeops.marketplace.simulator.profiles import PROFILE_ENV, make_profile
        from aeops.marketplace.simulator.state import SimState

        self.state = SimState(state_path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.profile = make_profile(profile or os.environ.get(PROFILE_ENV), token_ttl_s=token_ttl_s)
        self.app = create_app(self.state, Faults.parse(faults), public_url=self.url, profile=self.profile)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> SimulatorThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def catalog(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sim/state", params={"views": "false"}, timeout=30).json()


@dataclass
class Embedded:
    sim: SimulatorThread
    sink: Any  # aeops.notify.slack_sink.SlackSink
    db_url: str
    config: dict[str, Any]
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def products(self, seller: str = "demo") -> dict[int, dict[str, Any]]:
        """The simulator's products of one demo seller, by product id."""
        seller_id = ALL_DEMO_SELLERS[seller][1]
        return {int(pid): p for pid, p in self.sim.catalog()["products"].items() if int(p["seller_id"]) == seller_id}

    def slack_messages(self) -> list[dict[str, Any]]:
        return self.sink.messages()


def connections_env(sim_url: str, sink_api_url: str, extra: dict[str, Any] | None = None) -> dict[str, str]:
    env = {}
    for conn_id, seller_id, access, refresh in ALL_DEMO_SELLERS.values():  # demo-3: `aeops store add`'s
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
            "conn_type": "aliexpress", "host": sim_url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
            "extra": {"access_token": access, "refresh_token": refresh, "seller_id": seller_id, **(extra or {})},
        })
    env["AIRFLOW_CONN_SLACK_API_DEFAULT"] = json.dumps({
        "conn_type": "slack", "password": DEMO_SLACK_TOKEN, "extra": {"base_url": sink_api_url, "timeout": 10},
    })
    return env


def aeops_config(db_url: str, reports: Path, exports: dict[str, str] | None = None, **overrides: Any) -> dict:
    """The embedded config for one test; ``store_overrides`` (a dict) is applied to every store's entry."""
    config = embedded.aeops_config()
    config["database_url"] = db_url
    store_overrides = overrides.pop("store_overrides", None) or {}
    for store in config["stores"]:
        store.update(store_overrides)
        store["reports"] = (reports / store["name"]).as_uri()
        # demo reads English, demo-kids the default Chinese: end-to-end runs cover both languages
        store["language"] = "en" if store["name"] == "demo" else "zh-CN"
        if exports and store["name"] in exports:
            store["exports"] = exports[store["name"]]
    config.update(overrides)
    return config


def start_embedded(tmp: Path, monkeypatch, faults: str = "", seed: bool = True, conn_extra: dict | None = None,
                   config_overrides: dict[str, Any] | None = None, profile: str | None = None,
                   token_ttl_s: float | None = None) -> Embedded:
    from aeops.notify.slack_sink import SlackSink

    tmp.mkdir(parents=True, exist_ok=True)
    sim = SimulatorThread(tmp / "simulator-state.json", faults, profile, token_ttl_s)
    if seed:
        embedded.seed_simulator(sim.state.path)
    sim.start()
    sink = SlackSink(port=0, out=tmp / "slack.jsonl", token=DEMO_SLACK_TOKEN).start()
    db_url = f"sqlite:///{tmp / 'aeops.db'}"
    config = aeops_config(db_url, tmp / "reports", **(config_overrides or {}))
    env = connections_env(sim.url, sink.api_url, conn_extra)
    env["AIRFLOW_VAR_AEOPS_CONFIG"] = json.dumps(config)
    env["AEOPS_DATABASE_URL"] = db_url
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Embedded(sim=sim, sink=sink, db_url=db_url, config=config, tmp=tmp, env=env)


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id.split('__')[0]}.py"))  # a store's own DAG: its job's file
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    assert dag is not None, f"DAG {dag_id} not found"
    for task in dag.tasks:
        task.retry_delay = timedelta(seconds=1)
        task.retry_exponential_backoff = 0
        task.max_retry_delay = timedelta(seconds=1)
    return dag


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, **kwargs: Any):
    """Run ``dag_id`` once with ``dag.test()``; returns the DagRun (assert its state: dag.test does not raise)."""
    return load_dag(dag_id).test(run_conf=conf or {}, **kwargs)


def task_states(dag_run) -> dict[str, str]:
    """``task_id`` (``[map_index]`` for mapped tasks) -> final state."""
    states = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(getattr(ti.state, "value", ti.state))
    return states


def honest_outcome(db_url: str, dag_run) -> set[str]:
    """Assert that the DAG run's state says what its stores' syncs were, and return the stores whose sync was
    partial (writes failed, unverified or not sent): each such store failed its ``finish`` task (after its report
    and summary) and so did ``outcome``, nothing else failed, and the run is failed; with none, the run succeeded."""
    from sqlalchemy import select

    from aeops.store import session_scope
    from aeops.store.models import SyncRun

    with session_scope(db_url) as s:
        runs = s.scalars(select(SyncRun).where(SyncRun.dag_id == dag_run.dag_id,
                                               SyncRun.run_id == dag_run.run_id)).all()
    partial = {r.store for r in runs if r.status == "partial"}
    states = task_states(dag_run)
    failed = {task for task, state in states.items() if state == "failed"}
    if partial:
        assert str(dag_run.state) == "failed", states
        assert {t for t in failed if t != "outcome" and not t.startswith("settle.finish[")} == set(), states
        assert len([t for t in failed if t.startswith("settle.finish[")]) == len(partial), states
    else:
        assert str(dag_run.state) == "success", states
    return partial
