"""Store settings as code: the simulator's store page and its test hook, the page parser, the comparison
(name, logo and banners by perceptual hash, response time), Information Accuracy, the settings validation."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aeops.config import ConfigError, load_config
from aeops.marketplace.simulator.app import create_app
from aeops.marketplace.simulator.profiles import make_profile
from aeops.marketplace.simulator.state import SimState
from aeops.marketplace.store_page import DEVICES, parse_store_page
from aeops.storefront.page_compare import compare, load_approved
from tests.unit.rules.detector_images import logo, png, product

SELLER, STORE_NUM = 2000000001, 910000001


@pytest.fixture
def sim(tmp_path: Path) -> TestClient:
    return TestClient(create_app(SimState(tmp_path / "sim.db"), public_url="http://testserver"))


def pages(sim: TestClient):
    out = {}
    for device in DEVICES:
        url = f"http://testserver/store/{STORE_NUM}?device={device}"
        out[device] = parse_store_page(sim.get(url).text, device, url)
    return out


def fetcher(sim: TestClient):
    return lambda url: sim.get(url.replace("http://testserver", "")).content


def store(tmp_path: Path, **settings):
    (tmp_path / "logo.png").write_bytes(png(logo()))
    (tmp_path / "banner.png").write_bytes(png(product(size=1200)))
    cfg = load_config({"stores": [{"name": "demo", "store_num": STORE_NUM, "store_name": "Demo Official Store",
                                   "store_logo": str(tmp_path / "logo.png"),
                                   "store_banners": [str(tmp_path / "banner.png")], "response_time_hours": 24,
                                   **settings}]})
    return cfg.store("demo")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_store_page_that_shows_every_setting_is_100_percent_accurate(sim, tmp_path) -> None:
    st = store(tmp_path)
    sim.post(f"/_sim/store/{SELLER}", json={"name": "Demo  Official Store", "logo_b64": b64(png(logo())),
                                            "banners_b64": [b64(png(product(size=1200)))],
                                            "response_time_hours": 12})
    result = compare(st, pages(sim), fetcher(sim), load_approved(st))
    assert (result.matched, result.tracked, result.accuracy, result.differences) == (4, 4, 1.0, [])


def test_each_difference_is_named_with_the_device_that_shows_it(sim, tmp_path) -> None:
    st = store(tmp_path)
    other_logo = io.BytesIO()
    logo(text="SALE").save(other_logo, "PNG")
    sim.post(f"/_sim/store/{SELLER}", json={"name": "Demo Official Store", "logo_b64": b64(png(logo())),
                                            "banners_b64": [], "response_time_hours": 48})
    sim.post(f"/_sim/store/{SELLER}", json={"device": "mobile", "name": "Old Name",
                                            "logo_b64": b64(png(product()))})
    result = compare(st, pages(sim), fetcher(sim), load_approved(st))
    assert result.tracked == 4 and result.matched == 0 and result.accuracy == 0
    text = "\n".join(result.differences)
    assert "store name: mobile shows 'Old Name' (want 'Demo Official Store')" in text
    assert "logo: mobile shows another logo" in text and "desktop" not in text.split("logo:")[1].split("\n")[0]
    assert "banner: desktop shows 0 banner(s) instead of 1" in text
    assert "response time: desktop shows 48 h" in text and "(want at most 24 h)" in text


def test_settings_the_store_page_does_not_carry_cannot_be_checked_and_are_no_difference(tmp_path) -> None:
    """The documented profile's store page (and, as far as public samples show, the real one) has no banners and
    no response time: those settings are "cannot be checked here", left out of the accuracy, never a task."""
    documented = create_app(SimState(tmp_path / "sim.db"), public_url="http://testserver",
                            profile=make_profile("documented"))
    sim = TestClient(documented)
    st = store(tmp_path)
    sim.post(f"/_sim/store/{SELLER}", json={"name": "Demo Official Store", "logo_b64": b64(png(logo())),
                                            "banners_b64": [], "response_time_hours": 48})
    result = compare(st, pages(sim), fetcher(sim), load_approved(st))
    assert (result.matched, result.tracked, result.accuracy, result.differences) == (2, 2, 1.0, [])
    assert result.not_checkable == ["banner", "response time"]
    assert result.to_dict()["fields"]["banners"]["checkable"] is False
    sim.post(f"/_sim/store/{SELLER}", json={"name": "Old Name"})  # what the page does show is still compared
    result = compare(st, pages(sim), fetcher(sim), load_approved(st))
    assert result.differences == ["store name: desktop shows 'Old Name'; mobile shows 'Old Name'; anonymous shows "
                                  "'Old Name' (want 'Demo Official Store')"]


def test_an_unreadable_page_counts_as_a_difference_on_that_device(tmp_path) -> None:
    from aeops.marketplace.store_page import StorePageView

    st = store(tmp_path, store_banners=[], store_logo="")
    views = {d: StorePageView(d, "u", name="Demo Official Store", response_time_hours=1) for d in DEVICES}
    views["anonymous"] = StorePageView("anonymous", "u", error="HTTP 503")
    result = compare(st, views, lambda url: b"", {})
    assert result.matched == 0 and "anonymous shows nothing (page unreadable: HTTP 503)" in result.differences[0]


def test_the_store_page_embeds_the_real_pages_store_module_fields(sim) -> None:
    text = sim.get(f"/store/{STORE_NUM}?device=desktop").text
    assert "window.runParams = " in text and '"storeModule"' in text
    view = parse_store_page(text, "desktop", f"http://testserver/store/{STORE_NUM}")
    assert view.raw["storeNum"] == STORE_NUM and view.raw["storeURL"] == f"//www.aliexpress.com/store/{STORE_NUM}"
    assert view.raw["sellerAdminSeq"] == SELLER and view.name == "demo store"
    assert sim.get("/store/1?device=desktop").status_code == 404
    assert sim.post(f"/_sim/store/{SELLER}", json={"colour": "red"}).status_code == 400


@pytest.mark.parametrize("settings, message", [
    ({"response_time_hours": 0}, "response_time_hours"),
    ({"response_time_hours": 100}, "response_time_hours"),
    ({"store_name": "x" * 65}, "store_name"),
    ({"store_num": -1}, "store_num"),
])
def test_store_settings_are_validated(settings, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"stores": [{"name": "demo", **settings}]})
