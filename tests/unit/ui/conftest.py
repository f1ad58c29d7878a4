"""The UI plugin's app in-process on a seeded aeops DB, with Airflow's access checks standing in.

``client``: every check allows (a person who may read every DAG's runs); ``grant(*dag_ids)`` then lets the person
read the runs of those DAG ids only (what Airflow's auth manager would answer for them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from aeops.config import load_config
from tests.reporting import seed_store_history, seed_sync_run, store_config

RUN_ID = "manual__2026-11-27T02:00:00+00:00"
DAG = "aliexpress_catalog_sync"
KIDS_DAG = "aliexpress_catalog_sync__demo-kids"  # the daily sync split per store: store demo-kids only
KIDS_RUN_ID = "manual__2026-11-26T02:00:00+00:00"


def _reader(allowed: set[str] | None) -> Callable[[], Callable[[Iterable[str]], set[str]]]:
    return lambda: (lambda ids: set(ids) if allowed is None else set(ids) & allowed)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from fastapi.testclient import TestClient

    import aeops.ui.app as ui
    from aeops.store.ledger import Ledger

    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    stores = [store_config(name, tmp_path / "reports" / name) for name in ("demo", "demo-kids")]
    ledger = Ledger(url)
    for store in stores:
        seed_store_history(ledger, store)
    seed_sync_run(ledger, stores[1], KIDS_RUN_ID, dag_id=KIDS_DAG)
    seed_sync_run(ledger, stores[0], RUN_ID)
    config = load_config({"database_url": url, "stores": [s.model_dump() for s in stores]})
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example:8080")
    monkeypatch.setattr(ui, "current_config", lambda: config)
    ui.app.dependency_overrides = {ui.SEE_WEBSITE: lambda: None, ui.readable_dags: _reader(None)}
    try:
        yield TestClient(ui.app)
    finally:
        ui.app.dependency_overrides = {}


@pytest.fixture
def grant(client) -> Callable[..., None]:
    """``grant("dag_a", ...)``: from now on the person may read the runs of these DAG ids and no other."""
    import aeops.ui.app as ui

    def only(*dag_ids: str) -> None:
        ui.app.dependency_overrides[ui.readable_dags] = _reader(set(dag_ids))

    return only
