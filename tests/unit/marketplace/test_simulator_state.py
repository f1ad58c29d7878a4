"""Simulator fault parsing, storefront view rules and the shared state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeops.marketplace.simulator.faults import SITES, Faults
from aeops.marketplace.simulator.products import record_write, view
from aeops.marketplace.simulator.state import SimState


def test_fault_spec_parses_every_knob() -> None:
    f = Faults.parse("throttle=0.1,item_fail=0.05,server_error=0.02,lost_response=0.01,stale_site=0.05,"
                     "propagation_s=2,latency_ms=120,qps=20,never_device=mobile,daily_quota=5000,seed=7")
    assert (f.throttle, f.qps, f.never_device, f.seed, f.propagation_s) == (0.1, 20, "mobile", 7, 2)


@pytest.mark.parametrize("spec", ["throttle=2", "bogus=1", "never_device=fridge", "qps=fast", "throttle"])
def test_bad_fault_spec_is_one_clear_error(spec: str) -> None:
    with pytest.raises(ValueError, match="fault"):
        Faults.parse(spec)


def _product() -> dict:
    product = {"product_id": 1, "seller_id": 2, "subject": "T", "freight_template_id": 1001,
               "gmt_create_ms": 1000, "gmt_modified_ms": 1000,
               "skus": [{"sku_code": "A", "price": "10", "discount_price": None, "stock": 1}]}
    product["versions"] = []
    record_write(product, 1000)
    product["skus"][0]["price"] = "12"
    record_write(product, 5000)
    return product


def test_views_follow_propagation_and_never_device() -> None:
    product = _product()
    faults = Faults.parse("propagation_s=2,never_device=mobile")
    assert view(product, "en", "desktop", faults, 6000)["skus"][0]["price"] == "10"
    assert view(product, "en", "desktop", faults, 7000)["skus"][0]["price"] == "12"
    assert view(product, "en", "mobile", faults, 10**12)["skus"][0]["price"] == "10"


def test_stale_sites_are_deterministic_per_seed() -> None:
    product = _product()
    faults = Faults.parse("stale_site=0.5,seed=3")
    stale = [s for s in SITES if view(product, s, "desktop", faults, 10**12)["skus"][0]["price"] == "10"]
    assert stale == [s for s in SITES if Faults.parse("stale_site=0.5,seed=3").is_stale(1, s)]
    assert Faults.parse("stale_site=1").is_stale(1, "en") and not Faults().is_stale(1, "en")


def test_state_file_is_shared_between_instances(tmp_path: Path) -> None:
    a, b = SimState(tmp_path / "s.json"), SimState(tmp_path / "s.json")
    a.seed_rows([{"product_id": "9007199254740993", "sku_code": "X", "title": "t", "price": "1.10",
                  "stock": "3"}])
    product = b.read()["products"]["9007199254740993"]
    assert product["product_id"] == 9007199254740993 and product["skus"][0]["price"] == "1.10"
    assert b.read()["sellers"]["2000000001"]["freight_templates"][0]["template_id"] == 1001


# ---------------------------------------------------------------------- the SQLite state at scale
def _rows(n: int, first: int = 1005000000000001, seller: int | None = None) -> list[dict]:
    rows = [{"product_id": str(first + p), "sku_code": f"P{p}", "title": f"Product {p}", "price": "10.00",
             "stock": "5"} for p in range(n)]
    if seller is not None:
        for row in rows:
            row["seller_id"] = str(seller)
    return rows


def test_list_products_pages_filters_and_counts(tmp_path: Path) -> None:
    state = SimState(tmp_path / "s.db")
    state.seed_rows(_rows(7))
    state.seed_rows(_rows(2, first=2005000000000001), seller_id=2000000002)
    with state.write() as tx:
        product = tx.product(1005000000000004)
        product["status"] = "offline"
        record_write(product, product["gmt_modified_ms"] + 60_000)
    total, page = state.list_products(2000000001, "onSelling", offset=3, limit=3)
    assert total == 6 and [p["product_id"] for p in page] == [1005000000000005, 1005000000000006, 1005000000000007]
    total, page = state.list_products(2000000001, "offline", modified_from=product["gmt_modified_ms"])
    assert total == 1 and page[0]["product_id"] == 1005000000000004
    assert state.list_products(2000000001, "onSelling", product_id=1005000000000001)[0] == 1
    assert state.list_products(2000000002, "onSelling")[0] == 2


def test_a_failed_write_changes_nothing(tmp_path: Path) -> None:
    state = SimState(tmp_path / "s.db")
    state.seed_rows(_rows(2))
    with pytest.raises(RuntimeError), state.write() as tx:
        tx.product(1005000000000001)["skus"][0]["price"] = "99.00"
        raise RuntimeError("handler failed half-way")
    assert state.product(1005000000000001)["skus"][0]["price"] == "10.00"


def test_concurrent_writers_in_two_processes_lose_no_update(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "s.db"
    SimState(path).seed_rows(_rows(1))
    writers = [SimState(path), SimState(path)]  # separate connections, as two simulator processes have

    def bump(state: SimState) -> None:
        for _ in range(50):
            with state.write() as tx:
                tx.product(1005000000000001)["skus"][0]["stock"] += 1

    threads = [threading.Thread(target=bump, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert SimState(path).product(1005000000000001)["skus"][0]["stock"] == 105


def test_whole_state_transaction_adds_changes_and_removes(tmp_path: Path) -> None:
    state = SimState(tmp_path / "s.db")
    state.seed_rows(_rows(3))
    with state.transaction() as data:
        del data["products"]["1005000000000001"]
        data["products"]["1005000000000002"]["subject"] = "Renamed"
        data["sellers"]["2000000001"]["account_status"] = "frozen"
        data["photobank"].append({"seller_id": 2000000001, "file_name": "a.jpg", "url": "u", "size": 3})
    data = SimState(tmp_path / "s.db").read()
    assert sorted(data["products"]) == ["1005000000000002", "1005000000000003"]
    assert data["products"]["1005000000000002"]["subject"] == "Renamed"
    assert data["sellers"]["2000000001"]["account_status"] == "frozen"
    assert data["photobank"][0]["file_name"] == "a.jpg"


def test_old_json_state_file_is_converted(tmp_path: Path) -> None:
    import json

    from aeops.marketplace.simulator.products import default_state, products_from_rows

    old = default_state()
    old["products"] = products_from_rows(_rows(2), 2000000001, 1000)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(old))
    data = SimState(path).read()
    assert sorted(data["products"]) == ["1005000000000001", "1005000000000002"]
    assert data["sellers"].keys() == old["sellers"].keys()
    assert path.read_bytes().startswith(b"SQLite format 3")


def test_not_a_state_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a simulator state file"):
        SimState(path)


def test_a_deleted_state_file_starts_fresh_even_if_its_wal_remains(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "state.json"
    state = SimState(path)
    state.seed_rows(_rows(2))
    for suffix in ("-wal", "-shm"):  # what a killed simulator leaves behind
        if Path(f"{path}{suffix}").exists():
            shutil.copy(f"{path}{suffix}", tmp_path / f"keep{suffix}")
    state.close()
    path.unlink()
    for suffix in ("-wal", "-shm"):
        if (tmp_path / f"keep{suffix}").exists():
            shutil.copy(tmp_path / f"keep{suffix}", f"{path}{suffix}")
    assert SimState(path).read()["products"] == {}


@pytest.mark.parametrize("spec", ["", "propagation_s=2", "never_device=mobile", "stale_site=0.4,seed=2"])
def test_completion_shortcut_matches_checking_every_view(tmp_path: Path, spec: str) -> None:
    from aeops.marketplace.simulator.faults import DEVICES

    state = SimState(tmp_path / "s.db")
    state.seed_rows(_rows(12))
    faults = Faults.parse(spec)
    with state.write() as tx:
        for n, product in enumerate(tx.products(range(1005000000000001, 1005000000000013))):
            product = tx.product(product)
            if n % 3:
                record_write(product, 10_000 + n * 1000)
    at = 16_000
    products = state.read()["products"].values()
    expected = sorted(p["product_id"] for p in products if p["seller_id"] == 2000000001 and any(
        view(p, site, device, faults, at)["gmt_modified_ms"] != p["gmt_modified_ms"]
        for site in SITES for device in DEVICES))
    assert state.incomplete_products(2000000001, faults, at) == (12, expected)
