#!/usr/bin/env python
"""Many stores on one deployment: how the daily sync's cost grows with stores (issue 28).

For each N of ``--stores`` (default 1,5,20): N stores x ``--products`` products (``--skus`` SKUs each), each
store its own seller in one simulator (its own process, ``latency_ms``, ``qps`` per seller), its marketplace
differing from the export in ``--changed`` of the products. Every store runs the real daily-sync steps of
``aeops.sync`` (preflight, pull_export, validate, plan, collect_chunks, push_chunk in ``--workers`` threads,
finish with verification) under its own DAG id ``aliexpress_catalog_sync__<store>``; the stores run at once, in
one worker process per store (Airflow's task processes; ``--processes P`` deals them over P processes, a thread
each), every client asking the
app's shared limits (``--app-qps``; aeops.marketplace.app_limits, file backend: shared by the processes).

Each store syncs twice: the first run (empty aeops DB: every price and stock written blind) prepares the state,
the second (another ``--changed`` of the products changed: the daily case) is measured. Printed per N, side by
side: wall time of all stores' daily syncs, the floors (the slowest store's API floor at its QPS; the app's
shared limit; the shared storefront budget: the busiest language site's pages, every store's together, at
``--storefront-pps``; aeops CPU over the cores) and which binds, wall vs that floor, aeops CPU seconds per changed
product (the worker processes' CPU; the simulator's apart), each step's mean wall time, peak RSS of a worker
process over both runs (``proc RSS``), peak RSS of the worst single task (``task RSS``, named on the next line
with every step's peak), aeops-DB statements per store-run. Last line, for the compass:
``<N> stores vs floor: <r>x; CPU per changed product: <ms> ms; peak task RSS: <MB> MB (<run>: <step>)``.

Peak task RSS: in Airflow each step of the DAG (dags/aliexpress_catalog_sync.py: preflight, pull_export,
validate, plan, collect_chunks, each push_chunk, each poke of the verify sensor, finish) is its own task process
(the bench runs verify as those pokes, at ``finish``'s own polling pace). So the first N's first run (the store's
first day: every price and stock written blind and verified, its largest tasks) runs every step, each push chunk
and each poke in a fresh process of its own (bench/task_step.py: the Task SDK loaded first, then only what the
step imports), ``--workers`` chunks at once, and reads each one's peak RSS there (the kernel's ``VmHWM``): the
"task RSS", measured, and the compass line's. The measured (steady) run stays in the worker process, a thread
per push chunk, so its CPU and wall time are aeops' work and not the start of ~15 task processes (that price is
Airflow's: bench/stores_celery.py measures it); its steps' peaks are printed as upper bounds (the kernel's
peak counter reset before each step, ``/proc/self/clear_refs``; the worker has every earlier step's modules and
leftovers resident). ``--task-processes both`` measures the steady run's tasks in their own processes too (its CPU
then includes each process's start), ``none`` none.

    scripts/embedded-env python bench/stores.py --stores 1,5,20 --products 1000

``--snapshot DIR`` (bench/snapshot.py) keeps each N's first run (the state it ends in) and measures the day-2 run
from it, in fresh worker processes that load the modules a first run's workers had: at 10,000 products the first
run of 20 stores takes ~40 minutes, the measured run ~4. ``--planning-slots K`` runs the stores' plans in a pool of
K slots shared by the worker processes, as the DAG's ``aeops_planning`` pool (``planning_pool_slots``) does;
0 plans every store at once.

The issue's default is 20 x 10,000; on a 2-core machine shared with others that takes long: give smaller
``--products`` and say so when quoting the numbers. ``AEOPS_BENCH_PROFILE=/tmp/prof`` writes a cProfile of each
worker's measured run to ``/tmp/prof.<pid>`` (``python -m pstats``; every thread of the run, merged; its
times are each thread's CPU time, not wall time), for finding where the CPU goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import snapshot  # noqa: E402 - bench/snapshot.py: the first run's end state, kept
import sync as one_store  # noqa: E402 - bench/sync.py: catalog, exports, simulator start (one store)
import task_step  # noqa: E402 - bench/task_step.py: each step as its task runs it

SELLER0 = 2100000000
ID_STRIDE = 10_000_000
SEED = 28  # every run's catalogs are the same (bench/stores_celery.py's snapshot rebuilds day 2's from it)


def store_name(i: int) -> str:
    return f"store-{i:02d}"


def store_catalog(i: int, products: int, skus: int, rng: random.Random) -> dict[int, dict[str, Any]]:
    """bench/sync.py's catalog with the store's own product ids and SKU codes (stores never share a product)."""
    base = one_store.catalog(products, skus, rng)
    return {pid + i * ID_STRIDE: {**p, "skus": {f"S{i:02d}{code}": v for code, v in p["skus"].items()}}
            for pid, p in base.items()}


def seed(work: Path, n: int, products: int, skus: int, changed: float, images: Path) -> dict[str, Any]:
    """The simulator's state (N sellers, each a marketplace differing from its first export) and the exports."""
    from aeops.demo import DEMO_APP_KEY
    from aeops.marketplace.simulator.products import FREIGHT_TEMPLATES
    from aeops.marketplace.simulator.state import SimState

    state = SimState(work / "sim-state.db")
    with state.write() as tx:
        sellers = tx.sellers()
        for i in range(n):
            sid = SELLER0 + i
            sellers[str(sid)] = {
                "seller_id": sid, "app_key": DEMO_APP_KEY, "shop_name": f"{store_name(i)} store",
                "product_posting_forbidden": False, "account_status": "normal", "merchant_type": "enterprise",
                "access_tokens": {f"bench-access-{i}": int(time.time() * 1000) + 86_400_000},
                "refresh_tokens": {f"bench-refresh-{i}": int(time.time() * 1000) + 2 * 86_400_000},
                "freight_templates": [dict(t) for t in FREIGHT_TEMPLATES]}
    second = {}
    now = time.time()
    for i, truth, marketplace, day2 in catalogs(n, products, skus, changed):
        second[i] = day2
        folder = work / "exports" / store_name(i)
        folder.mkdir(parents=True)
        one_store.write_export(folder, "catalog_day1.csv", truth, now - 3600)
        state.seed_rows(one_store.rows_of(marketplace), seller_id=SELLER0 + i, images_dir=images)
    state.close()
    return {"second": second}


def catalogs(n: int, products: int, skus: int, changed: float
             ) -> Iterator[tuple[int, dict[int, Any], dict[int, Any], dict[int, Any]]]:
    """Each store's catalogs, the same on every call: ``(i, first export, marketplace, day-2 export)``."""
    rng = random.Random(SEED)
    for i in range(n):
        truth = store_catalog(i, products, skus, rng)
        marketplace, _changed = one_store.changed_copy(truth, changed, rng)
        day2, _changed = one_store.changed_copy(truth, changed, rng)
        yield i, truth, marketplace, day2


def config(work: Path, n: int, db_url: str, qps: float, app_qps: float | None,
           storefront_pps: float = 500.0) -> dict[str, Any]:
    return {"database_url": db_url, "rate_limit_backend": (work / "limits").as_uri(),
            "storefront_pages_per_second": storefront_pps,  # every store's pages per site together (shared)
            **({"app_qps": app_qps} if app_qps else {}),
            "stores": [{"name": store_name(i), "conn_id": f"aliexpress_bench_{i}",
                        "exports": (work / "exports" / store_name(i)).as_uri(), "images_dir": str(work / "images"),
                        "reports": (work / "reports" / store_name(i)).as_uri(), "qps": qps,
                        "export_settle_seconds": 0, "storefront_pages_per_second": 500,
                        "merchant_type": "enterprise"} for i in range(n)]}


# ---------------------------------------------------------------------- a worker process (Airflow's task process)
def run_store(store: str, run_id: str, cfg: Any, workers: int, fresh: str | None = None) -> dict[str, Any]:
    """One store's daily sync, step by step as its DAG runs it (bench/task_step.py's steps). ``fresh`` (the worker's
    spec file): each step in a fresh process of its own, as Airflow runs each task, its peak RSS measured there."""
    from aeops.catalog.context import client_for, context

    client = None if fresh else client_for(context(store, cfg))
    started = time.perf_counter()
    steps: dict[str, float] = {}  # wall seconds of each step: where a store's time goes
    calls = [0]

    def step(name: str, label: str, arg: Any = None, wall_name: str | None = None) -> Any:
        if fresh:
            return in_task_process(fresh, name, store, run_id, arg, label, steps, wall_name, calls)
        with step_peak(run_id, label, steps, wall_name):  # the step's wall time and, one store a process, its peak
            return task_step.run(name, store, run_id, cfg, arg, client)

    for name in ("preflight", "pull_export", "validate"):
        step(name, name)
    with task_step.pool_slot("planning", steps):  # the plan task's pool: waiting for a slot, as Airflow queues it
        planned = step("plan", "plan")
    chunks = step("collect_chunks", "collect_chunks")

    def push_one(index: int, chunk: dict[str, Any]) -> None:  # each chunk its own task, as a mapped task is
        while step("push_chunk", f"push_chunk[{index}]", [index, chunk], NOT_TIMED) is None:
            time.sleep(0.2)

    if fresh:  # each chunk its own task process, ``workers`` at once
        pushing = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(push_one, range(len(chunks)), chunks))
        _add_wall(steps, "push", pushing)
    else:
        with step_peak(run_id, f"push_chunk ({max(1, workers)} at once)", steps, "push"), \
                ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(push_one, range(len(chunks)), chunks))
    wait = 5.0  # verify as the DAG runs it (a sensor: each poke its own task), at finish's own polling pace
    for number in range(1, 1000):
        if step("verify_poke", f"verify poke {number}", None, "verify"):
            break
        time.sleep(wait)
        wait = min(120.0, wait * 2)
    summary = step("finish", "finish")
    return {"store": store, "seconds": time.perf_counter() - started, "planned": planned,
            "status": summary.get("status"), "calls": client.calls if client else calls[0], "steps": steps}


def in_task_process(spec_path: str, name: str, store: str, run_id: str, arg: Any, label: str,
                    wall: dict[str, float], wall_name: str | None, calls: list[int]) -> Any:
    """Run one step in a fresh process (bench/task_step.py), as Airflow runs a task: its answer, and its peak RSS
    (the whole task process's, measured) into :data:`STEP_PEAKS`."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("task_step.py")), spec_path, name, store,
                           run_id, json.dumps(arg)], capture_output=True, text=True)
    _add_wall(wall, wall_name or label, started)
    if done.returncode != 0:
        raise RuntimeError(f"{store} {run_id}: {label} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    key = f"{run_id}: {label}"
    COUNTERS[0].add(out["statements"], out["pages"])
    with STEP_LOCK:
        STEP_PEAKS[key] = max(STEP_PEAKS.get(key, 0.0), out["peak_mb"])
        calls[0] += out["calls"]
    print(f"    [{store}] {key}: task process peak RSS {out['peak_mb']:.0f} MB, {out['cpu_s']:.1f} CPU-s",
          file=sys.stderr, flush=True)
    return out["answer"]


STEP_PEAKS: dict[str, float] = {}  # "<run>: <step>" -> the step's peak RSS in MB (one store per process only)
STEP_LOCK = threading.Lock()
COUNTERS: list[Any] = []  # the worker's task_step.Counters (its own steps and its task processes')
PER_STEP = [False]  # set by worker_main when this process runs one store: the steps do not overlap


NOT_TIMED = "-"  # a step whose wall time its caller measures (the push chunks: the push's wall, not their sum)


def _add_wall(wall: dict[str, float] | None, name: str, started: float) -> None:
    if wall is not None and name != NOT_TIMED:
        wall[name] = wall.get(name, 0.0) + time.perf_counter() - started


@contextlib.contextmanager
def step_peak(run_id: str, step: str, wall: dict[str, float] | None = None, wall_name: str | None = None
              ) -> Iterator[None]:
    """The peak RSS of one step, as if it were its own task process: Linux's peak-RSS counter (``VmHWM``) is reset
    to the current RSS before the step (``echo 5 > /proc/self/clear_refs``) and read after it. The process has
    already run the earlier steps, so what they left resident counts too: a conservative (upper) measure of a task
    process that imports the same modules and runs only this step."""
    started = time.perf_counter()
    if not PER_STEP[0]:
        try:
            yield
        finally:
            _add_wall(wall, wall_name or step, started)
        return
    Path("/proc/self/clear_refs").write_text("5")
    try:
        yield
    finally:
        _add_wall(wall, wall_name or step, started)
        key = f"{run_id}: {step}"
        STEP_PEAKS[key] = max(STEP_PEAKS.get(key, 0.0), task_step.vm_kb("VmHWM") / 1024)
        print(f"    [worker {os.getpid()}] {key}: peak RSS {STEP_PEAKS[key]:.0f} MB", file=sys.stderr, flush=True)


def worker_main(spec_path: str) -> None:
    """``--worker SPEC``: run the stores of SPEC concurrently (a thread each), write CPU, RSS, statements."""
    spec = json.loads(Path(spec_path).read_text())
    os.environ.update(spec["env"])
    PER_STEP[0] = len(spec["stores"]) == 1 and Path("/proc/self/clear_refs").exists()
    import airflow.sdk  # noqa: F401 - a task process has Airflow loaded before its first line

    task_step.quiet_logs()
    COUNTERS.append(task_step.Counters())
    task_step.POOLS.update(spec.get("pools") or {})
    if "first" not in spec.get("runs", ("first",)):  # as after a first run: the modules it had loaded, loaded
        task_step.preload(spec.get("modules") or [])
    from aeops.config import parse_config

    cfg = parse_config(spec["config"])
    results: dict[str, Any] = {}
    cpu0 = cpu_seconds()
    for run_id in spec.get("runs", ("first", "steady")):  # bench/stores_celery.py --first-run plain: first only
        fresh = spec_path if run_id in spec.get("task_processes", ()) else None  # each step its own process
        if run_id == "steady":
            Path(spec["ready"]).touch()
            while not Path(spec["go"]).exists():  # every worker's first run done, the day-2 exports written
                time.sleep(0.1)
            COUNTERS[0].reset()
            cpu0 = cpu_seconds()
        profile = os.environ.get("AEOPS_BENCH_PROFILE") if run_id == "steady" else None
        if profile:  # the measured run under cProfile, every thread it starts too (run with one store per process)
            profilers = task_step.profile_threads()
        if profile:  # the stores one after another in this thread (the threads they start are profiled too)
            runs = [run_store(store, f"bench__{run_id}", cfg, spec["workers"], fresh) for store in spec["stores"]]
        else:
            n = len(spec["stores"])
            with ThreadPoolExecutor(max_workers=n) as pool:
                runs = list(pool.map(run_store, spec["stores"], [f"bench__{run_id}"] * n, [cfg] * n,
                                     [spec["workers"]] * n, [fresh] * n))
        if profile:
            threading.setprofile(None)
            merged = pstats.Stats(*profilers)  # each thread's profile; the ones still running stop here
            merged.dump_stats(f"{profile}.{os.getpid()}")
        results[run_id] = runs
    Path(spec["out"]).write_text(json.dumps({
        "runs": results, "cpu_s": cpu_seconds() - cpu0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        / 1024, "steps_mb": STEP_PEAKS, "statements": COUNTERS[0].statements, "pages_by_site": COUNTERS[0].pages,
        "modules": sorted(sys.modules)}))


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of the task processes it ran and waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# ---------------------------------------------------------------------- one N
def api_floors(runs: list[dict[str, Any]], qps: float, app_qps: float | None) -> tuple[float, float]:
    """The API floors of the measured runs: the slowest store's calls at the seller's rate (the platform's limit,
    ``qps``), and all stores' calls at the app's shared rate. The calls are the ones the runs made (retries
    included; bench/sync.py checks the write calls against their minimum)."""
    store = max(r["calls"] for r in runs) / qps
    app = sum(r["calls"] for r in runs) / app_qps if app_qps else 0.0
    return store, app


TASK_PROCESSES = {"first": ["first"], "both": ["first", "steady"], "none": []}


def run_n(n: int, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    work = base / f"n{n}"
    db_url = args.db or f"sqlite:///{work / 'aeops.db'}"
    snap = snapshot.folder(args, n) if args.snapshot else None
    if snap and not (snap / "done").exists():  # the first run once, its end state kept for the measured runs
        print(f"N={n}: making the snapshot {snap} (the first run, not measured) ...", flush=True)
        prepare_first_run(n, args, work, db_url, snap)
    if snap:
        print(f"N={n}: the first run's state from the snapshot {snap}", flush=True)
        snapshot.restore(snap, work, args.db)
        seeded = {"second": None}
    else:
        shutil.rmtree(work, ignore_errors=True)
        seeded = fresh_state(n, args, work, db_url)
    proc, url = one_store.start_simulator(work / "sim-state.db", args.faults, work / "simulator.log",
                                          port=json.loads((snap / "port.json").read_text()) if snap else None)
    task_runs = TASK_PROCESSES[args.task_processes] if n == args.task_n else []
    runs = ["steady"] if snap else ["first", "steady"]
    modules = snapshot.modules_file(args) if snap else None
    try:
        specs, workers = start_workers(n, args, work, db_url, url, runs, task_runs,
                                       json.loads(modules.read_text()) if modules and modules.exists() else [])
        while not all(Path(s["ready"]).exists() for s in specs):
            if any(w.poll() not in (None, 0) for w in workers):
                raise SystemExit(f"a worker failed (N={n}); see above")
            time.sleep(0.2)
        if snap:  # day 2's export, kept in the snapshot, is today's: the newest file of its folder, just settled
            for i in range(n):
                for name, age in (("catalog_day1.csv", 3600), ("catalog_day2.csv", 5)):
                    os.utime(work / "exports" / store_name(i) / name, (time.time() - age,) * 2)
        else:
            write_day2(n, work, seeded["second"])
        sim_cpu1 = proc_cpu(proc.pid)
        started = time.perf_counter()
        Path(specs[0]["go"]).touch()
        for w in workers:
            if w.wait() != 0:
                for other in workers:  # the others must not keep running in a folder about to be removed
                    other.kill()
                proc.terminate()
                raise SystemExit(f"a worker failed (N={n}); see above")
    except BaseException:  # a failed run leaves no simulator behind (a snapshot's next run wants its port)
        proc.terminate()
        raise
    wall = time.perf_counter() - started
    processes = len(specs)
    sim_cpu = proc_cpu(proc.pid) - sim_cpu1
    proc.terminate()
    proc.wait(timeout=10)
    outs = [json.loads(Path(s["out"]).read_text()) for s in specs]
    steady = [r for o in outs for r in o["runs"]["steady"]]
    changed = sum(int(r["planned"].get("price", 0)) + int(r["planned"].get("inventory", 0)) for r in steady)
    floor_store, floor_app = api_floors(steady, args.qps, args.app_qps)
    cpu = sum(o["cpu_s"] for o in outs)
    floor_cpu = cpu / (os.cpu_count() or 1)
    by_site: dict[str, int] = {}
    for o in outs:
        for site, count in o["pages_by_site"].items():
            by_site[site] = by_site.get(site, 0) + count
    floor_pages = max(by_site.values(), default=0) / args.storefront_pps  # the busiest site at the shared rate
    floors = {"slowest store's API floor": floor_store, "app's shared limit": floor_app,
              "shared storefront budget": floor_pages, "aeops CPU / cores": floor_cpu}
    binding = max(floors, key=floors.get)
    steps: dict[str, float] = {}
    for o in outs:
        for step, mb in o["steps_mb"].items():
            steps[step] = max(steps.get(step, 0.0), mb)
    own = {step: mb for step, mb in steps.items() if step.split(":")[0].removeprefix("bench__") in task_runs}
    if own:  # steps run in task processes of their own: the worst of them is the worst task, measured
        worst_step, task_rss = max(own, key=own.get), max(own.values())
        worst_step += " (its own task process)"
    elif steps and all(o["steps_mb"] for o in outs):  # one store a worker: the worst step, an upper bound
        worst_step = max(steps, key=steps.get)
        task_rss = steps[worst_step]
        worst_step += " (upper bound: in the worker process)"
    else:  # stores share a process: their steps overlap, only the process's peak is known
        worst_step, task_rss = "whole worker process (stores share it)", max(o["rss_mb"] for o in outs)
    return {"task_rss_mb": task_rss, "task_step": worst_step, "task_measured": bool(own), "steps_mb": step_kinds(steps),
            "n": n, "wall": wall, "floors": floors, "binding": binding, "ratio": wall / floors[binding],
            "cpu_per_changed_ms": 1000 * cpu / max(1, changed), "cpu": cpu, "sim_cpu": sim_cpu,
            "rss_mb": max(o["rss_mb"] for o in outs), "statements_per_store": sum(o["statements"] for o in outs) / n,
            "changed": changed, "statuses": sorted({r["status"] for r in steady}),
            "store_seconds": max(r["seconds"] for r in steady), "processes": processes,
            "calls": sum(r["calls"] for r in steady), "pages": sum(by_site.values()),
            "steps": {name: sum(r["steps"].get(name, 0.0) for r in steady) / len(steady)
                      for name in steady[0]["steps"]}}


def fresh_state(n: int, args: argparse.Namespace, work: Path, db_url: str) -> dict[str, Any]:
    """An empty aeops DB, the simulator's sellers and the first exports in ``work``."""
    (work / "images").mkdir(parents=True)
    shutil.copy(ROOT / "include" / "sample" / "images" / "home_mug.jpg", work / "images" / "mug.jpg")
    if args.db:
        reset_postgres(args.db)
    seeded = seed(work, n, args.products, args.skus, args.changed, work / "images")
    from aeops.store import ensure_schema

    ensure_schema(db_url)
    return seeded


def write_day2(n: int, work: Path, second: dict[int, Any]) -> None:
    """Day 2: another share of the products changed in the ERP (each store's newest export)."""
    for i in range(n):
        one_store.write_export(work / "exports" / store_name(i), "catalog_day2.csv", second[i], time.time() - 5)


def start_workers(n: int, args: argparse.Namespace, work: Path, db_url: str, url: str, runs: list[str],
                  task_runs: list[str], modules: list[str] | None = None
                  ) -> tuple[list[dict[str, Any]], list[subprocess.Popen]]:
    """The worker processes (the stores dealt over them) for ``runs`` (``modules``: loaded before a measured run
    without a first run); their specs and processes."""
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET

    env = {f"AIRFLOW_CONN_ALIEXPRESS_BENCH_{i}": json.dumps({
        "conn_type": "aliexpress", "host": url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": f"bench-access-{i}", "refresh_token": f"bench-refresh-{i}",
                  "seller_id": str(SELLER0 + i)}}) for i in range(n)}
    env["AEOPS_FERNET_KEY"] = snapshot.fernet_key()
    # the aeops DB as a deployment names it (a task process gets an ``aeops_db`` connection from the API server; a
    # bench process would look it up in Airflow's metadata DB, loading all of Airflow's models: not aeops' cost)
    env["AEOPS_DATABASE_URL"] = db_url
    cfg = config(work, n, db_url, args.qps, args.app_qps, args.storefront_pps)
    processes = n if args.processes <= 0 else max(1, min(args.processes, n))
    specs, workers = [], []
    for p in range(processes):
        for stale in (work / f"ready{p}", work / "go"):
            stale.unlink(missing_ok=True)
        spec = {"env": env, "config": cfg, "stores": [store_name(i) for i in range(p, n, processes)],
                "workers": args.workers, "out": str(work / f"worker{p}.json"), "ready": str(work / f"ready{p}"),
                "go": str(work / "go"), "task_processes": task_runs, "runs": runs,
                "pools": {"planning": args.planning_slots, "dir": str(work / "pools")}, "modules": modules or []}
        (work / f"spec{p}.json").write_text(json.dumps(spec))
        specs.append(spec)
    for p in range(processes):
        workers.append(subprocess.Popen([sys.executable, __file__, "--worker", str(work / f"spec{p}.json")]))
    return specs, workers


def prepare_first_run(n: int, args: argparse.Namespace, work: Path, db_url: str, snap: Path) -> None:
    """The first run (every price and stock written blind, verified), then its end state into ``snap``: the work
    folder (the simulator's state, the exports with day 2's written, the images) and the aeops DB (a copy of the
    PostgreSQL database as a template, or SQLite's file in the folder)."""
    shutil.rmtree(work, ignore_errors=True)
    seeded = fresh_state(n, args, work, db_url)
    proc, url = one_store.start_simulator(work / "sim-state.db", args.faults, work / "simulator.log")
    task_runs = TASK_PROCESSES[args.task_processes] if n == args.task_n else []
    specs, workers = start_workers(n, args, work, db_url, url, ["first"], task_runs)
    started = time.perf_counter()
    failed = [w for w in workers if w.wait() != 0]
    proc.terminate()
    proc.wait(timeout=30)
    if failed:
        raise SystemExit(f"the first run failed (N={n}); see above")
    outs = [json.loads(Path(s["out"]).read_text()) for s in specs]
    statuses = sorted({r["status"] for o in outs for r in o["runs"]["first"]})
    print(f"N={n}: first run {time.perf_counter() - started:.0f} s, {statuses}", flush=True)
    for o in outs:
        for step, mb in o["steps_mb"].items():
            print(f"    {step}: {mb:.0f} MB", flush=True)
    write_day2(n, work, seeded["second"])
    snapshot.save(snap, work, args.db, int(url.rsplit(":", 1)[1]))
    snapshot.modules_file(args).write_text(json.dumps(sorted({m for o in outs for m in o.get("modules", [])})))


def step_kinds(steps: dict[str, float]) -> dict[str, float]:
    """The peaks by kind of step ("bench__first: push_chunk[7]" and "...[8]" -> "first: push_chunk"; "verify poke 3"
    -> "verify pokes"): the largest of each."""
    kinds: dict[str, float] = {}
    for step, mb in steps.items():
        run, _, name = step.partition(": ")
        name = re.sub(r"\[\d+\]$", "", name)
        name = re.sub(r"^verify poke \d+$", "verify pokes", name)
        key = f"{run.removeprefix('bench__')}: {name}"
        kinds[key] = max(kinds.get(key, 0.0), mb)
    return kinds


def print_row(r: dict[str, Any], *, header: bool) -> None:
    """One N's line (with the header first)."""
    if header:
        print(f"{'N':>3} {'wall s':>8} {'store API':>10} {'app limit':>10} {'pages':>7} {'CPU/cores':>10} "
              f"{'binds':>28} {'vs floor':>9} {'CPU ms/chg':>11} {'sim CPU s':>10} {'proc RSS':>8} {'task RSS':>8} "
              f"{'stmts/store':>12} status")
    f = list(r["floors"].values())
    print(f"{r['n']:>3} {r['wall']:>8.1f} {f[0]:>10.1f} {f[1]:>10.1f} {f[2]:>7.1f} {f[3]:>10.1f} {r['binding']:>28} "
          f"{r['ratio']:>8.2f}x {r['cpu_per_changed_ms']:>11.1f} {r['sim_cpu']:>10.1f} {r['rss_mb']:>8.0f} "
          f"{r['task_rss_mb']:>8.0f} "
          f"{r['statements_per_store']:>12.0f} {','.join(r['statuses'])}", flush=True)
    print("    a store's steps (mean wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items()))
    print(f"    worst task: {r['task_step']}, {r['task_rss_mb']:.0f} MB" + ("; per step (MB): " + ", ".join(
        f"{step} {mb:.0f}" for step, mb in r["steps_mb"].items()) if r["steps_mb"] else ""), flush=True)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="1,5,20", help="the N to run, comma-separated")
    parser.add_argument("--products", type=int, default=10_000, help="products per store")
    parser.add_argument("--skus", type=int, default=2)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--qps", type=float, default=20.0, help="the client's per-seller rate")
    parser.add_argument("--app-qps", type=float, default=200.0,
                        help="the app's shared call rate over every store (an assumption: the platform shows the "
                        "app's limit in its console; 0: off)")
    parser.add_argument("--storefront-pps", type=float, default=500.0,
                        help="storefront pages a second per language site over every store (the deployment's shared "
                        "storefront_pages_per_second; production's polite default is 1, the simulator takes more)")
    parser.add_argument("--faults", default="latency_ms=120,qps=20")
    parser.add_argument("--processes", type=int, default=0,
                        help="worker processes, the stores dealt over them (a thread each); default 0: one per store, "
                        "as each store's run is its own task process")
    parser.add_argument("--workers", type=int, default=4, help="concurrent push chunks per store")
    parser.add_argument("--task-processes", choices=sorted(TASK_PROCESSES), default="first",
                        help="which run of the first N runs each step (each push chunk, each verify poke) in a fresh "
                        "process of its own, as Airflow runs each task, and measures its peak RSS there: 'first' "
                        "(default: the store's first run, every product written and verified: the largest tasks; the "
                        "measured run stays in the worker process), 'both' (the measured run too: its CPU then "
                        "includes each task process's start), 'none' (peaks are the worker process's, an upper "
                        "bound). Only the first N of --stores: a task's RSS does not grow with N (each store's tasks "
                        "are their own processes), and at 10,000 products a store's first run is ~120 task processes "
                        "of ~2.5 CPU-s start-up each")
    parser.add_argument("--db", help="aeops DB URL (default: SQLite per N); a PostgreSQL URL's schema is reset")
    parser.add_argument("--keep", metavar="DIR")
    parser.add_argument("--snapshot", metavar="DIR",
                        help="keep each N's first run (its end state: the simulator's, the exports, the aeops DB) in "
                        "DIR and measure the day-2 run from it: the first time the first run is made there, later "
                        "times it is restored (same --products, --skus, --changed, --qps, --faults, limits and "
                        "--workers; a PostgreSQL --db's snapshot is a database named aeops_snap_*). Either way the "
                        "measured run starts in fresh worker processes with the step modules loaded. The sellers' "
                        "tokens in it expire a day after it was made")
    parser.add_argument("--planning-slots", type=int, default=None,
                        help="the aeops_planning pool's slots: how many stores plan at once (default: "
                        "planning_pool_slots' default, as the DAG; 0: no pool, every store at once)")
    args = parser.parse_args()
    os.environ.pop("AEOPS_DATABASE_URL", None)
    if args.planning_slots is None:
        from aeops.config import parse_config

        args.planning_slots = parse_config({}).planning_pool_slots
    args.task_n = int(args.stores.split(",")[0])  # the N whose tasks run in processes of their own
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="aeops-bench-stores-"))
    results = []
    try:
        for n in [int(x) for x in args.stores.split(",") if x.strip()]:
            print(f"N={n}: {n} stores x {args.products:,} products x {args.skus} SKUs, {args.changed:.0%} changed, "
                  f"{args.faults}, {args.qps:g} QPS per seller, app limit {args.app_qps or 'off'} QPS, "
                  f"{n if args.processes <= 0 else min(n, args.processes)} worker process(es), plans "
                  f"{args.planning_slots or 'all'} at once ...", flush=True)
            results.append(run_n(n, args, base))
            print_row(results[-1], header=len(results) == 1)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("\nside by side:")
    for i, r in enumerate(results):
        print_row(r, header=i == 0)
    print("goals: wall <= 1.5x the binding floor (embedded, 2 cores); CPU per changed product < 5 ms; peak task "
          "RSS < 500 MB; cost per store flat from N=1 to N=20")
    last = results[-1]
    rss = max((r for r in results if r["task_measured"]), key=lambda r: r["task_rss_mb"], default=last)
    print(f"{last['n']} stores vs floor: {last['ratio']:.2f}x; CPU per changed product: "
          f"{last['cpu_per_changed_ms']:.1f} ms; peak task RSS: {rss['task_rss_mb']:.0f} MB (N={rss['n']}: "
          f"{rss['task_step']})")


if __name__ == "__main__":
    main()
