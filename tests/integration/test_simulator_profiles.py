"""The simulator's two profiles over real HTTP: ``documented`` answers only what AliExpress documents (no assumed
field aeops could read) and its tokens expire after the documented lifetimes; ``rich`` keeps the assumptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import ACCESS_TOKEN, REFRESH_TOKEN, SELLER_ID, RunningSimulator

from aeops.marketplace import ApiError, AuthError, MerchantProfile
from aeops.marketplace.simulator.products import now_ms
from aeops.marketplace.simulator.profiles import make_profile
from aeops.marketplace.store_page import parse_store_page
from aeops.verify.page_reader import parse_item_page

PID = 9007199254740993
DAY_MS = 86_400_000
Factory = Callable[..., RunningSimulator]
ClientFactory = Callable[..., Any]


def refuse_review(sim: RunningSimulator) -> None:
    """The platform's review refused the product (its reason kept where the rich profile shows it)."""
    with sim.state.write() as tx:
        product = tx.product(PID)
        product["status"], product["audit_failure_reason"] = "editingRequired", "main image is 640x640 px"


def test_the_documented_profile_answers_no_assumed_field(simulator_factory: Factory, make_client: ClientFactory
                                                         ) -> None:
    sim = simulator_factory(profile="documented")
    client = make_client(sim)
    legacy = client.call("aliexpress.merchant.profile.get")["profile"]
    assert "account_status" not in legacy and "merchant_type" not in legacy and legacy["seller_id"] == SELLER_ID
    profile = client.merchant_profile()
    assert isinstance(profile, MerchantProfile) and profile.posting_forbidden is False  # documented: in both
    refuse_review(sim)
    refused = client.get_product(PID)
    assert refused.status == "editingRequired" and refused.audit_reason is None
    page = httpx.get(f"{sim.url}/store/en/item/{PID}.html")
    assert page.status_code == 200 and "simulatorComponent" not in page.text
    view = parse_item_page(page.text, PID, "en", "desktop", refused.sku_codes_by_id())
    assert view.error is None and view.last_modified is None and view.prices == {"P0-S0": "20.00", "P0-S1": "20.00"}
    rate = httpx.get(f"{sim.url}/datacenter/{SELLER_ID}/information-update-completion-rate")
    assert rate.status_code == 404
    store = httpx.get(f"{sim.url}/store/910000001")
    shown = parse_store_page(store.text, "desktop", str(store.url))
    assert shown.error is None and shown.name == "demo store"
    assert shown.unreadable == {"banners", "response_time"} and "response-time" not in store.text
    assert httpx.get(f"{sim.url}/_sim/health").json()["profile"]["name"] == "documented"


def test_the_rich_profile_keeps_the_simulators_assumptions(simulator_factory: Factory, make_client: ClientFactory
                                                           ) -> None:
    sim = simulator_factory(profile="rich")
    client = make_client(sim)
    legacy = client.call("aliexpress.merchant.profile.get")["profile"]
    assert (legacy["account_status"], legacy["merchant_type"]) == ("normal", "enterprise")
    assert httpx.get(f"{sim.url}/datacenter/{SELLER_ID}/information-update-completion-rate").json()["rate"] == 1.0
    refuse_review(sim)
    assert client.get_product(PID).audit_reason == "main image is 640x640 px"
    page = httpx.get(f"{sim.url}/store/en/item/{PID}.html").text
    assert parse_item_page(page, PID, "en", "desktop").last_modified is not None
    store = httpx.get(f"{sim.url}/store/910000001")
    shown = parse_store_page(store.text, "desktop", str(store.url))
    assert shown.unreadable == frozenset() and shown.response_time_hours == 24.0


def test_documented_tokens_live_30_days_refresh_tokens_60(simulator_factory: Factory, make_client: ClientFactory
                                                           ) -> None:
    """The seeded demo tokens are cut to the launched app's lifetimes (§3.3); a refresh answers the documented
    fields, renews the access token only, and the old token keeps its own expiry."""
    sim = simulator_factory(profile="documented")
    seller = sim.state.sellers()[str(SELLER_ID)]
    at = now_ms()
    assert abs(seller["access_tokens"][ACCESS_TOKEN] - (at + 30 * DAY_MS)) < 60_000
    assert abs(seller["refresh_tokens"][REFRESH_TOKEN] - (at + 60 * DAY_MS)) < 60_000
    client = make_client(sim)
    info = client.refresh_access_token()
    body = info.raw
    assert body["expires_in"] == pytest.approx(30 * 86_400, abs=60)
    assert body["refresh_expires_in"] == pytest.approx(60 * 86_400, abs=60)
    assert info.expire_time_ms == pytest.approx(at + 30 * DAY_MS, abs=60_000)
    assert info.refresh_token_valid_time_ms == seller["refresh_tokens"][REFRESH_TOKEN]  # not renewed
    assert info.refresh_token == REFRESH_TOKEN and info.access_token != ACCESS_TOKEN


def test_an_expired_access_token_is_refused_and_a_refreshed_one_passes(simulator_factory: Factory,
                                                                       make_client: ClientFactory) -> None:
    sim = simulator_factory(profile="documented", token_ttl_s=60)
    seller = sim.state.sellers()[str(SELLER_ID)]
    access, refresh = seller["access_tokens"][ACCESS_TOKEN], seller["refresh_tokens"][REFRESH_TOKEN]
    assert access == pytest.approx(now_ms() + 60_000, abs=5_000) and refresh - access == pytest.approx(60_000, abs=50)
    client = make_client(sim)
    assert client.merchant_profile().posting_forbidden is False
    sim.state.set_seller(SELLER_ID, access_tokens={ACCESS_TOKEN: now_ms() - 1})  # its minute has passed
    with pytest.raises(AuthError) as info:
        client.merchant_profile()
    assert info.value.code == "IllegalAccessToken" and info.value.token_refused
    assert info.value.message == "The specified access token is invalid or expired"  # the platform's words
    fresh = client.refresh_access_token()  # the refresh token lives twice as long: still valid
    assert fresh.raw["expires_in"] == 60 and client.merchant_profile().posting_forbidden is False
    sim.state.set_seller(SELLER_ID, access_tokens={}, refresh_tokens={REFRESH_TOKEN: now_ms() - 1})
    with pytest.raises(AuthError, match="IllegalAccessToken"):
        client.merchant_profile()
    with pytest.raises(AuthError, match="IllegalRefreshToken"):  # the refresh token too: re-authorise
        client.refresh_access_token()


def test_a_new_authorisation_creates_tokens_with_the_documented_fields(simulator_factory: Factory,
                                                                       make_client: ClientFactory) -> None:
    sim = simulator_factory(profile="documented")
    code = httpx.post(f"{sim.url}/_sim/oauth/{SELLER_ID}/code").json()["code"]
    client = make_client(sim, access_token="none-yet")
    body = client.call("/auth/token/create", {"code": code})
    assert {"access_token", "refresh_token", "expires_in", "refresh_expires_in", "expire_time",
            "refresh_token_valid_time", "seller_id", "user_nick", "sp", "locale"} <= set(body)
    assert body["expires_in"] == pytest.approx(30 * 86_400, abs=5) and body["seller_id"] == str(SELLER_ID)
    assert body["refresh_expires_in"] == pytest.approx(60 * 86_400, abs=5)
    created = make_client(sim, access_token=body["access_token"], refresh_token=body["refresh_token"])
    assert created.merchant_profile().posting_forbidden is False
    with pytest.raises(ApiError, match="InvalidCode"):  # a code works once
        client.call("/auth/token/create", {"code": code})


@pytest.mark.parametrize(("args", "says"), [
    ({"name": "everything"}, "unknown simulator profile"),
    ({"token_ttl_s": 0}, "positive number of seconds"),
])
def test_a_bad_profile_is_refused_in_one_line(args: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        make_profile(**args)
