"""Price override maths and the urgent request's checks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aeops.urgent.pricing import Guards, PriceError, apply_absolute, apply_percent, read_price_file
from aeops.urgent.request import RequestError, parse_request

STORES = ["demo", "demo-kids"]


def test_percent_rounds_half_up_to_the_cent_on_price_and_discount() -> None:
    new = apply_percent("19.99", "15.55", -15)
    assert (new.price, new.discount_price, new.guard) == ("16.99", "13.22", None)  # 16.9915, 13.2175


def test_floor_and_ceiling_clamp_and_say_which() -> None:
    guards = Guards(Decimal("5"), Decimal("100"))
    low = apply_percent("5.50", None, -20, guards)
    assert (low.price, low.guard) == ("5.00", "floor")
    high = apply_percent("90", "60", 50, guards)  # 135 -> 100, discount 90 stays below it
    assert (high.price, high.discount_price, high.guard) == ("100.00", "90.00", "ceiling")


def test_a_discount_squeezed_to_the_price_by_a_guard_is_dropped_not_kept_invalid() -> None:
    new = apply_percent("6.00", "5.50", -30, Guards(floor=Decimal("5")))
    assert (new.price, new.discount_price, new.discount_dropped) == ("5.00", None, True)


def test_guards_refuse_nonsense() -> None:
    with pytest.raises(PriceError, match="above the ceiling"):
        Guards(Decimal("10"), Decimal("5"))
    with pytest.raises(PriceError, match="above -100"):
        apply_percent("10", None, -100)
    with pytest.raises(PriceError, match="not a positive number"):
        apply_percent("0.00", None, -10)


def test_absolute_price_keeps_the_current_discount_only_when_it_stays_below() -> None:
    assert apply_absolute("20", None, "15", discount_given=False).discount_price == "15.00"
    with pytest.raises(PriceError, match="add a discount_price column"):
        apply_absolute("12", None, "15", discount_given=False)
    assert apply_absolute("12", "", "15", discount_given=True).discount_price is None


def test_price_file_csv_with_chinese_headers_and_line_numbers_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.csv"
    good.write_text("SKU编码,价格,折扣价\nA-1,19.9,\nB-2,10,8.5\n", encoding="gb18030")
    lines, has_discount = read_price_file(good)
    assert has_discount and [(x.sku_code, x.price, x.discount_price, x.line) for x in lines] == [
        ("A-1", "19.9", None, 2), ("B-2", "10", "8.5", 3)]
    bad = tmp_path / "bad.csv"
    bad.write_text("sku_code,price\nA-1,abc\n", encoding="utf-8")
    with pytest.raises(PriceError, match="line 2"):
        read_price_file(bad)
    with pytest.raises(PriceError, match="needs the columns sku_code and price"):
        read_price_file(_write(tmp_path / "cols.csv", "sku,amount\nA,1\n"))
    with pytest.raises(PriceError, match="not found"):
        read_price_file(tmp_path / "missing.csv")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_request_names_the_configured_stores_and_the_missing_pieces() -> None:
    base = {"store": "demo", "mode": "price_override", "reason": "Black Friday repricing", "percent": -20}
    assert parse_request(base, STORES).describe() == "price_override: -20% on the whole store"
    with pytest.raises(RequestError, match="unknown store 'x'; configured stores: demo, demo-kids"):
        parse_request({**base, "store": "x"}, STORES)
    with pytest.raises(RequestError, match="reason is required"):
        parse_request({**base, "reason": "short"}, STORES)
    with pytest.raises(RequestError, match="exactly one of price_file"):
        parse_request({**base, "price_file": "/tmp/p.csv"}, STORES)
    with pytest.raises(RequestError, match="needs run_id"):
        parse_request({**base, "mode": "revert", "percent": None}, STORES)
    with pytest.raises(RequestError, match="scope category needs category"):
        parse_request({**base, "scope": "category"}, STORES)
    with pytest.raises(RequestError, match="floor price 9 is above the ceiling price 5"):
        parse_request({**base, "floor_price": 9, "ceiling_price": 5}, STORES)
    skus = parse_request({**base, "mode": "skus", "percent": None, "skus": "A-1, B-2\nA-1"}, STORES)
    assert skus.skus == ("A-1", "B-2")
