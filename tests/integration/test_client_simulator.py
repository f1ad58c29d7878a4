"""The client against the simulator over real HTTP: every call, every error shape, faults and recovery."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SELLER_ID, RunningSimulator, free_port, sample_rows
from PIL import Image

from aeops.marketplace import (
    ApiError,
    AuthError,
    QuotaExhausted,
    SignatureError,
    SkuPrice,
    SkuStock,
    Throttled,
)
from aeops.verify.page_reader import parse_item_page

AEOPS = str(Path(sys.executable).with_name("aeops"))  # the installed console script
PID = 9007199254740993  # above 2**53: must stay exact end to end
Factory = Callable[..., RunningSimulator]
ClientFactory = Callable[..., Any]


def sku(sim: RunningSimulator, pid: int, code: str) -> dict[str, Any]:
    product = sim.catalog()["products"][str(pid)]
    return next(s for s in product["skus"] if s["sku_code"] == code)


def test_reads_list_info_freight_standing(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    client = make_client(simulator)
    products = list(client.iter_products(["onSelling"], page_size=2))
    assert [p.product_id for p in products] == [PID, PID + 1, PID + 2]  # two pages, exact ids
    assert client.list_products("offline").products == []
    assert client.list_products(modified_since="2000-01-01 00:00:00").product_count == 3
    assert client.list_products(modified_since="2999-01-01 00:00:00").product_count == 0
    product = client.get_product(PID)
    assert product.product_id == PID and product.freight_template_id == 1001
    assert [(s.sku_code, str(s.price), str(s.discount_price), s.stock) for s in product.skus] == [
        ("P0-S0", "20.00", "15.50", 10), ("P0-S1", "20.00", "15.50", 10)]
    assert [t.template_id for t in client.list_freight_templates()] == [1001, 1002, 1003]
    profile = client.merchant_profile()
    assert profile.posting_forbidden is False and profile.seller_id == SELLER_ID
    simulator.state.set_seller(SELLER_ID, product_posting_forbidden=True)
    assert client.merchant_profile().posting_forbidden is True


def test_price_and_inventory_updates_land_and_discount_is_kept(simulator: RunningSimulator,
                                                              make_client: ClientFactory) -> None:
    client = make_client(simulator)
    report = client.update_prices({PID: [SkuPrice("P0-S0", "18.00", "16.00"), SkuPrice("P0-S1", "19.00")]})
    assert report.outcomes[PID].status == "success"
    assert (sku(simulator, PID, "P0-S0")["price"], sku(simulator, PID, "P0-S0")["discount_price"]) == (
        "18.00", "16.00")
    assert sku(simulator, PID, "P0-S1")["discount_price"] is None  # the platform erases an omitted discount
    report = client.update_inventory({PID + 1: [SkuStock("P1-S0", 0)], 42: [SkuStock("nope", 1)]})
    assert report.outcomes[PID + 1].status == "success" and sku(simulator, PID + 1, "P1-S0")["stock"] == 0
    assert (report.outcomes[42].status, report.outcomes[42].error_code) == ("failed", "F00-00-10007-010")


def test_field_ranges_are_enforced_per_product(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    client = make_client(simulator)
    report = client.update_prices({PID: [SkuPrice("P0-S0", "10", "12")], PID + 1: [SkuPrice("P1-S0", "5")]})
    assert report.outcomes[PID].status == "failed" and "discount_price" in report.outcomes[PID].error_message
    assert report.outcomes[PID + 1].status == "success"
    report = client.update_inventory({PID: [SkuStock("P0-S0", 1_000_000)]})
    assert report.outcomes[PID].status == "failed"


def test_a_21_product_batch_is_split_in_two_calls(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory(rows=sample_rows(21, 1, first_id=1005000000000001))
    client = make_client(sim)
    report = client.update_inventory({1005000000000001 + i: [SkuStock(f"P{i}-S0", 7)] for i in range(21)})
    assert report.calls == 2 and [len(b.outcomes) for b in report.batches] == [20, 1]
    assert len(report.by_status("success")) == 21
    assert {s["stock"] for p in sim.catalog()["products"].values() for s in p["skus"]} == {7}


def test_simulator_rejects_more_than_20_products(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    items = [{"product_id": i, "multiple_sku_update_list": [{"sku_code": "A", "inventory": "1"}]} for i in range(21)]
    with pytest.raises(ApiError, match="at most 20"):
        make_client(simulator).call("aliexpress.solution.batch.product.inventory.update",
                                    {"mutiple_product_update_list": items}, write=True)


def test_edit_photobank_and_token_refresh(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    client = make_client(simulator)
    assert client.edit_product(PID, {"freight_template_id": 1003}).status == "success"
    assert simulator.catalog()["products"][str(PID)]["freight_template_id"] == 1003
    bad = client.edit_product(PID, {"freight_template_id": 4242})
    assert (bad.status, bad.error_code) == ("failed", "090019")
    image = io.BytesIO()
    Image.new("RGB", (800, 800), "white").save(image, "JPEG")
    upload = client.upload_image("main.jpg", image.getvalue(), group_id="g1")
    # the platform's form: .../kf/S + 32 hex + one character + extension, served at that URL
    assert re.fullmatch(re.escape(simulator.url) + r"/kf/S[0-9a-f]{32}[0-9A-Za-z]\.jpg", upload.photobank_url)
    assert upload.width == 800 and httpx.get(upload.photobank_url).content == image.getvalue()
    assert httpx.get(simulator.url + "/kf/S" + "0" * 33 + ".jpg").status_code == 404
    old = client.access_token
    token = client.refresh_access_token()
    assert token.access_token != old and client.access_token == token.access_token
    assert client.get_product(PID).product_id == PID  # the new token works


def test_wrong_secret_is_rejected_with_incomplete_signature(simulator: RunningSimulator,
                                                            make_client: ClientFactory) -> None:
    with pytest.raises(SignatureError) as info:
        make_client(simulator, app_secret="not-the-secret").get_product(PID)
    assert info.value.code == "IncompleteSignature"


def test_stale_timestamp_is_rejected(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    client = make_client(simulator, clock=lambda: time.time() - 7300)
    with pytest.raises(ApiError) as info:
        client.get_product(PID)
    assert info.value.code == "InvalidTimestamp"


def test_error_shapes_rest_and_legacy_top(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    with pytest.raises(AuthError) as info:  # /sync shape
        make_client(simulator, access_token="no-such-token").get_product(PID)
    assert info.value.code == "IllegalAccessToken"
    with pytest.raises(AuthError) as info:  # legacy TOP shape from /rest
        make_client(simulator).refresh_access_token("no-such-refresh-token")
    assert (info.value.code, info.value.sub_code) == ("15", "isv.refresh-token-invalid")
    with pytest.raises(SignatureError) as info:  # /rest top-level shape
        make_client(simulator, app_secret="wrong").refresh_access_token()
    assert info.value.code == "IncompleteSignature"


def test_daily_quota_stops_cleanly(simulator_factory: Factory, make_client: ClientFactory) -> None:
    client = make_client(simulator_factory("daily_quota=2"))
    client.get_product(PID)
    client.get_product(PID)
    with pytest.raises(QuotaExhausted):
        client.get_product(PID)
    assert client.calls == 3


def test_throttling_is_waited_out_and_recovers(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sleeps: list[float] = []
    client = make_client(simulator_factory("throttle=0.5,seed=1"), sleep=sleeps.append, max_attempts=20)
    for _ in range(6):
        assert client.get_product(PID).product_id == PID
    assert sleeps and set(sleeps) == {2.0}  # "ban will last 1 seconds" -> 1 + 1
    with pytest.raises(Throttled):
        make_client(simulator_factory("throttle=1"), sleep=lambda s: None, max_attempts=2).get_product(PID)


def test_simulator_qps_limit_answers_api_call_limit(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory("qps=2")
    fast = make_client(sim, max_attempts=1, qps=1000)
    with pytest.raises(Throttled):
        for _ in range(5):
            fast.get_product(PID)


def test_server_errors_and_item_failures(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory("server_error=0.4,seed=2")
    client = make_client(sim, max_attempts=30)
    for _ in range(5):
        assert client.get_product(PID).product_id == PID
    assert client.calls > 5
    sim = simulator_factory("item_fail=1")
    report = make_client(sim).update_prices({PID: [SkuPrice("P0-S0", "1.00")]})
    assert report.outcomes[PID].status == "failed" and report.outcomes[PID].error_code == "S00-10-10000-001"


def test_lost_response_is_unknown_then_resolved_by_a_re_read(simulator: RunningSimulator,
                                                             make_client: ClientFactory) -> None:
    client = make_client(simulator)
    simulator.sim.faults.lost_response = 1.0
    report = client.update_prices({PID: [SkuPrice("P0-S0", "11.11", "10.00")]})
    assert report.outcomes[PID].status == "unknown" and client.calls == 1  # not blindly re-sent
    simulator.sim.faults.lost_response = 0.0
    reread = client.get_product(PID)
    assert str(next(s for s in reread.skus if s.sku_code == "P0-S0").price) == "11.11"  # it was applied


def test_storefront_views_and_completion_rate(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory("never_device=mobile", profile="rich")  # the completion rate and page times
    client = make_client(sim)
    client.update_prices({PID: [SkuPrice("P0-S0", "30.00", "25.00")]})
    modified = sim.catalog()["products"][str(PID)]["gmt_modified_ms"]
    desktop = httpx.get(f"{sim.url}/store/ru/item/{PID}.html", params={"device": "desktop"}).text
    mobile = httpx.get(f"{sim.url}/store/ru/item/{PID}.html", params={"device": "mobile"}).text
    codes = client.get_product(PID).sku_codes_by_id()
    shown = parse_item_page(desktop, PID, "ru", "desktop", codes)
    stale = parse_item_page(mobile, PID, "ru", "mobile", codes)
    assert shown.skus["P0-S0"].price == "30.00" and shown.last_modified.timestamp() * 1000 == modified
    assert stale.skus["P0-S0"].price == "20.00" and stale.last_modified.timestamp() * 1000 != modified
    health = httpx.get(f"{sim.url}/datacenter/{SELLER_ID}/information-update-completion-rate").json()
    assert health["incomplete_product_ids"] == [PID] and health["rate"] == pytest.approx(2 / 3, abs=1e-5)
    state = httpx.get(f"{sim.url}/_sim/state").json()
    assert state["products"][str(PID)]["views"]["ru/desktop"]["gmt_modified_ms"] == modified
    assert httpx.get(f"{sim.url}/store/xx/item/{PID}.html").status_code == 404


def test_cli_serves_a_seeded_catalog_shared_through_the_state_file(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("product_id,sku_code,title,price,discount_price,stock,freight_template_id,category,brand,"
                      "main_image\n1005006000000001,A-1,Teddy,12.50,,4,1002,toys,Acme,a.jpg\n", encoding="utf-8")
    port = free_port()
    state = tmp_path / "state.json"
    proc = subprocess.Popen([AEOPS, "simulator", "--port", str(port), "--state",
                             str(state), "--seed-from", str(export), "--faults", "latency_ms=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                catalog = httpx.get(f"http://127.0.0.1:{port}/_sim/state?views=false", timeout=2).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.1)
        product = catalog["products"]["1005006000000001"]
        assert (product["freight_template_id"], product["skus"][0]["price"]) == (1002, "12.50")
        assert state.exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_bad_faults_is_one_line_error() -> None:
    proc = subprocess.run([AEOPS, "simulator", "--faults", "nonsense=1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: --faults: bad fault")
