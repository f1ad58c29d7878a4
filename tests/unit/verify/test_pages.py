"""The item-page parser on every saved real page, on pages built to break bracket counting, and the storefront
answers that are not product pages (anti-bot, login and geo redirects, no data)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from aeops.verify.checks import Expected, compare_page
from aeops.verify.page_parser import PageView, SkuView, parse_item_page, run_params_data, sku_key
from aeops.verify.page_reader import HttpStorefrontReader, read_answer
from aeops.verify.unreadable import classify

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "aliexpress"
ITEM_PAGES = sorted(FIXTURES.glob("item-*.html"))


def entries(data: dict) -> list[dict]:
    price = data.get("priceComponent") or {}
    return price.get("skuPriceList") or (json.loads(price["skuJson"]) if price.get("skuJson") else None) or (
        data.get("skuModule") or {}).get("skuPriceList")


def test_there_are_ten_real_item_pages_of_three_generations() -> None:
    assert len(ITEM_PAGES) >= 10
    texts = [p.read_text(encoding="utf-8") for p in ITEM_PAGES]
    assert any("priceComponent" in t for t in texts) and any("skuModule" in t for t in texts)
    assert any("var skuProducts" in t for t in texts)


@pytest.mark.parametrize("page", ITEM_PAGES, ids=lambda p: p.name)
def test_every_saved_real_page_is_read_with_every_sku(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    view = parse_item_page(text, 1, "es", "desktop")
    assert view.error is None and view.unreadable is None
    data = run_params_data(text)
    assert data is not None and view.skus and len(view.skus) == len(entries(data))
    for sku in view.skus.values():
        assert sku.price is not None and Decimal(sku.price) > 0 and sku.stock is not None and sku.stock >= 0
    assert view.last_modified is None  # the real page shows none


@pytest.mark.parametrize("page", ITEM_PAGES, ids=lambda p: p.name)
def test_the_discount_read_from_a_display_amount_is_the_base_price_the_page_carries(page: Path) -> None:
    """``freightExt`` holds each SKU's price in the base currency (``d0`` in ``d1``): the display-currency activity
    amount converted at the page's rate gives the same, and compares equal to it as an expected price."""
    text = page.read_text(encoding="utf-8")
    data = run_params_data(text)
    base = (data.get("currencyComponent") or {}).get("baseCurrencyCode")
    view = parse_item_page(text, 1, "es", "desktop")
    checked = 0
    for entry in entries(data):
        ext = json.loads(entry["freightExt"]) if isinstance(entry.get("freightExt"), str) else {}
        activity = entry["skuVal"].get("skuActivityAmount") or {}
        if not ext.get("d0") or ext.get("d1") != base or activity.get("currency") in (None, base):
            continue
        sku = view.skus[sku_key(entry["skuAttr"])]
        assert sku.discount_price == ext["d0"] and sku.discount_is(ext["d0"]) and sku.discount_shown
        checked += 1
    shown_only = [e for e in entries(data) if (e["skuVal"].get("skuActivityAmount") or {}).get("currency")
                  not in (None, base) and not e["skuVal"].get("actSkuCalPrice")]
    assert checked == len([e for e in shown_only if isinstance(e.get("freightExt"), str)])


def test_a_discount_shown_only_in_the_display_currency_is_compared_there() -> None:
    """28.99 CNY at 0.1385 USD/CNY shows as 4.02 USD; 29.00 CNY would show 4.02 too (a rate below 1 rounds several
    base prices to one display amount): both are what the page shows; 28.00 CNY (3.88 USD) is not."""
    sku = SkuView("40.00", "29.03", 5, discount_shown="4.02", rate="0.1385")
    assert sku.discount_is("28.99") and sku.discount_is("29.00") and not sku.discount_is("28.00")
    assert not sku.discount_is(None)
    exact = SkuView("40.00", "29.00", 5)
    assert exact.discount_is("29.00") and not exact.discount_is("28.99")
    exp = Expected(1, pushed_at=None, prices={"S": ("40.00", "28.99")})  # type: ignore[arg-type]
    assert compare_page(exp, PageView(1, "en", "desktop", skus={"S": sku})) == []


# ------------------------------------------------------------------------------------------- built pages
def built_page(data: dict, before: str = "window.runParams = {\n    data: ", after: str = "\n};") -> str:
    return f"<html><body><script>\n{before}{json.dumps(data, ensure_ascii=False)}{after}\n</script></body></html>"


ONE_SKU = {"skuAttr": "14:193#Black", "skuId": 1, "skuIdStr": "1",
           "skuVal": {"skuCalPrice": "9.99", "inventory": 4, "isActivity": False}}


@pytest.mark.parametrize("title", [
    '15.6" laptop sleeve',  # one escaped quote: a scanner that ends strings at \" loses the rest of the page
    'brace } and bracket ] and " quote',
    'backslash at the end \\',
    '\\" a backslash before a quote',
])
def test_escaped_quotes_and_brackets_inside_strings_do_not_end_the_data(title: str) -> None:
    data = {"productInfoComponent": {"subject": title, "subjectTrans": title},
            "priceComponent": {"skuPriceList": [ONE_SKU]}, "currencyComponent": {"baseCurrencyCode": "USD",
                                                                                "currencyCode": "USD"}}
    text = built_page(data)
    assert '\\"' in text or "\\\\" in text
    view = parse_item_page(text, 1, "en", "desktop", {"14:193": "SKU-1"})
    assert view.skus == {"SKU-1": SkuView("9.99", None, 4)}
    assert run_params_data(text)["productInfoComponent"]["subject"] == title


def test_statements_and_javascript_after_the_literal_are_left_alone() -> None:
    data = {"priceComponent": {"skuPriceList": [ONE_SKU]}}
    after = ("\n    , csrfToken: '1c74e\\'zi', abVersion: '', abtestMap: {\"a\": \"}\"}\n};\n"
             "window.runParams.is23 = true;\nwindow.runParams.detailDesc = \"<p>{]}</p>\";\nvar GaData = {x: 1};")
    view = parse_item_page(built_page(data, after=after), 1, "en", "desktop")
    assert view.skus == {"14:193": SkuView("9.99", None, 4)}


def test_a_literal_whose_data_is_not_its_first_key_is_walked() -> None:
    before = "window.runParams = {csrfToken: '1c74ezi2', abtestMap: {\"x\": \"{data: {}}\"}, 'data': "
    view = parse_item_page(built_page({"skuModule": {"skuPriceList": [ONE_SKU]}}, before=before), 1, "en", "desktop")
    assert view.skus == {"14:193": SkuView("9.99", None, 4)}


def test_a_page_without_the_data_is_unreadable_not_an_error() -> None:
    for text in ("<html>maintenance</html>", "<script>window.runParams = {};</script>",
                 "<script>window.runParams = { data: {\"unterminated\": \"</script>"):
        view = parse_item_page(text, 1, "en", "desktop")
        assert view.unreadable == "no_data" and view.error is None


# ------------------------------------------------------------------------------------------- not product pages
ITEM = "https://www.aliexpress.com/item/1005005913925017.html"


@pytest.mark.parametrize("name", ["punish-baxia-taobao.html", "punish-aliexpress-reconstructed.html"])
def test_an_anti_bot_page_is_unreadable_with_its_cause(name: str) -> None:
    body = (FIXTURES / name).read_text(encoding="utf-8")
    view = read_answer(ITEM, ITEM, 200, body, 1005005913925017, "en", "desktop", None)
    assert view.unreadable == "anti_bot" and view.error is None and not view.skus
    assert compare_page(Expected(1, pushed_at=None, prices={"S": ("1.00", None)}), view) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", json.loads((FIXTURES / "redirects-reconstructed.json").read_text())["answers"],
                         ids=lambda a: f"{a['cause']}-{a['status']}")
def test_redirects_and_punish_headers_are_unreadable_with_their_cause(answer: dict) -> None:
    view = read_answer(answer["url"], answer["url"], answer["status"], "", 1, "en", "desktop", None,
                       answer["headers"])
    assert view.unreadable == answer["cause"] and view.error is None


def test_a_real_page_that_mentions_a_captcha_is_still_read_and_a_language_host_is_no_geo_redirect() -> None:
    page = (FIXTURES / "item-component.html").read_text(encoding="utf-8")
    text = page.replace("<body>", "<body><div class='nocaptcha'></div>")
    es = "https://es.aliexpress.com/item/1005005913925017.html"
    view = read_answer(ITEM, es, 200, text, 1005005913925017, "es", "desktop", None)
    assert view.unreadable is None and len(view.skus) == 5
    assert classify(ITEM, "https://aliexpress.ru/item/1.html", 200, has_data=True)[0] == "geo_redirect"
    assert read_answer(ITEM, ITEM, 404, "not found", 1, "en", "desktop", None).error == "HTTP 404"


def test_the_live_reader_follows_a_redirect_to_the_login_page_and_reports_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.aliexpress.com":
            return httpx.Response(302, headers={"location": "https://login.aliexpress.com/?return_url=x"})
        return httpx.Response(200, text="<html><form id='login'></form></html>")

    reader = HttpStorefrontReader(transport=httpx.MockTransport(answer))
    try:
        view = reader.fetch(1005005913925017, "en", "desktop")
    finally:
        reader.close()
    assert view.unreadable == "login" and "login.aliexpress.com" in (view.detail or "")
