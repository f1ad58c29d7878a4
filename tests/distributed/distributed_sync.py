"""The daily sync on a real CeleryExecutor stack: separate processes, PostgreSQL, Redis, two workers.

Run with ``make test-distributed`` (or ``pytest tests/distributed/distributed_sync.py``). The file name does
not match ``test_*.py`` on purpose: ``make test`` does not collect it; it needs the local PostgreSQL and
Redis (``.ci/run`` starts them) and takes a few minutes.

What it starts, each as its own process (own session, log file in the test's temp dir):
the metered marketplace simulator (``metered_simulator.py``), the Slack sink, ``airflow api-server``,
``scheduler``, ``dag-processor``, ``triggerer`` and ``airflow celery worker -H w1`` / ``-H w2``. Airflow
metadata and the aeops DB are two new PostgreSQL databases with random names (dropped at the end); the
Celery broker is a non-zero Redis database and the shared per-seller rate limiter another one; the Celery
queue has a random name, so a concurrent run on the same Redis cannot take this run's tasks.

What it proves:
1. ``aliexpress_catalog_sync``, unpaused and triggered through the REST API, succeeds;
2. the same end state as the single-process end-to-end test (tests/e2e/test_catalog_sync.py): every valid
   export row's title, freight template, price, discount price and stock are on the simulator, the aeops DB
   holds the findings and only confirmed changes, each store's sync_run is ``success``;
3. task instances ran on both workers (``hostname`` of the task instances, REST API);
4. the per-seller QPS holds across workers: the simulator enforces ``qps`` (answers ``ApiCallLimit`` above
   it) and records each call's arrival; per seller, no window of ``RATE_WINDOW_S`` holds more than ``QPS``
   calls (the limiter spaces calls ``1/QPS`` apart in Redis; the window is 0.1 s shorter than a second to
   allow for the delay between the limiter's grant and the arrival; two unshared limiters would put up to
   ``2 * QPS`` calls in it).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.distributed.rates import read_calls, seller_rates
from tests.distributed.stack import (
    Stack,
    celery_env,
    create_database,
    delete_redis_keys,
    drop_database,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "aliexpress_catalog_sync"
DONE = {"confirmed", "verified"}  # change statuses of a finished push (verified: seen on every storefront view)
QPS = float(os.environ.get("AEOPS_DIST_QPS", "4"))
RATE_WINDOW_S = 0.9
# The connections' rate limiter; "memory" (one bucket per process) is the control experiment that shows
# the QPS assertion fails when the limiter is not shared (see docs/production.md).
RATE_LIMIT = os.environ.get("AEOPS_DIST_RATE_LIMIT", "redis")
API_TASKS = ("prepare.preflight", "prepare.plan", "push_chunk", "settle.push_held", "settle.verify",
             "settle.finish")
RUN_TIMEOUT_S = float(os.environ.get("AEOPS_DIST_RUN_TIMEOUT", "360"))
START_TIMEOUT_S = 150.0
POSTGRES_ADMIN_URL = os.environ.get("AEOPS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AEOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def log(message: str, _t0: list[float] = []) -> None:  # noqa: B006 - the start time, kept between calls
    if not _t0:
        _t0.append(time.monotonic())
    print(f"[distributed {time.monotonic() - _t0[0]:6.1f}s] {message}", flush=True)


class Terminated(Exception):
    """SIGTERM (e.g. the Makefile's ``timeout``) arrived: unwind so ``finally`` tears everything down."""


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    def _raise(signum: int, _frame: object) -> None:
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def clean_env() -> dict[str, str]:
    """The caller's environment without any Airflow or aeops setting (the test sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AEOPS_", "_AIRFLOW"))}


# ------------------------------------------------------------------------------------------ end state
def _money(value: Any) -> str | None:
    return None if value in (None, "") else str(Decimal(str(value)).quantize(Decimal("0.01")))


def marketplace_view(snapshot: dict[str, Any], seller_id: int) -> dict[int, dict[str, Any]]:
    """One seller's products on the simulator in the canonical shape (as tests/e2e/test_catalog_sync.py)."""
    view = {}
    for pid, p in snapshot["products"].items():
        if int(p["seller_id"]) != seller_id:
            continue
        view[int(pid)] = {
            "title": p["subject"],
            "freight_template_id": str(p["freight_template_id"]),
            "skus": {s["sku_code"]: {"price": _money(s["price"]), "discount_price": _money(s.get("discount_price")),
                                     "stock": int(s["stock"])} for s in p["skus"]},
        }
    return view


def check_store_end_state(snapshot: dict[str, Any], db_url: str, store: dict[str, Any], seller_id: int) -> dict:
    """Assert the store's valid export rows are on the marketplace and its run succeeded; return counts."""
    from sqlalchemy import func, select

    from aeops.catalog.model import desired_from_rows
    from aeops.exports import newest_export, read_export
    from aeops.store import session_scope
    from aeops.store.models import Change, Finding, SyncRun

    with session_scope(db_url) as s:
        runs = s.scalars(select(SyncRun).where(SyncRun.store == store["name"])).all()
        assert [r.status for r in runs] == ["success"], [(r.status, r.message) for r in runs]
        run = runs[0]
        codes = set(s.scalars(select(Finding.code).where(Finding.sync_run_id == run.id)))
        blocked = set(s.scalars(select(Finding.row).where(Finding.sync_run_id == run.id, Finding.severity == "error",
                                                          Finding.row.is_not(None))))
        statuses = dict(s.execute(select(Change.status, func.count()).where(Change.sync_run_id == run.id)
                                  .group_by(Change.status)).all())
    frame = read_export(newest_export(store["exports"])).frame
    desired = desired_from_rows(frame[~frame["row"].astype(int).isin(blocked)].to_dict("records"))
    seen = marketplace_view(snapshot, seller_id)
    for pid, want in desired.items():
        have = seen[pid]
        assert have["title"] == want["title"], (store["name"], pid)
        assert have["freight_template_id"] == want["freight_template_id"], (store["name"], pid)
        for code, sku in want["skus"].items():
            assert have["skus"][code] == sku, (store["name"], pid, code)
    done = sum(statuses.get(s, 0) for s in DONE)
    assert set(statuses) <= DONE and done > 0, (store["name"], statuses)
    return {"products": len(desired), "changes": statuses, "finding_codes": codes}


# ------------------------------------------------------------------------------------------ the run
class Api:
    """The REST API with a token from ``GET /auth/token`` (SimpleAuthManager, every user admin)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def login(self) -> None:
        answer = self.http.get("/auth/token")
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None


def task_instances(api: Api, run_id: str) -> list[dict[str, Any]]:
    return api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 500})[
        "task_instances"]


def ti_key(ti: dict[str, Any]) -> str:
    return ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]"


def _interval(ti: dict[str, Any]) -> tuple[float, float] | None:
    from datetime import datetime

    if not ti.get("start_date") or not ti.get("end_date"):
        return None
    return (datetime.fromisoformat(ti["start_date"]).timestamp(), datetime.fromisoformat(ti["end_date"]).timestamp())


def cross_worker_overlap(api: Api, run_id: str, tis: list[dict[str, Any]], stores: list[str]) -> dict[str, float]:
    """Per store: seconds during which its API tasks ran on w1 and w2 at the same time (calls could collide)."""
    chunks = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/collect_chunks/xcomEntries/"
                             "return_value")["value"]
    if isinstance(chunks, str):
        chunks = json.loads(chunks)
    spans: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for ti in tis:
        if ti["task_id"] not in API_TASKS or ti.get("map_index", -1) < 0 or (span := _interval(ti)) is None:
            continue
        store = chunks[ti["map_index"]]["store"] if ti["task_id"] == "push_chunk" else stores[ti["map_index"]]
        spans.setdefault((store, ti["hostname"]), []).append(span)
    overlap = {}
    for store in stores:
        total = 0.0
        for a0, a1 in spans.get((store, "w1"), []):
            for b0, b1 in spans.get((store, "w2"), []):
                total += max(0.0, min(a1, b1) - max(a0, b0))
        overlap[store] = round(total, 1)
    return overlap


def failed_task_logs(airflow_home: Path, lines: int = 30) -> str:
    """Tails of task log files that mention an error (the components' logs do not hold task output)."""
    parts = []
    for path in sorted((airflow_home / "logs").glob(f"dag_id={DAG_ID}/**/*.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if '"level":"error"' in text.replace(" ", "") or "Traceback" in text:
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- task log {path.relative_to(airflow_home)} -----\n{tail}")
    return "\n".join(parts)


def test_daily_sync_on_celery_with_two_workers(tmp_path: Path) -> None:
    import importlib.util

    from aeops import embedded

    # Airflow builds an async engine for its metadata DB too; on PostgreSQL that needs asyncpg (the official
    # image has it through the "postgres" extra).
    assert importlib.util.find_spec("asyncpg"), "asyncpg is not installed: add it to requirements.txt"
    tag = secrets.token_hex(4)
    home = tmp_path / "airflow-home"
    run_dir = tmp_path / "run"
    home.mkdir()
    run_dir.mkdir()
    broker_db, limiter_db = 1 + int(tag[:2], 16) % 7, 8 + int(tag[2:4], 16) % 8  # 1-7 and 8-15
    queue = f"aeops-dist-{tag}"
    sim_port, sink_port, api_port, trigger_log_port = (free_port() for _ in range(4))
    api_url = f"http://127.0.0.1:{api_port}"
    sim_url = f"http://127.0.0.1:{sim_port}"
    databases = {"airflow": f"aeops_dist_airflow_{tag}", "aeops": f"aeops_dist_store_{tag}"}
    created: list[str] = []
    env = clean_env()
    stack = Stack(run_dir / "logs", env)
    ok = False
    with sigterm_unwinds():
        try:
            # ---------------------------------------------------------------- databases and settings
            airflow_db = create_database(POSTGRES_ADMIN_URL, databases["airflow"])
            created.append(databases["airflow"])
            aeops_db = create_database(POSTGRES_ADMIN_URL, databases["aeops"])
            created.append(databases["aeops"])
            log(f"databases {databases['airflow']} (Airflow) and {databases['aeops']} (aeops); "
                f"Redis broker db {broker_db}, rate limiter db {limiter_db}, queue {queue}")
            celery_env(env, root=ROOT, home=home, api_url=api_url, api_port=api_port, airflow_db=airflow_db,
                       aeops_db=aeops_db, broker=f"{REDIS_URL}/{broker_db}", queue=queue, concurrency=2,
                       trigger_log_port=trigger_log_port)

            # ---------------------------------------------------------------- marketplace and Slack
            state = run_dir / "simulator-state.db"
            os.environ.setdefault("AEOPS_PROJECT_DIR", str(ROOT))
            seeded = embedded.seed_simulator(state)
            log(f"simulator seeded: {seeded}")
            calls_log = run_dir / "simulator-calls.jsonl"
            stack.start("simulator", [sys.executable, str(ROOT / "tests/distributed/metered_simulator.py"),
                                      "--port", str(sim_port), "--state", str(state), "--faults",
                                      f"qps={QPS:g}", "--calls", str(calls_log)])
            stack.start("slack-sink", [str(BIN / "aeops"), "slack-sink", "--port", str(sink_port), "--out",
                                       str(run_dir / "slack.jsonl")],
                        {"AEOPS_SLACK_SINK_TOKEN": embedded.DEMO_SLACK_TOKEN})

            # ---------------------------------------------------------------- Airflow
            log("airflow db migrate (PostgreSQL) and aeops db upgrade")
            for name, argv in (("db-migrate", [str(BIN / "airflow"), "db", "migrate"]),
                               ("aeops-db-upgrade", [str(BIN / "aeops"), "db", "upgrade"])):
                stack.run_step(name, argv, timeout=240)
            airflow = str(BIN / "airflow")
            stack.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port),
                                       "--workers", "1"])
            stack.start("scheduler", [airflow, "scheduler"])
            stack.start("dag-processor", [airflow, "dag-processor"])
            stack.start("triggerer", [airflow, "triggerer"])
            workers = {}
            for name in ("w1", "w2"):
                workers[name] = stack.start(
                    f"worker-{name}", [airflow, "celery", "worker", "-H", name, "-q", queue, "-c", "2",
                                       "--skip-serve-logs"],
                    {"AEOPS_WORKER_NAME": name,
                     "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.distributed.worker_name.hostname"})
            api = Api(api_url)

            def healthy() -> bool:
                health = api.http.get("/api/v2/monitor/health").json()
                return all(health.get(part, {}).get("status") == "healthy"
                           for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

            wait_until(healthy, START_TIMEOUT_S, "api-server, scheduler, triggerer and dag-processor healthy", stack)
            for name, worker in workers.items():
                wait_until(lambda w=worker: " ready." in w.tail(200), START_TIMEOUT_S, f"worker {name} ready", stack)
            wait_until(lambda: httpx.get(f"{sim_url}/_sim/health", timeout=2).json()["ok"], 30, "simulator", stack)
            log("all components up")

            # ---------------------------------------------------------------- connections, variable, pool
            api.login()
            rate_limit = f"{REDIS_URL}/{limiter_db}" if RATE_LIMIT == "redis" else RATE_LIMIT
            for conn_id, seller_id, access, refresh in embedded.DEMO_SELLERS.values():
                api.call("POST", "/api/v2/connections", json={
                    "connection_id": conn_id, "conn_type": "aliexpress", "host": sim_url,
                    "login": embedded.DEMO_APP_KEY, "password": embedded.DEMO_APP_SECRET,
                    "extra": json.dumps({"access_token": access, "refresh_token": refresh, "seller_id": seller_id,
                                         "qps": QPS, "rate_limit": rate_limit}),
                })
            api.call("POST", "/api/v2/connections", json={
                "connection_id": "slack_api_default", "conn_type": "slack", "password": embedded.DEMO_SLACK_TOKEN,
                "extra": json.dumps({"base_url": f"http://127.0.0.1:{sink_port}/api/", "timeout": 10}),
            })
            config = embedded.aeops_config()
            config["database_url"] = aeops_db
            for store in config["stores"]:
                store["reports"] = (run_dir / "reports" / store["name"]).as_uri()
                store["qps"] = QPS
            api.call("POST", "/api/v2/variables", json={"key": "aeops_config", "value": json.dumps(config)})
            for name, pool in embedded.pools().items():
                api.call("POST", "/api/v2/pools", json={"name": name, **pool})

            # ---------------------------------------------------------------- trigger and wait
            def parsed() -> bool:
                if api.http.get(f"/api/v2/dags/{DAG_ID}").status_code == 200:
                    return True
                errors = api.call("GET", "/api/v2/importErrors")["import_errors"]
                if errors:
                    raise AssertionError(f"DAG import errors: {errors}")
                return False

            wait_until(parsed, 90, f"{DAG_ID} parsed by the dag-processor", stack)
            api.call("PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
            run = api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}})
            run_id = run["dag_run_id"]
            log(f"triggered {DAG_ID} run {run_id} through the REST API; waiting up to {RUN_TIMEOUT_S:.0f} s")
            final = wait_until(
                lambda: (s := api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"])
                in ("success", "failed") and s,
                RUN_TIMEOUT_S, f"{DAG_ID} run finished", stack, interval=2)
            tis = task_instances(api, run_id)
            summary = {ti_key(t): (t["state"], t["hostname"]) for t in tis}
            log(f"run {final}; task instances: {json.dumps(summary, sort_keys=True)}")
            if final != "success":
                print(failed_task_logs(home), flush=True)
            assert final == "success", summary

            # ---------------------------------------------------------------- both workers
            hosts = {t["hostname"] for t in tis if t["state"] == "success"}
            by_host = {h: sorted(ti_key(t) for t in tis if t["hostname"] == h) for h in hosts}
            log(f"task instances per worker: {json.dumps(by_host, sort_keys=True)}")
            assert {"w1", "w2"} <= hosts, by_host

            # ---------------------------------------------------------------- end state
            snapshot = httpx.get(f"{sim_url}/_sim/state", params={"views": "false"}, timeout=60).json()
            from aeops.findings import ROW_CODES

            for store in config["stores"]:
                seller_id = embedded.DEMO_SELLERS[store["name"]][1]
                counts = check_store_end_state(snapshot, aeops_db, store, seller_id)
                log(f"store {store['name']}: {counts['products']} products match the export, "
                    f"changes {counts['changes']}, findings {sorted(counts['finding_codes'])}")
                if store["name"] == "demo":
                    assert set(ROW_CODES) <= counts["finding_codes"], counts["finding_codes"]

            # ---------------------------------------------------------------- QPS across workers
            rates = seller_rates(read_calls(calls_log), snapshot["sellers"], RATE_WINDOW_S)
            overlap = cross_worker_overlap(api, run_id, tis, [s["name"] for s in config["stores"]])
            log(f"rate limiter {rate_limit}; seconds in which a store's API tasks ran on w1 and w2 at once: "
                f"{overlap}")
            assert max(overlap.values()) > 0, f"no store's API tasks ran on both workers at once: {overlap}"
            for rate in rates.values():
                log(f"seller {rate.seller_id}: {rate.calls} calls, max {rate.max_per_window} in any "
                    f"{RATE_WINDOW_S} s and {rate.max_per_second} in any 1 s window (qps {QPS:g}), "
                    f"{rate.throttled} answered ApiCallLimit and retried by the client")
            assert set(rates) == {seller for _c, seller, _a, _r in embedded.DEMO_SELLERS.values()}, rates
            for rate in rates.values():
                assert rate.max_per_window <= QPS, rate
            ok = True
        except BaseException:
            print("\n===== distributed test failed: component logs =====\n" + stack.tails(), flush=True)
            raise
        finally:
            killed = stack.stop()
            leftovers = stack.leftovers()
            for name in created:
                drop_database(POSTGRES_ADMIN_URL, name)
            removed = delete_redis_keys(f"{REDIS_URL}/{broker_db}", [f"*{queue}*"])  # limiter keys expire alone
            log(f"torn down: {len(stack.components)} components stopped ({len(killed)} needed SIGKILL), "
                f"databases dropped, {removed} Redis keys removed; logs in {stack.log_dir}")
            if ok:
                assert not leftovers, f"processes still running after teardown: {leftovers}"
