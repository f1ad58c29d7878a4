"""The request signature, checked against the platform's own documentation, not against our output."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

from aeops.marketplace import sign
from aeops.marketplace.signing import clean_params, compact_json, string_to_sign


def test_official_worked_example_for_order_get() -> None:
    # Source: IOP/Lazada Open Platform "HTTP request sample" (GetOrder, /order/get), App Secret "helloworld":
    # https://open.alitrip.com/docs/doc.htm?articleId=108069&docType=1&treeId=499 (same algorithm as the
    # AliExpress mirror https://open.alitrip.com/docs/doc.htm?articleId=120692&docType=1&treeId=727).
    params = {"app_key": "123456", "access_token": "test", "timestamp": "1517820392000",
              "sign_method": "sha256", "order_id": "1234"}
    assert string_to_sign("/order/get", params) == (
        "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256timestamp1517820392000")
    assert sign("helloworld", "/order/get", params) == (
        "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A")


def test_sync_method_names_are_not_prefixed() -> None:
    params = {"app_key": "123456", "method": "aliexpress.solution.product.info.get", "session": "test",
              "timestamp": "1517820392000", "sign_method": "sha256", "product_id": "1005001234567890"}
    documented = ("app_key123456methodaliexpress.solution.product.info.getproduct_id1005001234567890"
                  "sessiontestsign_methodsha256timestamp1517820392000")
    expected = hmac.new(b"helloworld", documented.encode(), hashlib.sha256).hexdigest().upper()
    assert sign("helloworld", "aliexpress.solution.product.info.get", params) == expected
    assert sign("helloworld", "aliexpress.solution.product.info.get", params) != sign(
        "helloworld", "/aliexpress.solution.product.info.get", params)


def test_empty_values_and_sign_itself_are_not_signed() -> None:
    base = {"app_key": "1", "timestamp": "2", "sign_method": "sha256"}
    noisy = {**base, "group_id": None, "subject": "", "sign": "OLD"}
    assert sign("s", "aliexpress.x", noisy) == sign("s", "aliexpress.x", base)
    assert "group_id" not in clean_params(noisy)


def test_complex_params_are_signed_as_compact_json_with_exact_ids_and_prices() -> None:
    value = [{"product_id": 9007199254740993, "multiple_sku_update_list": [
        {"sku_code": "A-1", "price": Decimal("19.90"), "discount_price": "15"}]}]
    text = compact_json(value)
    assert text == ('[{"product_id":9007199254740993,"multiple_sku_update_list":'
                    '[{"sku_code":"A-1","price":"19.90","discount_price":"15"}]}]')
    assert clean_params({"list": value})["list"] == text
    assert clean_params({"flag": True, "n": 7}) == {"flag": "true", "n": "7"}
