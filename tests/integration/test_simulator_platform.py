"""The simulator where a seller gets hurt, over real HTTP: photobank URLs, the review of new main images, the
completion rate, platform-time timestamps, the merchant profile, freight settings and the call counter."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from conftest import SELLER_ID, RunningSimulator, sample_rows
from PIL import Image

from aeops.marketplace.simulator.products import now_ms

PID = 9007199254740993
Factory = Callable[..., RunningSimulator]
ClientFactory = Callable[..., Any]


def jpeg(size: tuple[int, int] = (800, 800), colour: str = "white", *, dot: str = "red") -> bytes:
    image = Image.new("RGB", size, colour)
    image.paste(Image.new("RGB", (size[0] // 3, size[1] // 3), dot), (size[0] // 3, size[1] // 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def review_time_passes(sim: RunningSimulator, *product_ids: int) -> None:
    """Move the reviews' due time to now (no sleeping through review_s)."""
    with sim.state.write() as tx:
        for product in tx.products(product_ids).values():
            product["review"]["due_ms"] = now_ms()


def test_seeded_images_are_photobank_urls_whose_bytes_the_simulator_serves(simulator_factory: Factory,
                                                                           make_client: ClientFactory,
                                                                           tmp_path: Path) -> None:
    (tmp_path / "mug.jpg").write_bytes(jpeg())
    rows = sample_rows(1)
    for row in rows:
        row["main_image"] = "mug.jpg"
    sim = simulator_factory()
    sim.state.seed_rows(rows, images_dir=tmp_path)
    product = make_client(sim).get_product(PID)
    assert len(product.image_urls) == 1 and "mug.jpg" not in product.image_urls[0]
    assert product.image_urls[0].startswith(f"{sim.url}/kf/S")
    assert httpx.get(product.image_urls[0]).content == (tmp_path / "mug.jpg").read_bytes()
    # SKU ids are the platform's, distinct from the seller's codes
    assert {s.sku_id for s in product.skus} == {"14:193", "14:29"}
    assert product.sku_codes_by_id() == {"14:193": "P0-S0", "14:29": "P0-S1"}


def test_a_new_main_image_is_reviewed_and_an_apparel_grey_backdrop_refused(simulator_factory: Factory,
                                                                           make_client: ClientFactory) -> None:
    rows = sample_rows(3)
    for row in rows:
        if row["product_id"] == str(PID + 1):
            row["category"] = "apparel"
    sim = simulator_factory("review_s=3600", rows, profile="rich")  # the review's reason, the completion rate
    client = make_client(sim)
    good = client.upload_image("white.jpg", jpeg()).photobank_url
    grey = client.upload_image("grey.jpg", jpeg(colour="#b4b4b4")).photobank_url
    small = client.upload_image("small.jpg", jpeg((640, 640))).photobank_url
    assert client.edit_product(PID, {"main_image_urls_list": [good]}).status == "success"
    assert client.edit_product(PID + 1, {"main_image_urls_list": [grey]}).status == "success"
    assert client.edit_product(PID + 2, {"main_image_urls_list": [small]}).status == "success"
    assert {client.get_product(PID + i).status for i in range(3)} == {"auditing"}
    rate = httpx.get(f"{sim.url}/datacenter/{SELLER_ID}/information-update-completion-rate").json()
    assert rate["rate"] == 0.0 and rate["incomplete_product_ids"] == [PID, PID + 1, PID + 2]
    review_time_passes(sim, PID, PID + 1, PID + 2)
    passed, refused, tiny = (client.get_product(PID + i) for i in range(3))
    assert (passed.status, passed.audit_reason) == ("onSelling", None)
    assert refused.status == "editingRequired" and "white background" in refused.audit_reason
    assert tiny.status == "editingRequired" and "640x640" in tiny.audit_reason
    assert passed.image_urls == [good]
    rate = httpx.get(f"{sim.url}/datacenter/{SELLER_ID}/information-update-completion-rate").json()
    assert rate["incomplete_product_ids"] == [PID + 1, PID + 2]  # refused updates are not complete
    # the same image again is no new image: no review; an image not in the photobank is refused outright
    assert client.edit_product(PID, {"main_image_urls_list": [good]}).status == "success"
    assert client.get_product(PID).status == "onSelling"
    outside = client.edit_product(PID, {"main_image_urls_list": ["https://img.example/elsewhere.jpg"]})
    assert (outside.status, outside.error_code) == ("failed", "F00-00-10007-024")


def test_gmt_times_are_platform_times(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory()
    client = make_client(sim)
    modified = sim.catalog()["products"][str(PID)]["gmt_modified_ms"]
    beijing = datetime.fromtimestamp(modified / 1000, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert client.get_product(PID).gmt_modified == beijing
    since = datetime.fromtimestamp(modified / 1000 - 5, UTC)  # aware: sent in the platform's zone
    assert client.list_products(modified_since=since).product_count == 3
    assert client.list_products(modified_since=datetime.fromtimestamp(modified / 1000 + 5, UTC)).product_count == 0
    utc_sim = simulator_factory("platform_tz=UTC")
    assert make_client(utc_sim, platform_tz="UTC").list_products(modified_since=since).product_count == 3


def test_profile_freight_settings_and_call_counts(simulator: RunningSimulator, make_client: ClientFactory) -> None:
    client = make_client(simulator)
    httpx.post(f"{simulator.url}/_sim/calls/reset")
    assert client.merchant_profile().posting_forbidden is False
    simulator.state.set_seller(SELLER_ID, product_posting_forbidden=True)
    assert client.merchant_profile().posting_forbidden is True
    assert [(s.code, s.free) for s in client.freight_settings(1002)] == [("CAINIAO_STANDARD", True)]
    assert [(s.code, s.free) for s in client.freight_settings(1003)] == [("DHL", False)]
    client.get_product(PID)
    calls = httpx.get(f"{simulator.url}/_sim/calls").json()
    assert calls == {"aliexpress.freight.redefining.getfreightsettingbytemplatequery": 2,
                     "aliexpress.solution.merchant.profile.get": 2, "aliexpress.solution.product.info.get": 1}
    assert httpx.post(f"{simulator.url}/_sim/calls/reset").json() == {"ok": True}
    assert httpx.get(f"{simulator.url}/_sim/calls").json() == {}


def test_review_is_settled_even_when_only_pages_are_read(simulator_factory: Factory, make_client: ClientFactory
                                                         ) -> None:
    sim = simulator_factory("review_s=3600")
    client = make_client(sim)
    url = client.upload_image("white.png", jpeg()).photobank_url
    client.edit_product(PID, {"main_image_urls_list": [url]})
    assert httpx.get(f"{sim.url}/store/en/item/{PID}.html").status_code == 200
    assert sim.state.product(PID)["status"] == "auditing"
    review_time_passes(sim, PID)
    assert httpx.get(f"{sim.url}/store/en/item/{PID}.html").status_code == 200
    assert sim.state.product(PID)["status"] == "onSelling" and sim.state.product(PID)["review"]["ended_ms"]
