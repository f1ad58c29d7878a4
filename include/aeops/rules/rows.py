"""Row rules: every SKU row of an export checked against the marketplace's field rules, vectorised with polars.

:func:`check_rows` is the implementation the pipeline uses; :func:`check_rows_loop` is the same rules written
as a plain per-row Python loop. The loop is the reference (the property test asserts both give the same
findings) and the benchmark baseline (bench/validate.py). Messages come from the same helpers in both.

Input values are the export's text, untouched (see :mod:`aeops.exports`). Every row finding is an ``error``:
the marketplace would reject the row, so it is not pushed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from aeops.findings import ROW_CODES, Cause, Finding, Text, part
from aeops.i18n import N_

MAX_TITLE_CHARS = 128
MIN_PRICE, MAX_PRICE = 0.01, 999_999.0
MAX_STOCK = 999_999
MAX_INT64 = 2**63 - 1
DEFAULT_SKU_ALLOWED_CHARS = r"A-Za-z0-9_.:+()-"
#: Always rejected, whatever the configured class allows: the platform bans & # /, and whitespace or control
#: characters are invisible in the seller center.
FORBIDDEN_SKU_CHARS = r"&#/\s\x00-\x1f\x7f-\x9f"
_BLANKS = " \t"
_DECIMAL = r"^[0-9]+(?:\.[0-9]+)?$"
_DIGITS = r"^[0-9]+$"
_CODE_ORDER = {code: i for i, code in enumerate(ROW_CODES)}


class RuleConfigError(ValueError):
    """A rule setting is unusable (e.g. ``sku_allowed_chars`` is not a valid character class)."""


@dataclass(frozen=True)
class RowRules:
    """The settings of the row rules.

    ``sku_allowed_chars`` is a regex character-class body (``AeopsConfig.sku_allowed_chars``);
    ``known_freight_templates`` the store's template ids (from the marketplace, cached by the caller), or None
    to skip FREIGHT-TEMPLATE-UNKNOWN.
    """

    sku_allowed_chars: str = DEFAULT_SKU_ALLOWED_CHARS
    known_freight_templates: frozenset[str] | None = None

    def __post_init__(self) -> None:
        try:  # both engines must accept it: Python's re (reference, messages) and polars' Rust regex
            re.compile(self.sku_pattern)
            pl.Series(["a"]).str.contains(self.sku_pattern)
            pl.Series(["a"]).str.contains(self.screen_pattern)
        except (re.error, pl.exceptions.PolarsError) as exc:
            raise RuleConfigError(
                f"sku_allowed_chars {self.sku_allowed_chars!r} is not a usable character class: {exc}"
            ) from None
        if self.known_freight_templates is not None:
            object.__setattr__(self, "known_freight_templates",
                               frozenset(str(t).strip() for t in self.known_freight_templates))

    @property
    def sku_pattern(self) -> str:
        """The regular expression a SKU code must match."""
        return f"^[{self.sku_allowed_chars}]+$"

    @property
    def screen_pattern(self) -> str:
        """Allowed minus always-forbidden characters, as one Rust-regex class (``--`` is class difference)."""
        return f"^[[{self.sku_allowed_chars}]--[{FORBIDDEN_SKU_CHARS}]]+$"


# --- messages (shared by both implementations) -------------------------------------------------------------

SKU_MISSING = Cause("SKU-MISSING", N_("SKU code is empty"),
                    N_("give every SKU row its own SKU code in the ERP and export again"))
SKU_CHARS = Cause("SKU-CHARS", N_("SKU code {sku} contains {chars}, which the marketplace rejects"),
                  N_("rename the SKU in the ERP using only [{allowed}]"))
SKU_DUPLICATE_IN = Cause("SKU-DUPLICATE", N_("SKU code {sku} is used {n} times (rows {rows}) within product {product}"),
                         N_("give each SKU its own code in the ERP"))
SKU_DUPLICATE_ACROSS = Cause("SKU-DUPLICATE",
                             N_("SKU code {sku} is used {n} times (rows {rows}) across products {products}"),
                             N_("give each SKU its own code in the ERP"))
PRODUCT_ID_EMPTY = Cause("PRODUCT-ID-INVALID", N_("product id is empty"),
                         N_("fill in the AliExpress product id (a whole number) in the ERP"))
PRODUCT_ID_ROUNDED = Cause("PRODUCT-ID-INVALID",
                           N_("product id {raw} looks like a number Excel rounded (ids lose digits in "
                              "scientific/decimal form)"),
                           N_("format the column as Text and export again with the full id"))
PRODUCT_ID_BAD = Cause("PRODUCT-ID-INVALID", N_("product id {raw} is not a positive 64-bit whole number"),
                       N_("copy the exact id from the seller center"))
TITLE_MISSING = Cause("TITLE-MISSING", N_("title is empty"),
                      N_("write a product title (at most {limit} characters)"))
TITLE_TOO_LONG = Cause("TITLE-TOO-LONG", N_("title is {n} characters, the marketplace allows at most {limit}"),
                       N_("shorten it in the ERP"))
PRICE_EMPTY = Cause("PRICE-INVALID", N_("price is empty"), N_("set a price between 0.01 and 999999"))
PRICE_BAD = Cause("PRICE-INVALID", N_("price {raw} is not a number between 0.01 and 999999 (digits and a '.' only)"),
                  N_("correct it in the ERP"))
DISCOUNT_NOT_BELOW = Cause("DISCOUNT-INVALID", N_("discount price {raw} is not below the price {price}"),
                           N_("lower it or leave it empty"))
DISCOUNT_BAD = Cause("DISCOUNT-INVALID", N_("discount price {raw} is not a number between 0.01 and 999999"),
                     N_("correct it or leave it empty"))
STOCK_EMPTY = Cause("STOCK-INVALID", N_("stock is empty"), N_("set a whole number between 0 and 999999"))
STOCK_BAD = Cause("STOCK-INVALID", N_("stock {raw} is not a whole number between 0 and 999999"),
                  N_("correct it in the ERP"))
FREIGHT_EMPTY = Cause("FREIGHT-TEMPLATE-UNKNOWN", N_("freight template is empty"),
                      N_("use one of the store's templates ({known})"))
FREIGHT_UNKNOWN = Cause("FREIGHT-TEMPLATE-UNKNOWN", N_("freight template {raw} is not one of the store's templates "
                                                       "({known})"),
                        N_("pick an existing template or create it in the seller center first"))
MORE = part(N_("{shown} and {n} more"))
NO_ID = part(N_("(no id)"))


def _shown(values: list[str], limit: int = 5) -> str | Text:
    head = ", ".join(values[:limit])
    return Text(MORE, {"shown": head, "n": len(values) - limit}) if len(values) > limit else head


def _bad_chars(sku: str, rules: RowRules) -> list[str]:
    allowed = re.compile(f"[{rules.sku_allowed_chars}]")
    forbidden = re.compile(f"[{FORBIDDEN_SKU_CHARS}]")
    bad: list[str] = []
    for char in sku:
        if (forbidden.fullmatch(char) or not allowed.fullmatch(char)) and char not in bad:
            bad.append(char)
    return bad


def _sku_chars(sku: str, rules: RowRules, **where: Any) -> Finding:
    shown = " ".join(repr(c) for c in _bad_chars(sku, rules))
    return SKU_CHARS.finding(**where, sku=repr(sku), chars=shown, allowed=rules.sku_allowed_chars)


def _duplicate(sku: str, rows: list[int], products: list[str], **where: Any) -> Finding:
    shown_rows = _shown([str(r) for r in rows])
    if len(products) > 1:
        return SKU_DUPLICATE_ACROSS.finding(**where, sku=repr(sku), n=len(rows), rows=shown_rows,
                                            products=_shown(products))
    return SKU_DUPLICATE_IN.finding(**where, sku=repr(sku), n=len(rows), rows=shown_rows,
                                    product=products[0] or Text(NO_ID))


def _pid_finding(raw: str | None, **where: Any) -> Finding:
    if raw is None or raw.strip(_BLANKS) == "":
        return PRODUCT_ID_EMPTY.finding(**where)
    if re.search(r"[eE.]", raw):
        return PRODUCT_ID_ROUNDED.finding(**where, raw=repr(raw))
    return PRODUCT_ID_BAD.finding(**where, raw=repr(raw))


def _price(raw: str | None, **where: Any) -> Finding:
    if raw is None or raw.strip(_BLANKS) == "":
        return PRICE_EMPTY.finding(**where)
    return PRICE_BAD.finding(**where, raw=repr(raw))


def _discount(raw: str, price_ok: bool, price: str | None, **where: Any) -> Finding:
    value = raw.strip(_BLANKS)
    if re.fullmatch(_DECIMAL, value) and float(value) >= MIN_PRICE and price_ok:
        return DISCOUNT_NOT_BELOW.finding(**where, raw=repr(raw), price=repr(price))
    return DISCOUNT_BAD.finding(**where, raw=repr(raw))


def _stock(raw: str | None, **where: Any) -> Finding:
    if raw is None or raw.strip(_BLANKS) == "":
        return STOCK_EMPTY.finding(**where)
    return STOCK_BAD.finding(**where, raw=repr(raw))


def _freight(raw: str | None, rules: RowRules, **where: Any) -> Finding:
    known = _shown(sorted(rules.known_freight_templates or ()))
    if raw is None or raw.strip(_BLANKS) == "":
        return FREIGHT_EMPTY.finding(**where, known=known)
    return FREIGHT_UNKNOWN.finding(**where, raw=repr(raw), known=known)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.row or 0, _CODE_ORDER.get(f.code, 99)))


def _as_polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    return pl.from_pandas(frame)


def _text(name: str, table: pl.DataFrame) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name in table.columns else pl.lit(None, dtype=pl.String)


# --- the rules, one row at a time (the reference; also classifies the rows the screen flags) -------------

_FIELDS = {
    "SKU-MISSING": "sku_code", "SKU-CHARS": "sku_code", "SKU-DUPLICATE": "sku_code",
    "PRODUCT-ID-INVALID": "product_id", "TITLE-MISSING": "title", "TITLE-TOO-LONG": "title",
    "PRICE-INVALID": "price", "DISCOUNT-INVALID": "discount_price", "STOCK-INVALID": "stock",
    "FREIGHT-TEMPLATE-UNKNOWN": "freight_template_id",
}


def _blank(value: str | None) -> bool:
    return value is None or value.strip(_BLANKS) == ""


def _decimal(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip(_BLANKS)
    return float(value) if re.fullmatch(_DECIMAL, value) else None


def _product_id(raw: str | None) -> int | None:
    stripped = (raw or "").strip(_BLANKS)
    if re.fullmatch(_DIGITS, stripped) and 0 < int(stripped) <= MAX_INT64:
        return int(stripped)
    return None


class _Checker:
    """The row rules for one row at a time; SKU uses are collected for :meth:`duplicates`."""

    def __init__(self, file: str | None, rules: RowRules, check_freight: bool) -> None:
        self.file, self.rules, self.check_freight = file, rules, check_freight
        self.sku_re = re.compile(f"[{rules.sku_allowed_chars}]+")
        self.forbidden_re = re.compile(f"[{FORBIDDEN_SKU_CHARS}]")
        self.findings: list[Finding] = []
        self.uses: dict[str, list[tuple[int, int | None, str]]] = {}

    def row(self, rec: dict[str, Any], *, collect_sku: bool = True) -> None:
        row, sku, pid_raw = rec["row"], rec.get("sku_code"), rec.get("product_id")
        pid = _product_id(pid_raw)
        out = self.findings

        def at(code: str) -> dict[str, Any]:
            return {"file": self.file, "row": row, "product_id": pid, "sku_code": sku, "field": _FIELDS[code]}

        if _blank(sku):
            out.append(SKU_MISSING.finding(**at("SKU-MISSING")))
        else:
            assert sku is not None
            if not self.sku_re.fullmatch(sku) or self.forbidden_re.search(sku):
                out.append(_sku_chars(sku, self.rules, **at("SKU-CHARS")))
            if collect_sku:
                self.uses.setdefault(sku, []).append((row, pid, pid_raw or ""))
        if pid is None:
            out.append(_pid_finding(pid_raw, **at("PRODUCT-ID-INVALID")))
        title = rec.get("title")
        if _blank(title):
            out.append(TITLE_MISSING.finding(**at("TITLE-MISSING"), limit=MAX_TITLE_CHARS))
        elif len(title) > MAX_TITLE_CHARS:
            out.append(TITLE_TOO_LONG.finding(**at("TITLE-TOO-LONG"), n=len(title), limit=MAX_TITLE_CHARS))
        price = _decimal(rec.get("price"))
        price_ok = price is not None and MIN_PRICE <= price <= MAX_PRICE
        if not price_ok:
            out.append(_price(rec.get("price"), **at("PRICE-INVALID")))
        disc_raw = rec.get("discount_price")
        if not _blank(disc_raw):
            disc = _decimal(disc_raw)
            if disc is None or not (MIN_PRICE <= disc <= MAX_PRICE) or (price_ok and disc >= price):
                out.append(_discount(disc_raw, price_ok, rec.get("price"), **at("DISCOUNT-INVALID")))
        stock = (rec.get("stock") or "").strip(_BLANKS)
        if not (re.fullmatch(_DIGITS, stock) and int(stock) <= MAX_STOCK):
            out.append(_stock(rec.get("stock"), **at("STOCK-INVALID")))
        if self.check_freight:
            freight = rec.get("freight_template_id")
            known = self.rules.known_freight_templates or frozenset()
            if _blank(freight) or freight.strip(_BLANKS) not in known:
                out.append(_freight(freight, self.rules, **at("FREIGHT-TEMPLATE-UNKNOWN")))

    def duplicates(self) -> None:
        for sku, uses in self.uses.items():
            if len(uses) > 1:
                rows = sorted(u[0] for u in uses)
                products = sorted({u[2] for u in uses})
                for row, pid, _ in uses:
                    self.findings.append(_duplicate(sku, rows, products, file=self.file, row=row, product_id=pid,
                                                    sku_code=sku, field="sku_code"))


def _checker(table: pl.DataFrame, file: str | None, rules: RowRules) -> _Checker:
    check_freight = rules.known_freight_templates is not None and "freight_template_id" in table.columns
    return _Checker(file, rules, check_freight)


def check_rows_loop(frame: Any, *, file: str | None = None, rules: RowRules | None = None) -> list[Finding]:
    """The same rules as :func:`check_rows`, every row through a plain Python loop (reference, baseline)."""
    rules = rules or RowRules()
    table = _as_polars(frame)
    checker = _checker(table, file, rules)
    for rec in table.iter_rows(named=True):
        checker.row(rec)
    checker.duplicates()
    return _sorted(checker.findings)


# --- vectorised ------------------------------------------------------------------------------------------

def _clean_expr(table: pl.DataFrame, rules: RowRules) -> pl.Expr:
    """True for rows that certainly have no finding (besides duplicates), computed over whole columns.

    It may call a row dirty that the rules accept (e.g. a price with a leading space); such rows go through
    the per-row rules like every flagged row. It must never call a row clean that the rules reject: the
    property test in tests/unit/rules/test_rows.py checks exactly that against :func:`check_rows_loop`.
    """
    sku, pid, title = _text("sku_code", table), _text("product_id", table), _text("title", table)
    price, disc, stock = _text("price", table), _text("discount_price", table), _text("stock", table)
    # Rust regex class difference: allowed characters minus the always-forbidden ones
    sku_ok = sku.str.contains(rules.screen_pattern)
    pid_ok = pid.str.contains(r"^[1-9][0-9]{0,17}$")  # <= 18 digits: always within 1..2^63-1
    title_len = title.str.len_chars()
    title_ok = title_len.is_between(1, MAX_TITLE_CHARS) & ~title.str.starts_with(" ") \
        & ~title.str.starts_with("\t")
    price_num = price.cast(pl.Float64, strict=False)
    price_ok = price.str.contains(r"^[0-9]+(?:\.[0-9]+)?$") & price_num.is_between(MIN_PRICE, MAX_PRICE)
    disc_num = disc.cast(pl.Float64, strict=False)
    disc_ok = disc.is_null() | (
        disc.str.contains(r"^[0-9]+(?:\.[0-9]+)?$") & (disc_num >= MIN_PRICE) & (disc_num < price_num)
    )
    stock_ok = stock.str.contains(r"^[0-9]{1,6}$")
    clean = sku_ok & pid_ok & title_ok & price_ok & disc_ok & stock_ok
    if rules.known_freight_templates is not None and "freight_template_id" in table.columns:
        clean = clean & _text("freight_template_id", table).is_in(sorted(rules.known_freight_templates))
    return clean.fill_null(False)


def check_rows(frame: Any, *, file: str | None = None, rules: RowRules | None = None) -> list[Finding]:
    """All row findings of an export frame (polars or pandas, canonical columns + ``row``), sorted by row.

    Every row is screened with vectorised polars expressions (one pass over whole columns); only the rows the
    screen flags (typically around 1%) and the SKU codes whose hash repeats go through the per-row rules,
    which name the exact problem. Results equal :func:`check_rows_loop` by construction and by test.
    """
    rules = rules or RowRules()
    table = _as_polars(frame)
    if table.height == 0:
        return []
    sku = _text("sku_code", table)
    marks = table.select(
        _clean_expr(table, rules).alias("clean"),
        (sku.is_not_null() & sku.hash(seed=0).is_duplicated()).alias("dup"),
    )
    flagged = table.filter(~marks["clean"] | marks["dup"])
    checker = _checker(table, file, rules)
    if flagged.height:
        for rec, clean, dup in zip(flagged.iter_rows(named=True),
                                   marks["clean"].filter(~marks["clean"] | marks["dup"]),
                                   marks["dup"].filter(~marks["clean"] | marks["dup"]), strict=True):
            if clean:  # only a duplicate candidate: collect its SKU, the row itself passed the screen
                checker.uses.setdefault(rec["sku_code"], []).append(
                    (rec["row"], _product_id(rec.get("product_id")), rec.get("product_id") or ""))
            else:
                checker.row(rec, collect_sku=dup)
    checker.duplicates()
    return _sorted(checker.findings)


def blocked_rows(findings: Iterable[Finding]) -> set[int]:
    """Row numbers that at least one blocking (error) finding points at."""
    return {f.row for f in findings if f.blocking and f.row is not None}
