"""Client behaviour with a scripted transport: retries, lost answers, batching, secrets."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aeops.marketplace import (
    AliExpressClient,
    AuthError,
    QuotaExhausted,
    SkuPrice,
    SkuStock,
)
from aeops.secrets import redact

SECRET = "unit-test-secret-value"
TOKEN = "unit-test-access-token"


def form(request: httpx.Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.content.decode()))


def batch_ok(request: httpx.Request) -> httpx.Response:
    items = json.loads(form(request)["mutiple_product_update_list"])
    name = form(request)["method"].replace(".", "_") + "_response"
    ok = [{"product_id": i["product_id"]} for i in items]
    return httpx.Response(200, json={name: {"update_success": True, "update_successful_list": ok,
                                            "update_failed_list": []}})


def make(handler: Callable[[httpx.Request], Any], sleeps: list[float] | None = None, **kw: Any) -> AliExpressClient:
    record = sleeps if sleeps is not None else []
    return AliExpressClient("http://api.test", "123", SECRET, TOKEN, transport=httpx.MockTransport(handler),
                            sleep=record.append, rate_limit=kw.pop("rate_limit", "memory"), qps=1e6, **kw)


def test_throttled_read_waits_ban_plus_one_then_succeeds() -> None:
    answers = [httpx.Response(200, json={"error_response": {"type": "ISV", "code": "ApiCallLimit", "msg":
               "Api access frequency exceeds the limit. this ban will last 3 seconds"}}),
               httpx.Response(200, json={"aliexpress_solution_merchant_profile_get_response": {
                   "product_posting_forbidden": False, "shop_id": 9007199254740993}})]
    sleeps: list[float] = []
    client = make(lambda r: answers.pop(0), sleeps)
    profile = client.merchant_profile()
    assert profile.posting_forbidden is False and profile.raw["shop_id"] == 9007199254740993
    assert sleeps == [4.0]


@pytest.mark.parametrize(("answer", "forbidden"), [
    ({"product_posting_forbidden": True}, True),
    ({"product_posting_forbidden": "false"}, False),
    ({"country_code": "CN", "shop_name": "demo store"}, None),  # the answer does not say
    ({"account_status": "frozen", "merchant_type": "individual"}, None),  # assumed fields are not read
])
def test_the_merchant_profile_reads_only_the_documented_posting_flag(answer: dict, forbidden: bool | None) -> None:
    client = make(lambda r: httpx.Response(200, json={"aliexpress_solution_merchant_profile_get_response": answer}),
                  seller_id=2000000001)
    profile = client.merchant_profile()
    assert profile.posting_forbidden is forbidden and profile.seller_id == 2000000001
    assert not hasattr(profile, "status") and not hasattr(profile, "merchant_type")


def test_an_expired_or_invalid_access_token_is_an_auth_error_a_refresh_may_cure() -> None:
    """The platform's answer to an expired or unknown token (docs/aliexpress-api.md §3.2) stops at once."""
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"error_response": {"type": "ISV", "code": "IllegalAccessToken", "msg":
                                                            "The specified access token is invalid or expired",
                                                            "request_id": "0b1"}})

    with pytest.raises(AuthError) as info:
        make(refuse).merchant_profile()
    assert info.value.token_refused and info.value.code == "IllegalAccessToken" and len(calls) == 1
    signature = AuthError("wrong app key", code="InvalidAppKey")
    assert not signature.token_refused  # a refresh cannot cure a wrong app key


def test_read_transport_errors_back_off_then_succeed() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"x_response": {"result_success": True,
                                                        "aeop_freight_template_d_t_o_list": []}})

    sleeps: list[float] = []
    assert make(handler, sleeps).list_freight_templates() == []
    assert len(calls) == 3 and len(sleeps) == 2 and all(s > 0 for s in sleeps)


def test_lost_write_answer_is_unknown_and_never_resent() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    report = make(handler).update_prices({1: [SkuPrice("A", "10.00", "8.00")], 2: [SkuPrice("B", "5")]})
    assert len(calls) == 1
    assert {o.status for o in report.outcomes.values()} == {"unknown"}
    assert report.batches[0].answered is False


def test_write_that_never_connected_is_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return batch_ok(request)

    report = make(handler).update_inventory({7: [SkuStock("A", 3)]})
    assert report.outcomes[7].status == "success" and len(calls) == 2


def test_bare_gateway_5xx_on_a_write_is_unknown() -> None:
    report = make(lambda r: httpx.Response(502, text="Bad Gateway")).update_inventory({7: [SkuStock("A", 3)]})
    assert report.outcomes[7].status == "unknown"


@pytest.mark.parametrize(("payload", "exc"), [
    ({"error_response": {"type": "ISV", "code": "IllegalAccessToken", "msg": "bad token"}}, AuthError),
    ({"error_response": {"type": "ISV", "code": "AppCallLimit", "msg": "daily",
                         "sub_code": "accesscontrol.limited-by-app-access-count"}}, QuotaExhausted),
])
def test_auth_and_quota_errors_stop_at_once(payload: dict[str, Any], exc: type[Exception]) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=payload)

    with pytest.raises(exc):
        make(handler).get_product(1)
    assert len(calls) == 1


def test_prices_split_at_20_and_discount_price_always_sent() -> None:
    sent: list[list[dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(form(request)["mutiple_product_update_list"]))
        return batch_ok(request)

    updates = {pid: [SkuPrice(f"S{pid}", "10.00", "9.50")] for pid in range(1, 22)}
    report = make(handler).update_prices(updates)
    assert [len(b) for b in sent] == [20, 1]
    assert sent[0][0]["multiple_sku_update_list"] == [{"sku_code": "S1", "price": "10.00", "discount_price": "9.50"}]
    assert len(report.by_status("success")) == 21 and report.calls == 2


def test_inventory_splits_products_over_200_skus_without_duplicates_in_a_call() -> None:
    sent: list[list[dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(form(request)["mutiple_product_update_list"]))
        return batch_ok(request)

    report = make(handler).update_inventory({5: [SkuStock(f"K{i}", 1) for i in range(450)], 6: [SkuStock("Z", 0)]})
    assert [[(e["product_id"], len(e["multiple_sku_update_list"])) for e in call] for call in sent] == [
        [(5, 200), (6, 1)], [(5, 200)], [(5, 50)]]
    assert report.outcomes[5].status == "success"


def test_edit_refuses_sku_info_list() -> None:
    client = make(lambda r: pytest.fail("must not send"))
    with pytest.raises(ValueError, match="sku_info_list"):
        client.edit_product(1, {"sku_info_list": []})


def test_secrets_never_reach_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    answers = [httpx.Response(200, json={"error_response": {"type": "SYSTEM", "code": "ServiceUnavailable",
                                                            "msg": f"echo {TOKEN}"}}),
               httpx.Response(200, json={"aliexpress_solution_merchant_profile_get_response": {
                   "product_posting_forbidden": True}})]
    client = make(lambda r: answers.pop(0))
    with caplog.at_level(logging.DEBUG, logger="aeops"):
        profile = client.merchant_profile()
    assert profile.posting_forbidden is True
    assert TOKEN not in caplog.text and SECRET not in repr(client) and TOKEN not in repr(client)
    assert redact(f"secret={SECRET}&sign=ABCDEF&x=1") == "secret=***&sign=***&x=1"


def test_large_ids_stay_exact() -> None:
    body = ('{"aliexpress_solution_product_info_get_response":{"result":{"product_id":9007199254740993,'
            '"aeop_ae_product_s_k_us":{"global_aeop_ae_product_sku":[{"id":"14:193","sku_code":"A",'
            '"sku_price":19.99,"ipm_sku_stock":5}]}}}}')
    product = make(lambda r: httpx.Response(200, content=body.encode())).get_product(9007199254740993)
    assert product.product_id == 9007199254740993
    assert str(product.skus[0].price) == "19.99" and product.skus[0].stock == 5
