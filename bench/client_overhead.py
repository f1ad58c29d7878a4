#!/usr/bin/env python
"""Per-call overhead of AliExpressClient (signing, encoding, rate limiter, retry wrapper, parsing).

Starts the simulator on a free loopback port (no faults, no latency) and times, in the same run:

1. baseline: a bare ``httpx.Client.post`` of one pre-signed ``product.info.get`` form to ``/sync``
   (the same endpoint, the same server work), plus ``json.loads`` of the answer;
2. ``AliExpressClient.get_product`` (signs and encodes every call, rate limiter at a QPS that never waits,
   tenacity wrapper, typed parsing with exact ints and Decimal prices);
3. the client's work alone without the network: ``build_request`` + parsing a captured answer.

Prints a table with per-call times and the ratio to the baseline.
Usage: python bench/client_overhead.py [--calls 2000] [--skus 20]
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
import uvicorn

from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
from aeops.marketplace import AliExpressClient
from aeops.marketplace.simulator.app import create_app
from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.state import SimState

PID = 1005000000000001


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(fn, calls: int) -> float:  # noqa: ANN001
    for _ in range(min(50, calls)):  # warm-up
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=20)
    args = parser.parse_args()

    _name, seller_id, token, _refresh = DEMO_SELLERS["demo"]
    with tempfile.TemporaryDirectory() as tmp:
        state = SimState(Path(tmp) / "state.json")
        state.seed_rows([{"product_id": str(PID), "sku_code": f"S{i}", "title": "Bench", "price": "10.00",
                          "discount_price": "9.00", "stock": "5"} for i in range(args.skus)])
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = uvicorn.Server(uvicorn.Config(create_app(state, Faults(), public_url=url), host="127.0.0.1",
                                               port=port, log_level="critical", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        try:
            client = AliExpressClient(url, DEMO_APP_KEY, DEMO_APP_SECRET, token, qps=1e6, seller_id=seller_id)
            api = "aliexpress.solution.product.info.get"
            fields = client.signed_params(api, {"product_id": PID})
            body = urllib.parse.urlencode(list(fields.items())).encode()
            bare = httpx.Client()
            headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}

            def baseline() -> None:
                json.loads(bare.post(f"{url}/sync", content=body, headers=headers).content)

            captured = bare.post(f"{url}/sync", content=body, headers=headers).content
            assert b"error_response" not in captured, captured[:200]

            def offline() -> None:
                client.build_request(api, {"product_id": PID})
                payload = json.loads(captured)
                client._product_from(payload[api.replace(".", "_") + "_response"]["result"])

            t_bare = _timed(baseline, args.calls)
            t_client = _timed(lambda: client.get_product(PID), args.calls)
            t_offline = _timed(offline, args.calls)
            client.close()
            bare.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    rows = [("bare httpx POST + json.loads (baseline)", t_bare),
            ("AliExpressClient.get_product", t_client),
            ("client work only (sign+encode+parse, no I/O)", t_offline)]
    print(f"client overhead: {args.calls} calls of {api} with {args.skus} SKUs, simulator on loopback")
    print(f"{'measurement':<48} {'per call':>12} {'ratio':>8}")
    print("-" * 70)
    for label, seconds in rows:
        print(f"{label:<48} {seconds * 1e6:>9.0f} us {seconds / t_bare:>7.2f}x")
    print("-" * 70)
    print(f"added per call by the client: {(t_client - t_bare) * 1e6:.0f} us "
          f"({(t_client / t_bare - 1) * 100:.1f}% over the bare request)")


if __name__ == "__main__":
    main()
