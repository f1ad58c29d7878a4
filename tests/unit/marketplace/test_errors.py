"""All three error shapes map to typed errors; batch answers map to per-product outcomes."""

from __future__ import annotations

import pytest

from aeops.marketplace import (
    ApiError,
    AuthError,
    QuotaExhausted,
    ServerError,
    SignatureError,
    Throttled,
    parse_batch_result,
)
from aeops.marketplace.errors import error_from_payload


def test_sync_error_response_shape() -> None:
    err = error_from_payload({"error_response": {"type": "ISV", "code": "IncompleteSignature",
                                                 "msg": "The request signature does not conform to platform "
                                                        "standards", "request_id": "r1", "_trace_id_": "t"}})
    assert isinstance(err, SignatureError) and err.code == "IncompleteSignature" and err.request_id == "r1"


def test_rest_top_level_shape() -> None:
    err = error_from_payload({"type": "ISV", "code": "IllegalAccessToken", "message": "expired",
                              "request_id": "r2"})
    assert isinstance(err, AuthError) and not isinstance(err, SignatureError)
    assert error_from_payload({"code": "0", "access_token": "x"}) is None


def test_legacy_top_shape() -> None:
    err = error_from_payload({"error_response": {"code": 15, "msg": "Remote service error",
                                                 "sub_code": "isp.unknown-error", "sub_msg": "try later"}})
    assert isinstance(err, ServerError) and err.code == "15" and err.sub_code == "isp.unknown-error"
    err = error_from_payload({"error_response": {"code": 7, "msg": "App Call Limited",
                                                 "sub_msg": "This ban will last for 12 more seconds"}})
    assert isinstance(err, Throttled) and err.ban_seconds == 12
    err = error_from_payload({"error_response": {"code": 15, "msg": "Remote service error",
                                                 "sub_code": "isv.invalid-parameter"}})
    assert type(err) is ApiError


@pytest.mark.parametrize(("msg", "seconds"), [
    ("Api access frequency exceeds the limit. this ban will last 1 seconds", 1),
    ("Api access frequency exceeds the limit. this ban will last 30 seconds", 30),
])
def test_api_call_limit_carries_the_ban(msg: str, seconds: int) -> None:
    err = error_from_payload({"error_response": {"type": "ISV", "code": "ApiCallLimit", "msg": msg}})
    assert isinstance(err, Throttled) and err.ban_seconds == seconds and err.retryable


def test_daily_quota_is_not_a_throttle() -> None:
    err = error_from_payload({"error_response": {"type": "ISV", "code": "AppCallLimit", "msg": "daily quota",
                                                 "sub_code": "accesscontrol.limited-by-app-access-count"}})
    assert isinstance(err, QuotaExhausted) and not err.retryable


def test_system_type_is_a_server_error() -> None:
    err = error_from_payload({"error_response": {"type": "SYSTEM", "code": "ServiceUnavailable", "msg": "x"}})
    assert isinstance(err, ServerError) and err.retryable


def test_batch_outcomes_success_failed_and_unknown() -> None:
    body = {"update_success": False,
            "update_successful_list": {"synchronize_product_response_dto": [{"product_id": 1}, {"product_id": 4}]},
            "update_failed_list": {"synchronize_product_response_dto": [
                {"product_id": "2", "error_code": "F00-00-10007-007", "error_message": "duplicate sku_code"},
                {"product_id": 4, "error_code": "X", "error_message": "both lists"}]}}
    result = parse_batch_result("api", [1, 2, 3, 4], body)
    assert result.outcomes[1].status == "success"
    assert (result.outcomes[2].status, result.outcomes[2].error_code) == ("failed", "F00-00-10007-007")
    assert result.outcomes[3].status == "unknown"  # in neither list
    assert result.outcomes[4].status == "unknown"  # in both lists: not acknowledged
    assert result.update_success is False


def test_call_level_error_with_empty_lists_fails_every_product() -> None:
    result = parse_batch_result("api", [1, 2], {"update_success": False, "update_error_code": "E1",
                                                "update_error_message": "bad"})
    assert {o.status for o in result.outcomes.values()} == {"failed"}
