#!/usr/bin/env python
"""Many stores on a real CeleryExecutor stack: N stores' daily syncs on two Celery workers vs the floor (issue 28).

bench/stores.py measures the stores' daily syncs as plain processes (no Airflow); this bench runs them as Airflow
runs them in production: each store's own DAG ``aliexpress_catalog_sync__<store>`` (made by dags/ from the
stores of ``aeops_config``), triggered through the REST API, its tasks on two Celery workers
(``airflow celery worker -H w1`` / ``-H w2``, ``--concurrency`` task slots each), the Airflow metadata and the
aeops DB two new PostgreSQL databases, the Celery broker a Redis database and the per-seller and app-wide limits
(connection ``rate_limit``, ``rate_limit_backend``) another Redis database, shared by both workers. The stack is
the one of the distributed test (tests/distributed/stack.py and distributed_sync.py: same processes, settings,
token login and teardown); the stores, exports, simulator state and floors are bench/stores.py's.

For each N of ``--stores`` (default 1,5): N stores x ``--products`` products, each store its own seller of one
metered simulator (``--faults``, default 120 ms latency and 20 QPS per seller; every call's arrival recorded).
Every store's DAG is unpaused and triggered once (the first run: an empty aeops DB writes every price and stock
blind), all are awaited, the day-2 exports are written (another ``--changed`` of the products changed) and all
are triggered again: that day-2 run is measured, from the first trigger to the last DAG run's end. With
``--first-run plain`` the first run (it only prepares the state) runs as bench/stores.py's worker processes against
the stack's aeops DB, simulator and limits instead: at 20 x 10,000 products it is ~2,400 task instances. With
``--snapshot DIR`` no first run is made: each N starts from the one bench/stores.py ``--snapshot DIR`` kept (the same
stores and options), restored into the stack's aeops DB and simulator. Airflow's own cost (scheduling, queueing, a
task process per task) is part of what is measured.

Printed per N, side by side: wall time; the floors (the slowest store's calls at its QPS, counted by the
simulator; every store's calls at the app's shared limit; the Celery workers' CPU, read from /proc over their
process trees, over the cores) and which binds; wall vs that floor; the first run's wall; the workers' and the
whole stack's CPU seconds; task instances; every DAG run's outcome. The last line, for the compass:
``<N> stores on CeleryExecutor (2 workers) vs floor: <r>x``.

    scripts/embedded-env python bench/stores_celery.py --stores 1,5 --products 1000

Needs the local PostgreSQL (``AEOPS_TEST_POSTGRES_URL``) and Redis (``AEOPS_TEST_REDIS_URL``) the distributed
test uses (``.ci/run`` starts them) and a few minutes per N (the stack starts afresh for each N). ``make bench``
skips it (it sets ``AEOPS_BENCH_SUITE=1``) unless ``AEOPS_BENCH_CELERY=1`` asks for it. Every process and
database it starts is removed at the end, also on failure or Ctrl-C; ``--keep DIR`` keeps the files and logs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]
import snapshot  # noqa: E402 - bench/snapshot.py: bench/stores.py's kept first runs
import stores  # noqa: E402 - bench/stores.py: catalogs, exports, simulator state, config and floors of N stores
import task_step  # noqa: E402 - bench/task_step.py: the DAG id

from tests.distributed.distributed_sync import (  # noqa: E402 - the distributed test's REST client and settings
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    Api,
    Terminated,
    clean_env,
    sigterm_unwinds,
)
from tests.distributed.rates import read_calls, seller_rates  # noqa: E402
from tests.distributed.stack import (  # noqa: E402 - the distributed test's processes and databases
    Stack,
    celery_env,
    create_database,
    delete_redis_keys,
    drop_database,
    free_port,
    session_members,
    wait_until,
)

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180.0
FINAL = ("success", "failed")
POLL_S = 5.0  # how often the runs' states are read while the bench waits


def log(message: str, _t0: list[float] = []) -> None:  # noqa: B006 - the start time, kept between calls
    if not _t0:
        _t0.append(time.monotonic())
    print(f"[celery {time.monotonic() - _t0[0]:6.1f}s] {message}", flush=True)


def session_cpu(sid: int) -> float:
    """CPU seconds of the processes of session ``sid``: their own and their reaped children's (a finished task
    process counts in its supervisor's ``cutime``), from /proc."""
    total = 0
    for pid in session_members(sid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of every running component of ``stack`` by name."""
    return {c.name: session_cpu(c.sid) for c in stack.components if c.service}


def stack_env(env: dict[str, str], home: Path, api_url: str, api_port: int, airflow_db: str, aeops_db: str,
              broker: str, limiter: str, queue: str, concurrency: int) -> None:
    """The distributed test's Airflow settings (tests/distributed/stack.py celery_env) for this bench's stack, with
    the shared limiter (app limits, storefront pages) in Redis."""
    celery_env(env, root=ROOT, home=home, api_url=api_url, api_port=api_port, airflow_db=airflow_db,
               aeops_db=aeops_db, broker=broker, queue=queue, concurrency=concurrency, trigger_log_port=free_port())
    env.update({"AEOPS_FERNET_KEY": snapshot.fernet_key(), "AEOPS_RATE_LIMIT": limiter,
                # the dag-processor as docker-compose.yaml sets it (the distributed test's re-reads the DAGs
                # folder every 5 s): each file parsed every 5 minutes, so the dag-processor starts once aeops_config
                # is set (its first parse makes the stores' DAGs: in a deployment, restarting it does the same)
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": compose_setting(
                    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "300"})


def compose_setting(name: str) -> str:
    """The default docker-compose.yaml gives Airflow setting ``name`` (``${NAME:-default}``)."""
    import yaml

    value = str(yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))["x-airflow-common"][
        "environment"][name])
    return value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value


def start_stack(stack: Stack, work: Path, api_port: int, sim_port: int, sink_port: int, faults: str,
                concurrency: int, queue: str) -> Api:
    """Simulator, Slack sink, migrations, api-server, scheduler, triggerer and two workers; wait for all of them.
    The dag-processor starts once ``aeops_config`` is set (run_n): it parses each file every 5 minutes."""
    from aeops.embedded import DEMO_SLACK_TOKEN

    stack.start("simulator", [sys.executable, str(ROOT / "tests/distributed/metered_simulator.py"), "--port",
                              str(sim_port), "--state", str(work / "sim-state.db"), "--faults", faults,
                              "--calls", str(work / "simulator-calls.jsonl")])
    stack.start("slack-sink", [str(BIN / "aeops"), "slack-sink", "--port", str(sink_port), "--out",
                               str(work / "slack.jsonl")], {"AEOPS_SLACK_SINK_TOKEN": DEMO_SLACK_TOKEN})
    stack.run_step("db-migrate", [str(BIN / "airflow"), "db", "migrate"], timeout=300)
    stack.run_step("aeops-db-upgrade", [str(BIN / "aeops"), "db", "upgrade"], timeout=300)
    airflow = str(BIN / "airflow")
    stack.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port),
                               "--workers", "1"])
    for name in ("scheduler", "triggerer"):
        stack.start(name, [airflow, name])
    workers = [stack.start(f"worker-{name}", [airflow, "celery", "worker", "-H", name, "-q", queue, "-c",
                                              str(concurrency), "--skip-serve-logs"],
                           {"AEOPS_WORKER_NAME": name,
                            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.distributed.worker_name.hostname"})
               for name in ("w1", "w2")]
    api = Api(stack.env["AIRFLOW__API__BASE_URL"])

    def healthy() -> bool:
        health = api.http.get("/api/v2/monitor/health").json()
        return all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "triggerer"))

    wait_until(healthy, START_TIMEOUT_S, "api-server, scheduler and triggerer healthy", stack)
    for worker in workers:
        wait_until(lambda w=worker: " ready." in w.tail(200), START_TIMEOUT_S, f"{worker.name} ready", stack)
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{sim_port}/_sim/health", timeout=2).json()["ok"], 30,
               "simulator", stack)
    api.login()
    return api


def aeops_config(n: int, work: Path, args: argparse.Namespace, aeops_db: str, limiter: str) -> dict[str, Any]:
    """The N stores' ``aeops_config`` (configure() sets it as the Variable)."""
    cfg = stores.config(work, n, aeops_db, args.qps, args.app_qps)
    cfg["rate_limit_backend"] = limiter  # app limits and storefront pages shared by both workers
    cfg["storefront_pages_per_second"] = 500  # the simulator is no live site (as include/aeops/embedded.py)
    return cfg


def configure(api: Api, n: int, cfg: dict[str, Any], sim_url: str, sink_port: int, limiter: str) -> dict[str, Any]:
    """Connections (one per store's seller, its limiter in Redis), Slack, ``aeops_config``, the API pool and the
    planning pool."""
    from aeops.config import parse_config
    from aeops.dag_defaults import API_POOL, PLANNING_POOL
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET
    from aeops.embedded import DEMO_SLACK_TOKEN

    for i in range(n):
        api.call("POST", "/api/v2/connections", json={
            "connection_id": f"aliexpress_bench_{i}", "conn_type": "aliexpress", "host": sim_url,
            "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
            "extra": json.dumps({"access_token": f"bench-access-{i}", "refresh_token": f"bench-refresh-{i}",
                                 "seller_id": str(stores.SELLER0 + i), "rate_limit": limiter})})
    api.call("POST", "/api/v2/connections", json={
        "connection_id": "slack_api_default", "conn_type": "slack", "password": DEMO_SLACK_TOKEN,
        "extra": json.dumps({"base_url": f"http://127.0.0.1:{sink_port}/api/", "timeout": 10})})
    api.call("POST", "/api/v2/variables", json={"key": "aeops_config", "value": json.dumps(cfg)})
    slots = parse_config(cfg).pool_slots()
    api.call("POST", "/api/v2/pools", json={"name": API_POOL, "slots": slots, "include_deferred": False,
                                            "description": "Concurrent AliExpress Open Platform calls"})
    api.call("POST", "/api/v2/pools", json={"name": PLANNING_POOL, "slots": parse_config(cfg).planning_pool_slots,
                                            "include_deferred": False, "description": "Daily sync plans at once"})
    return {"config": cfg, "pool_slots": slots}


def plain_first_run(work: Path, n: int, cfg: dict[str, Any], env: dict[str, str], sim_url: str, limiter: str,
                    stack: Stack) -> dict[str, dict[str, Any]]:
    """``--first-run plain``: the stores' first run (every price and stock written blind, then verified: it only
    prepares the state the measured day-2 run starts from) as bench/stores.py's worker processes, one per store,
    against the stack's aeops DB, simulator and Redis limits, instead of as DAG runs: at 10,000 products a store's
    first run is ~120 task instances (each push chunk, each verify poke), which 2 cores take long to start."""
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET

    conns = {f"AIRFLOW_CONN_ALIEXPRESS_BENCH_{i}": json.dumps({
        "conn_type": "aliexpress", "host": sim_url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": f"bench-access-{i}", "refresh_token": f"bench-refresh-{i}",
                  "seller_id": str(stores.SELLER0 + i), "rate_limit": limiter}}) for i in range(n)}
    keep = ("AEOPS_FERNET_KEY", "AEOPS_RATE_LIMIT", "AEOPS_DATABASE_URL", "PYTHONPATH", "AIRFLOW_HOME")
    worker_env = {**{k: env[k] for k in keep if k in env}, **conns}
    procs, outs = [], []
    for i in range(n):
        spec = {"env": worker_env, "config": cfg, "stores": [stores.store_name(i)], "workers": 4, "runs": ["first"],
                "out": str(work / f"first{i}.json")}
        (work / f"first-spec{i}.json").write_text(json.dumps(spec))
        outs.append(Path(spec["out"]))
        procs.append(subprocess.Popen([sys.executable, str(Path(stores.__file__)), "--worker",
                                       str(work / f"first-spec{i}.json")], env={**os.environ, **worker_env}))
    failed = [i for i, p in enumerate(procs) if p.wait() != 0]
    if failed:
        raise RuntimeError(f"the plain first run failed for store(s) {failed}; see above\n" + stack.tails())
    return {f"{task_step.DAG_ID}__{stores.store_name(i)}": {"state": json.loads(out.read_text())["runs"]["first"][0]
                                                             ["status"] or "success"} for i, out in enumerate(outs)}


def trigger_all(api: Api, dag_ids: list[str]) -> dict[str, str]:
    """Trigger every DAG through the REST API; their run ids."""
    return {dag_id: api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})[
        "dag_run_id"] for dag_id in dag_ids}


def wait_runs(api: Api, runs: dict[str, str], timeout: float, stack: Stack) -> dict[str, dict[str, Any]]:
    """Poll until every run is finished; each run's final record. One batch request (``POST
    /api/v2/dags/~/dagRuns/list``) every ``POLL_S`` for all runs: the measured wall comes from the runs' own
    ``end_date``, so polling less often only costs the api-server less (a request per run every second was ~10,000
    requests in a 20-store run, all of it counted in the stack's CPU)."""
    done: dict[str, dict[str, Any]] = {}

    def all_done() -> bool:
        body = {"dag_ids": sorted(set(runs) - set(done)), "states": list(FINAL), "page_limit": 1000}
        for run in api.call("POST", "/api/v2/dags/~/dagRuns/list", json=body)["dag_runs"]:
            if runs.get(run["dag_id"]) == run["dag_run_id"]:
                done[run["dag_id"]] = run
        return len(done) == len(runs)

    wait_until(all_done, timeout, f"{len(runs)} DAG runs finished", stack, interval=POLL_S)
    return done


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def task_summary(api: Api, runs: dict[str, str]) -> dict[str, Any]:
    """Task instances of the runs: how many, their states, the time spent running in them."""
    states: dict[str, int] = {}
    count, busy = 0, 0.0
    for dag_id, run_id in runs.items():
        tis = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})[
            "task_instances"]
        for ti in tis:
            count += 1
            states[ti["state"] or "none"] = states.get(ti["state"] or "none", 0) + 1
            if (start := ts(ti.get("start_date"))) and (end := ts(ti.get("end_date"))):
                busy += end - start
    return {"count": count, "states": states, "busy": busy}


def failed_logs(home: Path, lines: int = 20) -> str:
    """Tails of task logs that mention an error (the per-store DAGs' folders)."""
    parts = []
    for path in sorted((home / "logs").glob(f"dag_id={task_step.DAG_ID}__*/**/*.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if '"level":"error"' in text.replace(" ", "") or "Traceback" in text:
            parts.append(f"----- {path.relative_to(home)} -----\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts)


def calls_per_seller(calls_log: Path, sim_url: str, n: int, since: float) -> list[int]:
    """API calls each store's seller received from ``since`` on (the simulator's record, retries included; a
    refreshed token resolved through the simulator's sellers, as the distributed test does)."""
    sellers = httpx.get(f"{sim_url}/_sim/state", params={"views": "false"}, timeout=120).json()["sellers"]
    rates = seller_rates([c for c in read_calls(calls_log) if c["t"] >= since], sellers, 1.0)
    return [rates[stores.SELLER0 + i].calls if stores.SELLER0 + i in rates else 0 for i in range(n)]


def run_n(n: int, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """One N on a fresh stack: first run, day-2 exports, the measured run; torn down at the end."""
    work = base / f"n{n}"
    snap = kept_first_run(args, n)
    shutil.rmtree(work, ignore_errors=True)
    if snap:  # the first run's end state (day 2's exports written), and day 2's catalogs rebuilt to check against
        shutil.copytree(snap / "work", work)
        seeded = {"second": {i: day2 for i, _, _, day2 in stores.catalogs(n, args.products, args.skus, args.changed)}}
    else:
        (work / "images").mkdir(parents=True)
        shutil.copy(ROOT / "include" / "sample" / "images" / "home_mug.jpg", work / "images" / "mug.jpg")
        seeded = stores.seed(work, n, args.products, args.skus, args.changed, work / "images")
    tag = secrets.token_hex(4)
    broker_db, limiter_db = 1 + int(tag[:2], 16) % 7, 8 + int(tag[2:4], 16) % 8  # as the distributed test
    broker, limiter, queue = f"{REDIS_URL}/{broker_db}", f"{REDIS_URL}/{limiter_db}", f"aeops-bench-{tag}"
    sim_port = json.loads((snap / "port.json").read_text()) if snap else free_port()  # its URL is in the aeops DB
    sink_port, api_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    home = work / "airflow-home"
    home.mkdir()
    names = {"airflow": f"aeops_bench_airflow_{tag}", "aeops": f"aeops_bench_store_{tag}"}
    created: list[str] = []
    env = clean_env()
    stack = Stack(work / "logs", env)
    try:
        airflow_db = create_database(POSTGRES_ADMIN_URL, names["airflow"])
        created.append(names["airflow"])
        aeops_db = create_database(POSTGRES_ADMIN_URL, names["aeops"])
        created.append(names["aeops"])
        if snap:
            snapshot.restore_database(snap, aeops_db)
        stack_env(env, home, f"http://127.0.0.1:{api_port}", api_port, airflow_db, aeops_db, broker, limiter, queue,
                  args.concurrency)
        cfg = aeops_config(n, work, args, aeops_db, limiter)
        log(f"N={n}: starting the stack (databases {', '.join(names.values())}; Redis broker db {broker_db}, "
            f"limiter db {limiter_db}; logs in {stack.log_dir})")
        api = start_stack(stack, work, api_port, sim_port, sink_port, args.faults, args.concurrency, queue)
        setup = configure(api, n, cfg, sim_url, sink_port, limiter)
        stack.start("dag-processor", [str(BIN / "airflow"), "dag-processor"])  # its first parse: the stores' DAGs
        dag_ids = [f"{task_step.DAG_ID}__{stores.store_name(i)}" for i in range(n)]
        wait_until(lambda: all(api.http.get(f"/api/v2/dags/{d}").status_code == 200 for d in dag_ids), 180,
                   f"{n} per-store DAGs parsed", stack, interval=2)
        for dag_id in dag_ids:
            api.call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        log(f"N={n}: stack up, {n} DAGs parsed and unpaused, pool {setup['pool_slots']} slots; first run")
        t0 = time.time()
        if snap:
            first, first_wall = {d: {"state": "success"} for d in dag_ids}, 0.0
        elif args.first_run == "plain":
            first = plain_first_run(work, n, setup["config"], env, sim_url, limiter, stack)
            first_wall = time.time() - t0
        else:
            first = wait_runs(api, trigger_all(api, dag_ids), args.timeout, stack)
            first_wall = max(ts(r["end_date"]) or time.time() for r in first.values()) - t0
        log(f"N={n}: the first run kept in {snap}" if snap
            else f"N={n}: first run {first_wall:.1f} s: {outcomes(first)}")
        for i in range(n):  # day 2: another share of the products changed in the ERP
            folder = work / "exports" / stores.store_name(i)
            if snap:  # written when the snapshot was made: the newest file of its folder, just settled
                os.utime(folder / "catalog_day1.csv", (time.time() - 3600,) * 2)
                os.utime(folder / "catalog_day2.csv", (time.time() - 5,) * 2)
            else:
                stores.one_store.write_export(folder, "catalog_day2.csv", seeded["second"][i], time.time() - 5)
        time.sleep(1)
        cpu0 = stack_cpu(stack)
        t0 = time.time()
        run_ids = trigger_all(api, dag_ids)
        steady = wait_runs(api, run_ids, args.timeout, stack)
        wall = max(ts(r["end_date"]) or time.time() for r in steady.values()) - t0
        cpu1 = stack_cpu(stack)
        log(f"N={n}: day-2 run {wall:.1f} s: {outcomes(steady)}")
        if any(r["state"] != "success" for r in {**first, **steady}.values()):
            print(failed_logs(home), flush=True)
        cpu = {name: cpu1[name] - cpu0.get(name, 0.0) for name in cpu1}
        workers_cpu = sum(v for k, v in cpu.items() if k.startswith("worker-"))
        calls = calls_per_seller(work / "simulator-calls.jsonl", sim_url, n, t0)
        floor_store, floor_app = stores.api_floors([{"calls": c} for c in calls], args.qps, args.app_qps)
        floors = {"slowest store's API floor": floor_store, "app's shared limit": floor_app,
                  "workers' CPU / cores": workers_cpu / (os.cpu_count() or 1)}
        binding = max(floors, key=floors.get)
        durations = [ts(r["end_date"]) - ts(r["start_date"]) for r in steady.values()
                     if r.get("start_date") and r.get("end_date")]
        starts = [ts(r["start_date"]) - t0 for r in steady.values() if r.get("start_date")]
        day2 = {pid: p for i in range(n) for pid, p in seeded["second"][i].items()}
        wrong = stores.one_store.mismatches(sim_url, day2)  # products not as the day-2 exports say
        return {"n": n, "wall": wall, "first_wall": first_wall, "floors": floors, "binding": binding,
                "ratio": wall / floors[binding] if floors[binding] else float("inf"), "workers_cpu": workers_cpu,
                "stack_cpu": sum(cpu.values()), "cpu": cpu, "calls": sum(calls), "max_calls": max(calls),
                "tasks": task_summary(api, run_ids), "first": outcomes(first), "steady": outcomes(steady),
                "run_s": (min(durations), max(durations)) if durations else (0.0, 0.0),
                "start_s": max(starts) if starts else 0.0, "wrong": wrong, "pool": setup["pool_slots"]}
    except Exception:
        print(f"\n===== N={n} failed: component logs =====\n" + stack.tails(), flush=True)
        raise
    finally:
        killed = stack.stop()
        leftovers = stack.leftovers()
        for name in created:
            drop_database(POSTGRES_ADMIN_URL, name)
        removed = delete_redis_keys(broker, [f"*{queue}*"])  # the limiter's keys expire alone
        log(f"N={n}: torn down: {len(stack.components)} components stopped ({len(killed)} needed SIGKILL), "
            f"{len(created)} databases dropped, {removed} Redis keys removed"
            + (f"; STILL RUNNING: {leftovers}" if leftovers else ""))


def kept_first_run(args: argparse.Namespace, n: int) -> Path | None:
    """``--snapshot DIR``: N's first run as bench/stores.py kept it (same --products, --skus, --changed, --qps,
    --faults, --app-qps, and its defaults for the rest, with a PostgreSQL aeops DB); it must exist."""
    if not args.snapshot:
        return None
    snap = snapshot.folder(argparse.Namespace(**vars(args), storefront_pps=500.0, workers=4, db=True), n)
    if not (snap / "done").exists():
        raise SystemExit(
            f"N={n}: no first run kept in {snap}; make it with: scripts/embedded-env python bench/stores.py "
            f"--stores {n} --products {args.products} --skus {args.skus} --changed {args.changed} --qps {args.qps:g} "
            f"--app-qps {args.app_qps:g} --faults {args.faults} --snapshot {args.snapshot} --db "
            f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/<an empty database>")
    return snap


def outcomes(runs: dict[str, dict[str, Any]]) -> str:
    """``success x5`` / ``success x4, failed x1 (dag ids)``."""
    by_state: dict[str, list[str]] = {}
    for dag_id, run in sorted(runs.items()):
        by_state.setdefault(run["state"], []).append(dag_id.rsplit("__", 1)[-1])
    return ", ".join(f"{state} x{len(ids)}" + ("" if state == "success" else f" ({' '.join(ids)})")
                     for state, ids in sorted(by_state.items()))


def print_row(r: dict[str, Any], *, header: bool) -> None:
    """One N's line (with the header first)."""
    if header:
        print(f"{'N':>3} {'wall s':>7} {'store API':>10} {'app limit':>10} {'CPU/cores':>10} {'binds':>26} "
              f"{'vs floor':>9} {'1st run s':>10} {'run s min-max':>14} {'last start s':>13} {'worker CPU s':>13} "
              f"{'stack CPU s':>12} {'calls':>6} {'TIs':>5} {'wrong':>6}  outcomes (day 2 | first run)")
    f = list(r["floors"].values())
    print(f"{r['n']:>3} {r['wall']:>7.1f} {f[0]:>10.1f} {f[1]:>10.1f} {f[2]:>10.1f} {r['binding']:>26} "
          f"{r['ratio']:>8.2f}x {r['first_wall']:>10.1f} {r['run_s'][0]:>6.1f}-{r['run_s'][1]:<7.1f} "
          f"{r['start_s']:>13.1f} {r['workers_cpu']:>13.1f} {r['stack_cpu']:>12.1f} {r['calls']:>6} "
          f"{r['tasks']['count']:>5} {r['wrong']:>6}  {r['steady']} | {r['first']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="1,5", help="the N to run, comma-separated")
    parser.add_argument("--products", type=int, default=1000, help="products per store")
    parser.add_argument("--skus", type=int, default=2)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--qps", type=float, default=20.0, help="the client's per-seller rate")
    parser.add_argument("--app-qps", type=float, default=200.0, help="the app's shared call rate (0: off)")
    parser.add_argument("--faults", default="latency_ms=120,qps=20")
    parser.add_argument("--concurrency", type=int, default=8, help="task slots of each Celery worker")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for each round of runs")
    parser.add_argument("--keep", metavar="DIR", help="keep the files and logs here")
    parser.add_argument("--first-run", choices=("dag", "plain"), default="dag",
                        help="the first run (it only prepares the state the measured day-2 run starts from): as DAG "
                        "runs on the stack (default), or 'plain': as bench/stores.py's worker processes against the "
                        "stack's aeops DB, simulator and limits (at 20 x 10,000 products the first run's ~2,400 task "
                        "instances take 2 cores longer than the measured run)")
    parser.add_argument("--snapshot", metavar="DIR",
                        help="start each N from the first run bench/stores.py --snapshot DIR kept (its end state: the "
                        "simulator's, the exports with day 2's, the aeops DB) instead of making a first run: the "
                        "measured day-2 run in minutes at 20 x 10,000. The sellers' tokens in it expire a day after it "
                        "was made")
    args = parser.parse_args()
    if os.environ.get("AEOPS_BENCH_SUITE") and not os.environ.get("AEOPS_BENCH_CELERY"):
        print("skipped: starts a CeleryExecutor stack (PostgreSQL, Redis, two workers) for minutes per N; "
              "AEOPS_BENCH_CELERY=1 make bench runs it, or run bench/stores_celery.py directly")
        return
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="aeops-bench-celery-"))
    results = []
    try:
        with sigterm_unwinds():  # SIGTERM and Ctrl-C unwind through run_n's teardown
            for n in [int(x) for x in args.stores.split(",") if x.strip()]:
                print(f"N={n}: {n} stores x {args.products:,} products x {args.skus} SKUs, {args.changed:.0%} "
                      f"changed, {args.faults}, {args.qps:g} QPS per seller, app limit {args.app_qps or 'off'} QPS, "
                      f"CeleryExecutor: 2 workers x {args.concurrency} slots, {os.cpu_count()} cores", flush=True)
                results.append(run_n(n, args, base))
                print_row(results[-1], header=True)
    except (KeyboardInterrupt, Terminated) as exc:
        raise SystemExit(f"interrupted ({type(exc).__name__} {exc}); every process and database it started "
                         "is gone") from None
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("\nside by side (day-2 run; wall from the first trigger to the last DAG run's end):")
    for i, r in enumerate(results):
        print_row(r, header=i == 0)
    for r in results:
        print(f"N={r['n']}: CPU s by component {json.dumps({k: round(v, 1) for k, v in r['cpu'].items()})}; "
              f"task instances {r['tasks']['states']}, {r['tasks']['busy']:.0f} s inside them; pool {r['pool']} "
              f"slots; slowest store {r['max_calls']} calls")
        cores = os.cpu_count() or 1
        floor = r["floors"][r["binding"]]
        print(f"N={r['n']}: the whole stack's CPU over the cores: {r['stack_cpu'] / cores:.1f} s, "
              f"{r['stack_cpu'] / cores / floor:.2f}x the floor (here the scheduler, api-server, dag-processor and "
              "simulator share the workers' cores: no wall on this machine is below it)")
    print("goal: wall <= 1.3x the binding floor (20 stores x 10,000 products, CeleryExecutor, 2 workers)")
    last = results[-1]
    print(f"{last['n']} stores on CeleryExecutor (2 workers) vs floor: {last['ratio']:.2f}x")


if __name__ == "__main__":
    main()
