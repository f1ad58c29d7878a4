#!/usr/bin/env python
"""The daily catalog sync at catalog scale: write calls against the minimum, time per changed product.

Drives the real daily-sync steps of ``aeops.sync`` (list_stores, preflight, pull_export, validate, plan,
collect_chunks, push_chunk, finish) without Airflow, against the simulator in a subprocess on a free
loopback port with ``--faults latency_ms=120,qps=20`` (issue 5's conditions):

1. a catalog export of ``--products`` products (default 10,000, ``--skus`` SKUs each, one shared valid image,
   freight templates 1001-1003) and a marketplace seeded with it except that ``--changed`` (10%) of the
   products differ (half in price, half in stock);
2. **first run**: the aeops DB is empty: the plan takes title, freight template and image from the list pages
   (99 products a call) and writes every product's price and stock blind, 20 products a call (no info read per
   product: issue 18); its floor is those list pages and writes at the store's QPS;
3. **steady state**: a newer export changes another 10% of the products (half price, half stock) and the
   sync runs again; the DB's confirmed state should spare the info reads.

Push chunks run in ``--workers`` threads (the Airflow pool's slots) sharing one client, i.e. one per-seller
rate limiter, as a shared ``rate_limit`` backend gives mapped tasks. Every HTTP request is counted per API
(retries included). After each run the simulator's catalog is compared with the export.

Prints per run: the time of each step, write calls against the minimum (ceil(changed/20) per update type;
goal ratio 1.0) and the end-to-end time per changed product against the seller-center guide's manual
baseline of 4.92 s per product (goal: at most 1/100 of it, i.e. <= 49.2 ms). The goal applies to the steady
state. Then both runs side by side, the first run's API floor (calls and seconds) and, as the last two lines,
``first run vs its API floor: <ratio>x`` (goal <= 1.3x) and ``first run per changed product vs manual: 1/<n>``
(goal: n >= 50). Verification (``aeops.verify.runner``) runs inside ``finish`` once it exists and adds its time there.

Usage: python bench/sync.py [--products 10000] [--skus 2] [--changed 0.10] [--workers 4]
                            [--faults latency_ms=120,qps=20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "aliexpress_catalog_sync"
STORE = "bench"
FIRST_ID = 1005006000000000
MANUAL_S_PER_PRODUCT = 8.2 * 60 / 100  # seller-center guide: 100 products in 8.2 minutes
WRITE_APIS = {"aliexpress.solution.batch.product.price.update": "price",
              "aliexpress.solution.batch.product.inventory.update": "inventory",
              "aliexpress.solution.product.edit": "edit"}


class CountingTransport(httpx.HTTPTransport):
    """Counts every HTTP request by API name, and the ones answered ``ApiCallLimit``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()
        self.throttled: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        api = request.url.path
        if request.url.path.endswith("/sync"):
            form = urllib.parse.parse_qs(request.content.decode("utf-8", "replace")) if request.content else {}
            api = (form.get("method") or [request.url.params.get("method", "/sync")])[0]
        response = super().handle_request(request)
        try:
            throttled = b"ApiCallLimit" in response.read()
        except httpx.HTTPError:
            throttled = False
        with self._lock:
            self.calls[api] += 1
            self.throttled[api] += throttled
        return response

    def snapshot(self) -> tuple[collections.Counter[str], collections.Counter[str]]:
        with self._lock:
            return collections.Counter(self.calls), collections.Counter(self.throttled)


# ---------------------------------------------------------------------- the catalog
def catalog(products: int, skus: int, rng: random.Random) -> dict[int, dict[str, Any]]:
    """The export's truth: {pid: {"title", "template", "skus": {code: [price, discount, stock]}}}."""
    out: dict[int, dict[str, Any]] = {}
    for p in range(products):
        pid = FIRST_ID + p
        base = Decimal(rng.randint(500, 9000)) / 100
        out[pid] = {"title": f"Bench mug {p}", "template": str(1001 + p % 3), "skus": {
            f"BM{p:06d}-{s}": [base + s, (base * Decimal("0.9")).quantize(Decimal("0.01")) if p % 2 else None,
                               rng.randint(0, 500)] for s in range(skus)}}
    return out


def changed_copy(truth: dict[int, dict[str, Any]], share: float, rng: random.Random
                 ) -> tuple[dict[int, dict[str, Any]], dict[str, set[int]]]:
    """A copy where ``share`` of the products differ: the first half in price (+7%), the rest in stock."""
    pids = sorted(rng.sample(sorted(truth), round(len(truth) * share)))
    half = len(pids) // 2
    changed = {"price": set(pids[:half]), "inventory": set(pids[half:])}
    copy = {pid: {**p, "skus": {c: list(v) for c, v in p["skus"].items()}} for pid, p in truth.items()}
    for pid in changed["price"]:
        for sku in copy[pid]["skus"].values():
            sku[0] = (sku[0] * Decimal("1.07")).quantize(Decimal("0.01"))
    for pid in changed["inventory"]:
        for sku in copy[pid]["skus"].values():
            sku[2] = sku[2] + 7
    return copy, changed


def rows_of(cat: dict[int, dict[str, Any]]) -> list[dict[str, str]]:
    return [{"product_id": str(pid), "sku_code": code, "title": p["title"], "price": str(v[0]),
             "discount_price": "" if v[1] is None else str(v[1]), "stock": str(v[2]),
             "freight_template_id": p["template"], "category": "home", "brand": "Bench", "main_image": "mug.jpg"}
            for pid, p in cat.items() for code, v in p["skus"].items()]


def write_export(folder: Path, name: str, cat: dict[int, dict[str, Any]], mtime: float) -> Path:
    import csv

    path = folder / name
    rows = rows_of(cat)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.utime(path, (mtime, mtime))
    return path


def mismatches(sim_url: str, cat: dict[int, dict[str, Any]]) -> int:
    """Products whose marketplace prices/discounts/stock differ from ``cat``."""
    state = httpx.get(f"{sim_url}/_sim/state", params={"views": "false"}, timeout=120).json()["products"]
    bad = 0
    for pid, want in cat.items():
        have = {s["sku_code"]: s for s in state[str(pid)]["skus"]}
        for code, (price, discount, stock) in want["skus"].items():
            s = have.get(code)
            if s is None or Decimal(s["price"]) != price or s["stock"] != stock or (
                    (Decimal(s["discount_price"]) if s["discount_price"] else None) != discount):
                bad += 1
                break
    return bad


# ---------------------------------------------------------------------- the simulator and the run
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(state: Path, faults: str, log: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The simulator on ``state`` in a subprocess, on ``port`` (default: a free one); it and its URL."""
    port = port or free_port()
    aeops = Path(sys.executable).with_name("aeops")
    proc = subprocess.Popen([str(aeops), "simulator", "--port", str(port), "--state", str(state), "--faults", faults],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                time.sleep(0.3)
                if proc.poll() is None:  # ours answered, not another process on the port
                    return proc, url
                raise SystemExit(f"simulator did not start (port {port} taken?); see {log}")
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"simulator did not start; see {log}")
        time.sleep(0.1)


def run_sync(run_id: str, cfg: Any, client: Any, counter: CountingTransport, workers: int) -> dict[str, Any]:
    """One sync of the store, step by step as the DAG runs it; times, plan counts and HTTP calls."""
    from aeops.catalog.context import list_stores
    from aeops.sync import finish as finishing
    from aeops.sync.intake import pull_export
    from aeops.sync.planning import plan
    from aeops.sync.preflight import preflight
    from aeops.sync.pushing import collect_chunks, push_chunk
    from aeops.sync.validate import validate

    times: dict[str, float] = {}
    before = counter.snapshot()
    verify = finishing._verify

    def timed_verify(*args: Any, **kw: Any) -> Any:  # measurement only: how much of finish is verification
        start = time.perf_counter()
        try:
            return verify(*args, **kw)
        finally:
            times["finish: verify"] = times.get("finish: verify", 0.0) + time.perf_counter() - start

    finishing._verify = timed_verify

    def step(name: str, fn: Any, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kw)
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
        return result

    stores = step("list_stores", list_stores, None, config=cfg)
    assert stores == [STORE], stores
    step("preflight", preflight, STORE, client=client, config=cfg)
    step("pull_export", pull_export, STORE, DAG_ID, run_id, config=cfg)
    step("validate", validate, STORE, DAG_ID, run_id, client=client, config=cfg)
    planned = step("plan", plan, STORE, DAG_ID, run_id, client=client, config=cfg)
    chunks = step("collect_chunks", collect_chunks, DAG_ID, run_id, config=cfg)

    def push_one(chunk: dict[str, Any]) -> None:
        while push_chunk(chunk, client=client, config=cfg) is None:  # the lock busy: poke again, as
            time.sleep(0.2)  # the reschedule-mode sensor does (a waiting chunk must not be dropped)

    def push_all() -> None:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for _ in pool.map(push_one, chunks):
                pass

    step("push_chunk", push_all)
    try:
        summary = step("finish", finishing.finish, STORE, DAG_ID, run_id, client=client, config=cfg)
    finally:
        finishing._verify = verify
    after = counter.snapshot()
    calls = after[0] - before[0]
    throttled = after[1] - before[1]
    return {"times": times, "planned": planned, "chunks": len(chunks), "summary": summary, "calls": calls,
            "throttled": throttled}


def report(title: str, result: dict[str, Any], changed: dict[str, set[int]], wrong: int) -> dict[str, Any]:
    times, calls = result["times"], result["calls"]
    total = sum(v for k, v in times.items() if k != "finish: verify")
    n_changed = len(set().union(*changed.values()))
    print(f"\n== {title}: {n_changed:,} changed products "
          f"({len(changed['price']):,} price, {len(changed['inventory']):,} stock) ==")
    print(f"{'step':16}{'seconds':>10}")
    for name, seconds in times.items():
        print(f"{name:16}{seconds:10.2f}" if name != "finish: verify" else f"  of which verification{seconds:6.2f}")
    print(f"{'total':16}{total:10.2f}")
    counts = result["summary"].get("counts") or {}
    print(f"status {result['summary'].get('status')}; confirmed {counts.get('confirmed', 0)}, failed "
          f"{counts.get('failed', 0)}, open {counts.get('open', 0)}; products differing from the export "
          f"afterwards: {wrong}")
    reads = {k.removeprefix("aliexpress.").removeprefix("solution."): v for k, v in sorted(calls.items())
             if k not in WRITE_APIS}
    print("read/other HTTP requests: " + ", ".join(f"{k} {v}" for k, v in reads.items()))
    throttled = sum(v for k, v in result["throttled"].items() if k not in WRITE_APIS)
    if throttled:
        print(f"read requests answered ApiCallLimit (then retried by the client): {throttled}")
    print(f"{'write calls':16}{'requests':>10}{'throttled':>11}{'minimum':>9}{'ratio':>8}{'ratio w/o throttled':>21}"
          "   (goal 1.00)")
    rows = []
    for api, kind in WRITE_APIS.items():
        planned = int(result["planned"].get(kind, 0))
        minimum = planned if kind == "edit" else math.ceil(planned / 20)
        rows.append((kind, calls.get(api, 0), result["throttled"].get(api, 0), minimum))
    rows.append(("all", *(sum(r[i] for r in rows) for i in (1, 2, 3))))
    for kind, made, throttled_calls, minimum in rows:
        if made or minimum:
            ratio = made / minimum if minimum else float("inf")
            net = (made - throttled_calls) / minimum if minimum else float("inf")
            print(f"{kind:16}{made:10}{throttled_calls:11}{minimum:9}{ratio:8.2f}{net:21.2f}")
    per = total / n_changed if n_changed else float("nan")
    print(f"end-to-end per changed product: {per * 1000:.1f} ms vs manual {MANUAL_S_PER_PRODUCT:.2f} s "
          f"= 1/{MANUAL_S_PER_PRODUCT / per:,.0f} of the manual time (goal <= 1/100, i.e. <= "
          f"{MANUAL_S_PER_PRODUCT * 10:.1f} ms) -> {'MET' if per <= MANUAL_S_PER_PRODUCT / 100 else 'NOT MET'}")
    return {"seconds": total, "verify_seconds": times.get("finish: verify", 0.0), "calls": sum(calls.values()),
            "reads": sum(v for k, v in calls.items() if k not in WRITE_APIS),
            "writes": sum(v for k, v in calls.items() if k in WRITE_APIS),
            "info_reads": calls.get("aliexpress.solution.product.info.get", 0),
            "list_calls": calls.get("aliexpress.solution.product.list.get", 0),
            "changed": n_changed, "per_changed": per, "wrong": wrong,
            "planned": {k: int(v) for k, v in result["planned"].items()}}


def floor_of_first_run(products: int, planned: dict[str, int], qps: float, sample: int) -> tuple[int, float, int]:
    """The API calls a first run cannot avoid, and their time at the store's QPS: the catalog's list pages (99
    products a call; one call for each of the three other, empty statuses) read by the plan and once more by
    verification's timestamp pass, the price and stock writes of every product in calls of 20 (nothing says which
    products differ until they are read, and a write costs a twentieth of a read per product), the edits that
    differ, and verification's SKU-id reads of its page sample (``verify_sample_size``: item pages are keyed by
    SKU ids, which only the product query gives). Also returns those last reads, to show the floor without them."""
    list_pass = math.ceil(products / 99) + 3
    writes = math.ceil(planned.get("price", 0) / 20) + math.ceil(planned.get("inventory", 0) / 20)
    sample_reads = min(sample, products)
    calls = 2 * list_pass + writes + planned.get("edit", 0) + sample_reads
    return calls, calls / qps, sample_reads


def side_by_side(first: dict[str, Any], steady: dict[str, Any], products: int, qps: float) -> None:
    """Both runs in columns, the first run's floor, and the two goal lines (the last two lines printed)."""
    from aeops.config import AeopsConfig

    floor_calls, floor_s, sample_reads = floor_of_first_run(products, first["planned"], qps,
                                                            AeopsConfig().verify_sample_size)
    rows = [("end-to-end seconds", "{:.1f}", "seconds"), ("  of which verification", "{:.1f}", "verify_seconds"),
            ("API calls", "{:,}", "calls"), ("  reads (info.get)", "{:,}", "info_reads"),
            ("  list pages", "{:,}", "list_calls"), ("  writes", "{:,}", "writes"),
            ("changed products", "{:,}", "changed"), ("ms per changed product", "{:.1f}", "per_changed"),
            ("products differing after", "{:,}", "wrong")]
    print(f"\n== first run and steady state side by side ({products:,} products, {qps:g} QPS) ==")
    print(f"{'':28}{'first run':>14}{'steady state':>14}")
    for label, fmt, key in rows:
        scale = 1000 if key == "per_changed" else 1
        print(f"{label:28}{fmt.format(first[key] * scale):>14}{fmt.format(steady[key] * scale):>14}")
    print(f"first run's API floor: {floor_calls:,} calls (list pages twice, price and stock writes of every product "
          f"in calls of 20, edits, verification's {sample_reads} SKU-id reads of its page sample) = {floor_s:.1f} s "
          f"at {qps:g} QPS")
    bare = (floor_calls - sample_reads) / qps
    print(f"(without verification's SKU-id reads: {floor_calls - sample_reads:,} calls = {bare:.1f} s; first run "
          f"{first['seconds'] / bare:.2f}x of that)")
    from aeops.marketplace.client import RATE_HEADROOM

    print(f"(the client paces at {RATE_HEADROOM:.0%} of the QPS, so that arrival jitter is not answered ApiCallLimit: "
          f"at that pace the floor is {floor_s / RATE_HEADROOM:.1f} s, first run "
          f"{first['seconds'] * RATE_HEADROOM / floor_s:.2f}x of it)")
    print(f"first run vs its API floor: {first['seconds'] / floor_s:.2f}x")
    print(f"first run per changed product vs manual: 1/{MANUAL_S_PER_PRODUCT / first['per_changed']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=2, help="SKUs per product")
    parser.add_argument("--changed", type=float, default=0.10, help="share of products changed per run")
    parser.add_argument("--workers", type=int, default=4, help="concurrent push chunks (the API pool's slots)")
    parser.add_argument("--faults", default="latency_ms=120,qps=20")
    parser.add_argument("--qps", type=float, default=20.0, help="the client's per-seller rate limit")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary directory)")
    args = parser.parse_args()

    os.environ.pop("AEOPS_DATABASE_URL", None)  # never touch a configured aeops DB
    from aeops.config import parse_config
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
    from aeops.marketplace import AliExpressClient
    from aeops.marketplace.simulator.state import SimState

    _name, seller_id, token, refresh = DEMO_SELLERS["demo"]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="aeops-bench-sync-"))
    work.mkdir(parents=True, exist_ok=True)
    exports, images, reports = work / "exports", work / "images", work / "reports"
    for folder in (exports, images, reports):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    shutil.copy(ROOT / "include" / "sample" / "images" / "home_mug.jpg", images / "mug.jpg")
    for name in ("aeops.db", "sim-state.db", "sim-state.db-wal", "sim-state.db-shm"):
        (work / name).unlink(missing_ok=True)

    rng = random.Random(5)
    truth1 = catalog(args.products, args.skus, rng)
    marketplace, changed1 = changed_copy(truth1, args.changed, rng)
    now = time.time()
    write_export(exports, "catalog_day1.csv", truth1, now - 3600)
    state = SimState(work / "sim-state.db")
    state.seed_rows(rows_of(marketplace), seller_id=seller_id, images_dir=images)  # mug.jpg into the photobank
    state.close()
    cfg = parse_config({"database_url": f"sqlite:///{work / 'aeops.db'}", "stores": [{
        "name": STORE, "conn_id": "aliexpress_bench", "exports": exports.as_uri(), "images_dir": str(images),
        "reports": reports.as_uri(), "qps": args.qps,
        "export_settle_seconds": 0}]})  # the bench writes each export whole before the run
    proc, url = start_simulator(work / "sim-state.db", args.faults, work / "simulator.log")
    os.environ["AIRFLOW_CONN_ALIEXPRESS_BENCH"] = json.dumps({  # for verification's storefront reader
        "conn_type": "aliexpress", "host": url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": token, "refresh_token": refresh, "seller_id": str(seller_id)}})
    counter = CountingTransport()
    client = AliExpressClient(url, DEMO_APP_KEY, DEMO_APP_SECRET, token, qps=args.qps, seller_id=seller_id,
                              refresh_token=refresh, transport=counter)
    for name in ("aeops", "alembic", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("aeops.notify").setLevel(logging.CRITICAL)  # no Slack here: summaries stay in the outbox
    print(f"catalog: {args.products:,} products x {args.skus} SKUs; simulator faults {args.faults}; client "
          f"{args.qps:g} QPS; {args.workers} push worker(s); work dir {work}", flush=True)
    # A task process has Airflow loaded before the task's first line; here the first connection lookup would
    # import it inside the first run's preflight (2-3 s that no task pays): loaded before the clock starts.
    import airflow.models.connection  # noqa: F401
    import airflow.sdk  # noqa: F401

    from aeops.store import ensure_schema

    ensure_schema(cfg.database_url)  # `make setup` / `aeops db upgrade` migrate the aeops DB before any run

    try:
        first = run_sync("bench__first", cfg, client, counter, args.workers)
        first_m = report("first run (empty aeops DB: list pages, price and stock written blind)", first, changed1,
                         mismatches(url, truth1))
        truth2, changed2 = changed_copy(truth1, args.changed, rng)
        write_export(exports, "catalog_day2.csv", truth2, now)
        second = run_sync("bench__steady", cfg, client, counter, args.workers)
        steady_m = report("steady state (second run, another 10% changed)", second, changed2,
                          mismatches(url, truth2))
        side_by_side(first_m, steady_m, args.products, args.qps)
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
