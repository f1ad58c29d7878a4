"""A real simulator over HTTP for integration tests: uvicorn in a thread on a free loopback port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
from aeops.marketplace import AliExpressClient
from aeops.marketplace.simulator.app import create_app
from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.profiles import PROFILE_ENV, make_profile
from aeops.marketplace.simulator.state import SimState

SELLER_ID = DEMO_SELLERS["demo"][1]
ACCESS_TOKEN = DEMO_SELLERS["demo"][2]
REFRESH_TOKEN = DEMO_SELLERS["demo"][3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningSimulator:
    """The simulator in ``profile`` (default: ``$AEOPS_SIMULATOR_PROFILE``, else ``rich``)."""

    def __init__(self, state: SimState, faults: Faults, profile: str | None = None,
                 token_ttl_s: float | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.profile = make_profile(profile or os.environ.get(PROFILE_ENV), token_ttl_s=token_ttl_s)
        self.app = create_app(state, faults, public_url=self.url, profile=self.profile)
        self.state = state
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def sim(self) -> Any:
        return self.app.state.sim

    def __enter__(self) -> RunningSimulator:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def catalog(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sim/state", params={"views": "false"}, timeout=10).json()


def sample_rows(n_products: int = 3, skus: int = 2, first_id: int = 9007199254740993) -> list[dict[str, Any]]:
    """Canonical export rows; the first id is above 2**53 to prove ids stay exact."""
    rows = []
    for p in range(n_products):
        for s in range(skus):
            rows.append({"product_id": str(first_id + p), "sku_code": f"P{p}-S{s}", "title": f"Product {p}",
                         "price": "20.00", "discount_price": "15.50", "stock": "10",
                         "freight_template_id": "1001", "category": "toys", "brand": "Acme",
                         "main_image": f"https://img.example/{p}.jpg"})
    return rows


@pytest.fixture
def simulator_factory(tmp_path: Path) -> Iterator[Callable[..., RunningSimulator]]:
    """Start simulators with given faults/seed rows/profile; all are stopped at the end of the test."""
    started: list[RunningSimulator] = []

    def start(faults: str = "", rows: list[dict[str, Any]] | None = None, profile: str | None = None,
              token_ttl_s: float | None = None) -> RunningSimulator:
        state = SimState(tmp_path / f"sim-{len(started)}.json")
        state.seed_rows(sample_rows() if rows is None else rows)
        sim = RunningSimulator(state, Faults.parse(faults), profile, token_ttl_s).__enter__()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.__exit__()


@pytest.fixture
def simulator(simulator_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    return simulator_factory()


@pytest.fixture
def make_client() -> Iterator[Callable[..., AliExpressClient]]:
    clients: list[AliExpressClient] = []

    def make(sim: RunningSimulator, **kw: Any) -> AliExpressClient:
        options: dict[str, Any] = {"seller_id": SELLER_ID, "refresh_token": REFRESH_TOKEN, "qps": 1000,
                                   "backoff_initial": 0.01, "backoff_max": 0.05, "timeout": 10}
        options.update(kw)
        client = AliExpressClient(sim.url, options.pop("app_key", DEMO_APP_KEY),
                                  options.pop("app_secret", DEMO_APP_SECRET),
                                  options.pop("access_token", ACCESS_TOKEN), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
