#!/usr/bin/env python
"""Time to push and verify a whole-store price override against the simulator, as a share of 15 minutes.

Seeds the simulator (SQLite state) with N one-SKU products of the demo seller and the aeops DB with the same
catalog as confirmed by an earlier daily sync, starts the simulator in its own process (the marketplace is
not aeops's process; ``--in-process`` puts it in this one, where it competes for the CPU) with the realistic
faults ``latency_ms=120,qps=20`` (per seller), then runs the urgent re-run's steps exactly as the DAG's tasks
do (start, take_lock, plan, collect_chunks, push_chunk x chunks, finish = verification + report, report,
release_lock) for ``mode=price_override percent=-20 scope=store``. The push chunks run on ``--workers``
threads, standing in for the ``aliexpress_urgent`` pool's slots; every client shares one rate limiter at the
store's QPS, as a shared (file/redis) limiter does across Airflow workers.

Prints the phases (verification's own time apart) and the ratio of the total, from the first step to the
report, to the 15-minute requirement (goal: at most 0.5). Verification runs by default: every product's
list timestamp, the product query of as many as the urgent run's cap allows
(:func:`aeops.verify.runner.urgent_query_budget`), and storefront pages per :mod:`aeops.verify.sampling` (one
page per high-risk product beyond 1,000 of them, see docs/verification.md); ``--no-verify`` leaves it out.
Usage: python bench/urgent.py [--products 100000] [--workers 8] [--latency-ms 120] [--qps 20] [--no-verify]
This is long (minutes at 100k): ``make bench`` runs it, ``make test`` does not.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

REQUIREMENT_S = 15 * 60
GOAL = 0.5
FIRST_ID = 1005009000000000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen) -> None:
    import httpx

    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"the simulator exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the simulator did not start")


def _rows(n: int) -> list[dict[str, str]]:
    return [{"product_id": str(FIRST_ID + i), "sku_code": f"BF-{i:06d}", "title": f"Bench product {i}",
             "price": f"{20 + i % 80}.{i % 100:02d}", "discount_price": "", "stock": "10",
             "freight_template_id": "1001", "category": "home", "brand": "Bench",
             "main_image": f"https://img.example/{i}.jpg"} for i in range(n)]


def _seed_aeops_db(db_url: str, rows: list[dict[str, str]]) -> None:
    """The catalog as an earlier daily sync confirmed it (so planning needs list reads only)."""
    from sqlalchemy import insert

    from aeops.catalog.model import money
    from aeops.store import ensure_schema, session_scope
    from aeops.store.models import ProductState

    ensure_schema(db_url)
    seen = datetime.now(UTC) + timedelta(minutes=1)
    states = [{"store": "demo", "product_id": int(r["product_id"]), "confirmed_at": seen,
               "marketplace_modified_at": seen, "last_seen_at": seen,
               "fields": {"title": r["title"], "freight_template_id": r["freight_template_id"],
                          "main_image": r["main_image"], "main_image_url": r["main_image"],
                          "sku_ids": {"14:193": r["sku_code"]},  # the simulator's id of a product's first SKU
                          "skus": {r["sku_code"]: {"price": money(r["price"]), "discount_price": None,
                                                   "stock": int(r["stock"])}}}} for r in rows]
    with session_scope(db_url) as s:
        for i in range(0, len(states), 5000):
            s.execute(insert(ProductState), states[i : i + 5000])


def _phase(phases: dict[str, float], name: str, began: float, start: float) -> None:
    phases[name] = time.perf_counter() - began
    print(f"  {name:<40} {phases[name]:8.1f} s   (total {time.perf_counter() - start:.1f} s)", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=8, help="parallel push tasks (pool slots)")
    parser.add_argument("--latency-ms", type=int, default=120)
    parser.add_argument("--qps", type=float, default=20, help="the simulator's per-seller limit")
    parser.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                        help="include aeops.verify (default); --no-verify: finish runs without the verification step")
    parser.add_argument("--in-process", action="store_true",
                        help="run the simulator in this process (it then competes with aeops for the CPU)")
    parser.add_argument("--client-qps", type=float, default=19,
                        help="the store's qps setting (a client at exactly the limit meets the platform's "
                        "sliding window now and then and is banned for a second)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import uvicorn

    from aeops.config import load_config
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
    from aeops.marketplace import AliExpressClient
    from aeops.marketplace.ratelimit import InProcessRateLimiter
    from aeops.marketplace.simulator.app import create_app
    from aeops.marketplace.simulator.faults import Faults
    from aeops.marketplace.simulator.state import SimState
    from aeops.urgent import steps

    tmp = Path(tempfile.mkdtemp(prefix="aeops-bench-urgent-"))
    db_url = f"sqlite:///{tmp / 'aeops.db'}"
    os.environ["AEOPS_DATABASE_URL"] = db_url
    _conn_id, seller_id, access, refresh = DEMO_SELLERS["demo"]
    t = time.perf_counter()
    rows = _rows(args.products)
    state = SimState(tmp / "sim.db")
    state.seed_rows(rows, seller_id=seller_id)
    _seed_aeops_db(db_url, rows)
    print(f"seeded {args.products} products (simulator + aeops DB) in {time.perf_counter() - t:.1f} s")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    faults = f"latency_ms={args.latency_ms},qps={args.qps:g}"
    if args.in_process:
        app = create_app(state, Faults.parse(faults), public_url=url)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        stop = lambda: setattr(server, "should_exit", True)  # noqa: E731
    else:  # the marketplace is not aeops's process: in it, it would take aeops's CPU (one GIL)
        state.close()
        proc = subprocess.Popen([sys.executable, "-m", "aeops.cli", "simulator", "--port", str(port), "--state",
                                 str(tmp / "sim.db"), "--faults", faults])
        _wait_for(url, proc)
        stop = proc.terminate

    os.environ["AIRFLOW_CONN_ALIEXPRESS_DEFAULT"] = json.dumps({  # verification reads through the connection
        "conn_type": "aliexpress", "host": url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": access, "refresh_token": refresh, "seller_id": seller_id}})
    config = load_config({"database_url": db_url, "stores": [{"name": "demo", "qps": args.client_qps,
                                                              "reports": str(tmp / "reports")}]})
    limiter = InProcessRateLimiter(args.client_qps)
    clients: list = []
    local = threading.local()

    def client() -> AliExpressClient:
        if getattr(local, "client", None) is None:
            local.client = AliExpressClient(url, DEMO_APP_KEY, DEMO_APP_SECRET, access, seller_id=seller_id,
                                            refresh_token=refresh, rate_limit=limiter, timeout=60)
            clients.append(local.client)
        return local.client

    steps._send = lambda ctx, message: None  # Slack is not what is measured
    run_id = f"bench__{datetime.now(UTC):%Y%m%dT%H%M%S}"
    params = {"store": "demo", "mode": "price_override", "percent": -20, "scope": "store", "floor_price": 1,
              "reason": "bench: whole-store Black Friday override", "deadline_minutes": 15}
    phases: dict[str, float] = {}
    start = time.perf_counter()
    try:
        t = time.perf_counter()
        steps.start(params, run_id, config=config)
        steps.take_lock("demo", run_id, config=config)
        counts = steps.plan("demo", run_id, client=client(), config=config)
        _phase(phases, "plan (list reads, diff)", t, start)
        t = time.perf_counter()
        chunks = steps.collect_chunks("demo", run_id, dry_run=False, config=config)
        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(lambda c: steps.push_chunk(c, run_id, client=client(), config=config), chunks))
        _phase(phases, f"push ({len(chunks)} chunks on {args.workers} workers)", t, start)
        t = time.perf_counter()
        import aeops.sync.finish as finishing

        verify, verify_s = finishing._verify, []

        def timed_verify(*a, **k):  # the verification's own time, reported apart from the report's
            began = time.perf_counter()
            try:
                return verify(*a, **k) if args.verify else {}
            finally:
                verify_s.append(time.perf_counter() - began)

        finishing._verify = timed_verify
        finished = steps.finish("demo", run_id, dry_run=False, client=client(), config=config)
        _phase(phases, "verify + report" if args.verify else "report", t, start)
        if args.verify and verify_s:
            print(f"    of which verification {verify_s[0]:.1f} s", flush=True)
        summary = steps.report("demo", run_id, config=config)
    finally:
        steps.release_lock("demo", run_id, config=config)
        total = time.perf_counter() - start
        stop()
        for c in clients:
            c.close()
    confirmed = sum(r.get("confirmed", 0) for r in results)
    print(f"simulator: {args.qps:g} calls/s per seller, {args.latency_ms} ms latency; client {args.client_qps:g}/s")
    print(f"planned {counts.get('planned_price', 0)} price changes; confirmed {confirmed}; "
          f"status {finished.get('status')}; verified {summary['counts'].get('verified', '-')}; "
          f"API calls {sum(c.calls for c in clients)}")
    if args.verify:
        c = summary["counts"]
        print(f"verification: {c.get('verify_list_calls', 0)} list calls, {c.get('verify_page_fetches', 0)} storefront "
              f"pages, completion rate {c.get('completion_rate', '-')}, {c.get('verify_failed', 0)} failed")
    ratio = total / REQUIREMENT_S
    what = "push" if not args.verify else "push and verify"
    print(f"whole-store override of {args.products} products ({what}): {total:.1f} s = {ratio:.2f} x the 15-minute "
          f"requirement (goal <= {GOAL}) {'OK' if ratio <= GOAL else 'OVER GOAL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
