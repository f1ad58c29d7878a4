"""Simulator fault parsing, storefront view rules and the shared state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeops.marketplace.sim_state import SITES, Faults, SimState, record_write, view


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
