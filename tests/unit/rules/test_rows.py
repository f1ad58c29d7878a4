"""Row rules: one test per finding code, the nasty cases, and the vectorised == per-row reference property."""

from __future__ import annotations

import random

import pandas as pd
import polars as pl
import pytest

from aeops.exports import CANONICAL_COLUMNS
from aeops.findings import ROW_CODES, Severity
from aeops.rules.rows import RowRules, RuleConfigError, blocked_rows, check_rows, check_rows_loop

GOOD = {
    "product_id": "1005001234567890", "sku_code": "TS-RED-M", "title": "Red T-shirt", "price": "19.90",
    "discount_price": "15.50", "stock": "12", "freight_template_id": "1001", "category": "apparel",
    "brand": "Threadly", "main_image": "tshirt.jpg",
}
TEMPLATES = RowRules(known_freight_templates=frozenset({"1001", "1002", "1003"}))


def frame(*rows: dict[str, str | None]) -> pl.DataFrame:
    records = [{**GOOD, "sku_code": f"SKU-{i}", **row, "row": i + 2} for i, row in enumerate(rows)]
    return pl.DataFrame(records, schema={**{c: pl.String for c in CANONICAL_COLUMNS}, "row": pl.Int64})


def codes(table: pl.DataFrame, rules: RowRules | None = None) -> list[tuple[int, str]]:
    found = check_rows(table, file="e.csv", rules=rules)
    assert found == check_rows_loop(table, file="e.csv", rules=rules)  # the reference agrees on every case
    return [(f.row, f.code) for f in found]


def test_a_good_row_has_no_findings() -> None:
    assert codes(frame({}), TEMPLATES) == []


@pytest.mark.parametrize("sku", [None, "", "   "])
def test_sku_missing(sku: str | None) -> None:
    assert codes(frame({"sku_code": sku})) == [(2, "SKU-MISSING")]


@pytest.mark.parametrize("sku", ["A&B", "A#1", "A/B", "A B", " AB", "AB\t", "A\x07B", "Ä1", "A,B"])
def test_sku_chars_rejects_banned_whitespace_and_control_characters(sku: str) -> None:
    [finding] = check_rows(frame({"sku_code": sku}))
    assert (finding.code, finding.field, finding.sku_code) == ("SKU-CHARS", "sku_code", sku)
    assert finding.severity is Severity.ERROR and "rename" in finding.message


def test_sku_chars_message_names_the_offending_character() -> None:
    [finding] = check_rows(frame({"sku_code": "TS&CO"}))
    assert "'&'" in finding.message


def test_sku_allowed_chars_is_configurable_but_banned_ones_stay_banned() -> None:
    lenient = RowRules(sku_allowed_chars=r"A-Za-z0-9&/ _-")
    assert codes(frame({"sku_code": "AB_1"}), RowRules(sku_allowed_chars="A-Z0-9")) == [(2, "SKU-CHARS")]
    assert codes(frame({"sku_code": "A&B"}), lenient) == [(2, "SKU-CHARS")]
    assert codes(frame({"sku_code": "A B"}), lenient) == [(2, "SKU-CHARS")]


def test_unusable_sku_class_is_a_config_error() -> None:
    with pytest.raises(RuleConfigError, match="sku_allowed_chars"):
        RowRules(sku_allowed_chars="z-a")  # a reversed range


def test_duplicate_skus_within_a_product_and_across_products() -> None:
    table = frame(
        {"sku_code": "X1"},
        {"sku_code": "X1"},
        {"sku_code": "Y1", "product_id": "1005001234567890"},
        {"sku_code": "Y1", "product_id": "1005009999999999"},
        {"sku_code": "Z1"},
    )
    found = check_rows(table)
    assert [(f.row, f.code) for f in found] == [(2, "SKU-DUPLICATE"), (3, "SKU-DUPLICATE"),
                                                 (4, "SKU-DUPLICATE"), (5, "SKU-DUPLICATE")]
    assert "within product 1005001234567890" in found[0].message and "rows 2, 3" in found[0].message
    assert "across products 1005001234567890, 1005009999999999" in found[2].message
    assert [f.product_id for f in found[2:]] == [1005001234567890, 1005009999999999]


@pytest.mark.parametrize(
    "pid", [None, "", "0", "-5", "1.005e+15", "1005001234567890.0", "9223372036854775808", "12a", "１２"]
)
def test_product_id_must_be_an_exact_positive_64_bit_integer(pid: str | None) -> None:
    [finding] = check_rows(frame({"product_id": pid}))
    assert (finding.code, finding.field, finding.product_id) == ("PRODUCT-ID-INVALID", "product_id", None)


def test_excel_mangled_id_says_how_to_fix_it() -> None:
    [finding] = check_rows(frame({"product_id": "1.005e+15"}))
    assert "Excel" in finding.message and "Text" in finding.message


@pytest.mark.parametrize("pid", ["9223372036854775807", "0001005001234567890", " 42 "])
def test_valid_product_ids_are_kept_exact(pid: str) -> None:
    table = frame({"product_id": pid, "price": "abc"})
    [finding] = check_rows(table)
    assert finding.product_id == int(pid)


def test_title_missing_and_too_long() -> None:
    assert codes(frame({"title": " "}, {"title": "x" * 128}, {"title": "标" * 129})) == [
        (2, "TITLE-MISSING"), (4, "TITLE-TOO-LONG")]


@pytest.mark.parametrize("price", [None, "0", "0.001", "1000000", "12,50", "$5", "abc", "-1", "1e3"])
def test_price_invalid(price: str | None) -> None:
    assert codes(frame({"price": price, "discount_price": None})) == [(2, "PRICE-INVALID")]


@pytest.mark.parametrize("price", ["0.01", "999999", " 19.9 ", "007.50"])
def test_price_valid(price: str) -> None:
    assert codes(frame({"price": price, "discount_price": None})) == []


@pytest.mark.parametrize("discount", ["19.90", "25", "0", "cheap"])
def test_discount_must_be_a_number_below_the_price(discount: str) -> None:
    [finding] = check_rows(frame({"discount_price": discount}))
    assert (finding.code, finding.field) == ("DISCOUNT-INVALID", "discount_price")


def test_empty_discount_is_fine_and_a_bad_price_is_reported_once() -> None:
    assert codes(frame({"discount_price": ""})) == []
    assert codes(frame({"price": "x", "discount_price": "5"})) == [(2, "PRICE-INVALID")]


@pytest.mark.parametrize("stock", [None, "-1", "1.5", "1000000", "lots", "3.0"])
def test_stock_invalid(stock: str | None) -> None:
    assert codes(frame({"stock": stock})) == [(2, "STOCK-INVALID")]


def test_stock_bounds_are_inclusive() -> None:
    assert codes(frame({"stock": "0"}, {"stock": "999999"})) == []


def test_freight_template_checked_only_against_a_known_set() -> None:
    table = frame({"freight_template_id": "1009"}, {"freight_template_id": None}, {"freight_template_id": "1002"})
    assert codes(table) == []
    assert codes(table, TEMPLATES) == [(2, "FREIGHT-TEMPLATE-UNKNOWN"), (3, "FREIGHT-TEMPLATE-UNKNOWN")]
    assert "1001, 1002, 1003" in check_rows(table, rules=TEMPLATES)[0].message


def test_findings_carry_file_row_product_sku_and_field() -> None:
    [finding] = check_rows(frame({}, {"stock": "x"}), file="e.csv")
    assert finding.to_dict() == {
        "code": "STOCK-INVALID", "severity": "error", "file": "e.csv", "row": 3,
        "product_id": 1005001234567890, "sku_code": "SKU-1", "field": "stock", "message": finding.message,
    }
    assert blocked_rows([finding]) == {3}


def test_pandas_frame_from_the_reader_is_accepted() -> None:
    table = frame({"sku_code": "A&B"})
    assert check_rows(table.to_pandas()) == check_rows(table)
    assert isinstance(table.to_pandas(), pd.DataFrame)


_ALPHABET = ["A", "z", "0", "9", "-", "_", ".", "&", "#", "/", " ", "\t", "\x01", "é", "\u3000", "标", "e", "+"]
_NUMBERS = ["", " ", "0", "1", "12", "0.01", "0.005", "19.90", "999999", "1000000", "1e3", "-3", "abc", "007",
            "1.005e+15", "1005001234567890", "9223372036854775807", "9223372036854775808", "3.0", None,
            " 12", "12 ", "+5", "-0", "inf", "nan", "NaN", "0.010", "999999.00", "999999.01", "1_000", "١٢"]


def _random_value(rng: random.Random, column: str) -> str | None:
    if column in ("sku_code", "title") and rng.random() < 0.7:
        if column == "sku_code" and rng.random() < 0.3:
            return rng.choice(["DUP-1", "DUP-2", "DUP-3"])
        length = rng.choice([0, 1, 3, 8]) if column == "sku_code" else rng.choice([0, 5, 128, 129, 200])
        text = "".join(rng.choice(_ALPHABET) for _ in range(length))
        return rng.choice(["", " ", "\t"]) + text if column == "title" else text
    if column == "freight_template_id":
        return rng.choice(["1001", "1002", "1009", " 1003 ", "", None])
    return rng.choice(_NUMBERS)


def test_vectorised_rules_equal_the_per_row_reference_on_random_data() -> None:
    rng = random.Random(20261126)
    columns = ["product_id", "sku_code", "title", "price", "discount_price", "stock", "freight_template_id"]
    records = [{c: _random_value(rng, c) for c in columns} | {"row": i + 2} for i in range(1000)]
    table = pl.DataFrame(records, schema={**{c: pl.String for c in columns}, "row": pl.Int64})
    for rules in (RowRules(), TEMPLATES, RowRules(sku_allowed_chars=r"A-Za-z0-9&/ _-")):
        vectorised = check_rows(table, file="r.csv", rules=rules)
        assert vectorised == check_rows_loop(table, file="r.csv", rules=rules)
        assert {f.code for f in vectorised} >= set(ROW_CODES) - (
            set() if rules.known_freight_templates else {"FREIGHT-TEMPLATE-UNKNOWN"})


def test_only_rows_the_vectorised_screen_flags_are_looked_at_one_by_one(monkeypatch) -> None:
    from aeops.rules import rows as rows_module

    looked_at: list[int] = []
    original = rows_module._Checker.row

    def spy(self, rec, **kwargs):
        looked_at.append(rec["row"])
        return original(self, rec, **kwargs)

    monkeypatch.setattr(rows_module._Checker, "row", spy)
    table = frame(*([{}] * 500), {"stock": "-1"}, {"sku_code": "A&B"})
    assert codes(table) == [(502, "STOCK-INVALID"), (503, "SKU-CHARS")]
    looked_at.clear()
    check_rows(table)
    assert looked_at == [502, 503]


def test_only_blocking_findings_that_point_at_a_row_block_it() -> None:
    from aeops.findings import Finding

    findings = [Finding("PRICE-INVALID", Severity.ERROR, "price missing", row=3),
                Finding("FILE-TRUNCATED", Severity.ERROR, "cut short"),  # the file's, no row: blocks no single row
                Finding("TITLE-TOO-LONG", Severity.WARNING, "long title", row=4)]  # a warning never blocks
    assert blocked_rows(findings) == {3}
