"""Qualifications over real HTTP: the category list, the product's struct list (read and written), an expired
certificate taking a category's products offline and a valid new image bringing them back after a delay."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
from conftest import SELLER_ID, RunningSimulator, sample_rows
from PIL import Image

from aeops.marketplace.models import Qualification
from aeops.marketplace.simulator.products import now_ms

PID = 9007199254740993
CPC = "item_US_CPC_certificate"
Factory = Callable[..., RunningSimulator]
ClientFactory = Callable[..., Any]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 1700), "white").save(out, "JPEG")
    return out.getvalue()


def rows() -> list[dict[str, Any]]:
    out = sample_rows(2)  # toys, brand Acme
    out += [{**r, "product_id": str(int(r["product_id"]) + 100), "category": "electronics"} for r in sample_rows(1)]
    return out


def expire(sim: RunningSimulator, category: str, cert: str, brand: str | None = None) -> list[int]:
    answer = httpx.post(f"{sim.url}/_sim/qualifications/{SELLER_ID}/expire", json={"category": category,
                                                                                   "cert": cert, "brand": brand},
                        timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["offline"]


def restore_delay_passes(sim: RunningSimulator, *product_ids: int) -> None:
    with sim.state.write() as tx:
        for product in tx.products(product_ids).values():
            if product.get("qualification_restore"):
                product["qualification_restore"]["due_ms"] = now_ms()


def test_category_qualifications_in_english_and_chinese(simulator: RunningSimulator,
                                                        make_client: ClientFactory) -> None:
    client = make_client(simulator)
    toys = client.category_qualifications("toys")
    assert [(q.key, q.type, q.required) for q in toys] == [(CPC, "image", True)]
    electronics = client.category_qualifications(44, locale="zh_CN")
    assert {q.key for q in electronics} == {"item_EU_CE_certificate", "item_US_FCC_certificate"}
    assert any("CE" in q.label and "证书" in q.label for q in electronics)
    assert client.category_qualifications("home") == []


def test_struct_list_is_written_by_the_edit_and_read_by_the_query(simulator_factory: Factory,
                                                                  make_client: ClientFactory) -> None:
    sim = simulator_factory(rows=rows())
    client = make_client(sim)
    assert client.get_product(PID).qualifications == []
    url = client.upload_image("Acme_CPC_20280101.jpg", jpeg()).photobank_url
    outcome = client.set_qualifications(PID, [Qualification(CPC, "image", url)])
    assert outcome.status == "success"
    product = client.get_product(PID)
    assert product.qualification(CPC) == Qualification(CPC, "image", url)
    assert product.status == "onSelling"
    # a key of another category, a PDF, and an image that is not in the photobank are refused
    for entry in (Qualification("item_EU_CE_certificate", "image", url),
                  Qualification(CPC, "image", url.replace(".jpg", ".pdf")),
                  Qualification(CPC, "image", "https://elsewhere.example/cert.jpg")):
        refused = client.set_qualifications(PID, [entry])
        assert refused.status == "failed" and refused.error_code == "F00-00-10007-030"
    assert client.get_product(PID).qualification(CPC).value == url


def test_an_expired_certificate_delists_the_category_until_a_valid_image_is_attached(
        simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory(rows=rows())
    client = make_client(sim)
    old = client.upload_image("Acme_CPC_20261215.jpg", jpeg()).photobank_url
    client.set_qualifications(PID, [Qualification(CPC, "image", old)])

    assert expire(sim, "toys", "CPC") == [PID, PID + 1]
    product = client.get_product(PID)
    assert product.status == "offline" and product.offline_reason.startswith("qualification_expired")
    assert client.get_product(PID + 100).status == "onSelling"  # electronics are not touched
    assert {p.product_id for p in client.iter_products(["offline"])} == {PID, PID + 1}

    # the expired image again: still offline, nothing scheduled
    client.set_qualifications(PID, [Qualification(CPC, "image", old)])
    restore_delay_passes(sim, PID)
    assert client.get_product(PID).status == "offline"

    new = client.upload_image("Acme_CPC_20281215.jpg", jpeg()).photobank_url
    for pid in (PID, PID + 1):
        assert client.set_qualifications(pid, [Qualification(CPC, "image", new)]).status == "success"
    assert client.get_product(PID).status == "offline"  # the platform takes its time (qualification_s)
    restore_delay_passes(sim, PID, PID + 1)
    for pid in (PID, PID + 1):
        product = client.get_product(pid)
        assert product.status == "onSelling" and product.offline_reason is None
        assert product.qualification(CPC).value == new


def test_restoration_waits_for_the_configured_delay(simulator_factory: Factory, make_client: ClientFactory) -> None:
    sim = simulator_factory("qualification_s=3600", rows=rows())
    client = make_client(sim)
    expire(sim, "toys", "CPC")
    new = client.upload_image("Acme_CPC_20281215.jpg", jpeg()).photobank_url
    client.set_qualifications(PID, [Qualification(CPC, "image", new)])
    due = sim.state.product(PID)["qualification_restore"]["due_ms"]
    assert 3500_000 < due - now_ms() <= 3600_000
    assert client.get_product(PID).status == "offline"


def test_an_expiry_of_one_brand_leaves_the_other_brands_on_sale(simulator_factory: Factory) -> None:
    other = [{**r, "product_id": str(int(r["product_id"]) + 200), "brand": "Other"} for r in sample_rows(1)]
    sim = simulator_factory(rows=rows() + other)
    assert expire(sim, "toys", "CPC", brand="acme") == [PID, PID + 1]
    assert sim.state.product(PID + 200)["status"] == "onSelling"
    bad = httpx.post(f"{sim.url}/_sim/qualifications/{SELLER_ID}/expire", json={"category": "home", "cert": "CPC"})
    assert bad.status_code == 400 and "no qualification" in bad.json()["error"]
