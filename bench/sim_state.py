#!/usr/bin/env python
"""Simulator state at scale: the same calls against the old JSON-file state and the current one.

Seeds ``--products`` products (default 100,000, two SKUs each) into a fresh state file and times, through
``Simulator.handle_sync`` (signature check, token lookup, QPS meter, handler, state; no HTTP, no latency):

* a batch price update of 20 products (``aliexpress.solution.batch.product.price.update``),
* a product list page of 50 (``aliexpress.solution.product.list.get``, random page),
* a product info read (``aliexpress.solution.product.info.get``, random product),
* a storefront page (what verification reads) and, once, seeding.

The "before" side is the simulator of git revision ``--before`` (default 8ebc441, the JSON-file state),
extracted with ``git archive`` into a temporary directory and run in a subprocess whose ``PYTHONPATH`` puts
it ahead of the checkout; the "after" side is the checkout. Prints a table with before/after ratios.

Usage: python bench/sim_state.py [--products 100000] [--writes 10] [--reads 300] [--before REV]
       python bench/sim_state.py --only after          # just time the current code
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_ID = 1005000000000001


def _worker(products: int, writes: int, reads: int) -> dict[str, float]:
    """Run in a subprocess: time the calls against whichever ``aeops`` is first on the path."""
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
    from aeops.marketplace.signing import sign
    from aeops.marketplace.simulator.faults import Faults
    from aeops.marketplace.simulator.protocol import Simulator
    from aeops.marketplace.simulator.state import SimState

    _name, seller_id, token, _refresh = DEMO_SELLERS["demo"]
    rng = random.Random(1)
    rows = [{"product_id": str(FIRST_ID + p), "sku_code": f"P{p}-S{s}", "title": f"Product {p}",
             "price": "20.00", "discount_price": "15.50", "stock": "10", "freight_template_id": "1001",
             "main_image": f"https://img.example/{p}.jpg"} for p in range(products) for s in range(2)]

    def params(api: str, business: dict[str, str]) -> dict[str, str]:
        fields = {"app_key": DEMO_APP_KEY, "method": api, "timestamp": str(int(time.time() * 1000)),
                  "sign_method": "sha256", "session": token, **business}
        fields["sign"] = sign(DEMO_APP_SECRET, api, fields)
        return fields

    def timed(make, calls: int) -> float:  # noqa: ANN001 - make() -> params
        batch = [make() for _ in range(calls)]
        start = time.perf_counter()
        for fields in batch:
            body = sim.handle_sync(fields, {})
            assert "error_response" not in body, body
        return (time.perf_counter() - start) / calls

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        state = SimState(Path(tmp) / "state.json")
        state.seed_rows(rows, seller_id=seller_id)
        seed_s = time.perf_counter() - start
        del rows
        sim = Simulator(state, Faults())

        def price_update() -> dict[str, str]:
            pids = rng.sample(range(products), 20)
            entries = [{"product_id": FIRST_ID + p, "multiple_sku_update_list": [
                {"sku_code": f"P{p}-S{s}", "price": f"{rng.randint(20, 90)}.00", "discount_price": "15.50"}
                for s in range(2)]} for p in pids]
            return params("aliexpress.solution.batch.product.price.update",
                          {"mutiple_product_update_list": json.dumps(entries, separators=(",", ":"))})

        def list_page() -> dict[str, str]:
            query = {"product_status_type": "onSelling", "page_size": 50,
                     "current_page": rng.randint(1, max(1, products // 50))}
            return params("aliexpress.solution.product.list.get",
                          {"aeop_a_e_product_list_query": json.dumps(query, separators=(",", ":"))})

        def info() -> dict[str, str]:
            return params("aliexpress.solution.product.info.get",
                          {"product_id": str(FIRST_ID + rng.randrange(products))})

        result = {"seed (whole catalog)": seed_s, "batch price update (20 products)": timed(price_update, writes),
                  "list page (50 products)": timed(list_page, reads), "info read (1 product)": timed(info, reads)}
        start = time.perf_counter()
        for _ in range(reads):
            assert sim.storefront("en", FIRST_ID + rng.randrange(products), "desktop")
        result["storefront page (1 product)"] = (time.perf_counter() - start) / reads
        return result


def _run_side(label: str, pythonpath: str | None, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, __file__, "--worker", "--products", str(args.products), "--writes", str(args.writes),
           "--reads", str(args.reads)]
    print(f"timing {label} ...", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:10.3f} ms" if seconds < 10 else f"{seconds:10.1f} s "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=10, help="batch price updates to time")
    parser.add_argument("--reads", type=int, default=300, help="list pages / info reads / storefront pages to time")
    parser.add_argument("--before", default="8ebc441", help="git revision of the 'before' simulator")
    parser.add_argument("--only", choices=["before", "after"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.products, args.writes, args.reads)))
        return

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "after":
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "include/aeops"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            results["before"] = _run_side(f"before ({args.before})", str(Path(tmp) / "include"), args)
        if args.only != "before":
            results["after"] = _run_side("after (checkout)", None, args)
    print(f"simulator state, {args.products:,} products x 2 SKUs; per call through Simulator.handle_sync "
          f"(no HTTP, no latency)")
    sides = list(results)
    header = f"{'operation':36}" + "".join(f"{s:>14}" for s in sides)
    print(header + ("   before/after" if len(sides) == 2 else ""))
    for op in results[sides[0]]:
        line = f"{op:36}" + "".join(f"{_fmt(results[s][op]):>14}" for s in sides)
        if len(sides) == 2:
            line += f"   {results['before'][op] / results['after'][op]:12.1f}x"
        print(line)


if __name__ == "__main__":
    main()
