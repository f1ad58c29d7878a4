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

from aeops.rules.findings import ROW_CODES, Finding, Severity

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
        except (re.error, pl.exceptions.PolarsError) as exc:
            raise RuleConfigError(
                f"sku_allowed_chars {self.sku_allowed_chars!r} is not a usable character class: {exc}"
            ) from None
        if self.known_freight_templates is not None:
            object.__setattr__(self, "known_freight_templates",
                               frozenset(str(t).strip() for t in self.known_freight_templates))

    @property
    def sku_pattern(self) -> str:
        return f"^[{self.sku_allowed_chars}]+$"


# --- messages (shared by both implementations) -------------------------------------------------------------

def _shown(values: list[str], limit: int = 5) -> str:
    head = ", ".join(values[:limit])
    return head + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _bad_chars(sku: str, rules: RowRules) -> list[str]:
    allowed = re.compile(f"[{rules.sku_allowed_chars}]")
    forbidden = re.compile(f"[{FORBIDDEN_SKU_CHARS}]")
    bad: list[str] = []
    for char in sku:
        if (forbidden.fullmatch(char) or not allowed.fullmatch(char)) and char not in bad:
            bad.append(char)
    return bad


def _msg_sku_chars(sku: str, rules: RowRules) -> str:
    shown = " ".join(repr(c) for c in _bad_chars(sku, rules))
    return (f"SKU code {sku!r} contains {shown}, which the marketplace rejects; rename the SKU in the ERP using "
            f"only [{rules.sku_allowed_chars}]")


def _msg_duplicate(sku: str, rows: list[int], products: list[str]) -> str:
    where = f"rows {_shown([str(r) for r in rows])}"
    if len(products) > 1:
        scope = f"across products {_shown(products)}"
    else:
        scope = f"within product {products[0] or '(no id)'}"
    return f"SKU code {sku!r} is used {len(rows)} times ({where}) {scope}; give each SKU its own code in the ERP"


def _msg_product_id(raw: str | None) -> str:
    if raw is None or raw.strip(_BLANKS) == "":
        return "product id is empty; fill in the AliExpress product id (a whole number) in the ERP"
    if re.search(r"[eE.]", raw):
        return (f"product id {raw!r} looks like a number Excel rounded (ids lose digits in scientific/decimal "
                "form); format the column as Text and export again with the full id")
    return f"product id {raw!r} is not a positive 64-bit whole number; copy the exact id from the seller center"


def _msg_price(raw: str | None) -> str:
    if raw is None or raw.strip(_BLANKS) == "":
        return "price is empty; set a price between 0.01 and 999999"
    return f"price {raw!r} is not a number between 0.01 and 999999 (digits and a '.' only); correct it in the ERP"


def _msg_discount(raw: str, price_ok: bool, price: str | None) -> str:
    value = raw.strip(_BLANKS)
    if re.fullmatch(_DECIMAL, value) and float(value) >= MIN_PRICE and price_ok:
        return f"discount price {raw!r} is not below the price {price!r}; lower it or leave it empty"
    return f"discount price {raw!r} is not a number between 0.01 and 999999; correct it or leave it empty"


def _msg_stock(raw: str | None) -> str:
    if raw is None or raw.strip(_BLANKS) == "":
        return "stock is empty; set a whole number between 0 and 999999"
    return f"stock {raw!r} is not a whole number between 0 and 999999; correct it in the ERP"


def _msg_freight(raw: str | None, rules: RowRules) -> str:
    known = sorted(rules.known_freight_templates or ())
    if raw is None or raw.strip(_BLANKS) == "":
        return f"freight template is empty; use one of the store's templates ({_shown(known)})"
    return (f"freight template {raw!r} is not one of the store's templates ({_shown(known)}); pick an existing "
            "template or create it in the seller center first")


_STATIC = {
    "SKU-MISSING": "SKU code is empty; give every SKU row its own SKU code in the ERP and export again",
    "TITLE-MISSING": "title is empty; write a product title (at most 128 characters)",
}


def _finding(code: str, file: str | None, row: int, pid: int | None, sku: str | None, field: str,
             message: str) -> Finding:
    return Finding(code=code, severity=Severity.ERROR, message=message, file=file, row=row, product_id=pid,
                   sku_code=sku, field=field)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.row or 0, _CODE_ORDER.get(f.code, 99)))


def _as_polars(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    return pl.from_pandas(frame)


def _text(name: str, table: pl.DataFrame) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name in table.columns else pl.lit(None, dtype=pl.String)


# --- vectorised ------------------------------------------------------------------------------------------

def check_rows(frame: Any, *, file: str | None = None, rules: RowRules | None = None) -> list[Finding]:
    """All row findings of an export frame (polars or pandas, canonical columns + ``row``), sorted by row."""
    rules = rules or RowRules()
    table = _as_polars(frame)
    if table.height == 0:
        return []
    blank = lambda e: e.is_null() | (e.str.strip_chars(_BLANKS) == "")  # noqa: E731
    sku, pid_raw, title = _text("sku_code", table), _text("product_id", table), _text("title", table)
    price_raw, disc_raw, stock_raw = _text("price", table), _text("discount_price", table), _text("stock", table)
    freight_raw = _text("freight_template_id", table)
    pid_s = pid_raw.str.strip_chars(_BLANKS)
    pid_core = pid_s.str.strip_chars_start("0")
    pid_ok = (
        pid_s.str.contains(_DIGITS).fill_null(False)
        & (pid_core.str.len_chars() > 0)
        & ((pid_core.str.len_chars() < 19) | ((pid_core.str.len_chars() == 19) & (pid_core <= str(MAX_INT64))))
    ).fill_null(False)
    price_s = price_raw.str.strip_chars(_BLANKS)
    price_num = pl.when(price_s.str.contains(_DECIMAL)).then(price_s.cast(pl.Float64, strict=False))
    price_ok = price_num.is_between(MIN_PRICE, MAX_PRICE).fill_null(False)
    disc_s = disc_raw.str.strip_chars(_BLANKS)
    disc_num = pl.when(disc_s.str.contains(_DECIMAL)).then(disc_s.cast(pl.Float64, strict=False))
    disc_bad = ~blank(disc_raw) & ~(
        disc_num.is_between(MIN_PRICE, MAX_PRICE) & (~price_ok | (disc_num < price_num))
    ).fill_null(False)
    stock_s = stock_raw.str.strip_chars(_BLANKS)
    stock_ok = (stock_s.str.contains(_DIGITS) & (stock_s.str.strip_chars_start("0").str.len_chars() <= 6)) \
        .fill_null(False)
    sku_missing = blank(sku)
    sku_chars = ~sku_missing & (
        ~sku.str.contains(rules.sku_pattern) | sku.str.contains(f"[{FORBIDDEN_SKU_CHARS}]")
    ).fill_null(False)
    title_missing = blank(title)
    flags = table.select(
        pl.col("row").cast(pl.Int64),
        sku.alias("sku"), pid_raw.alias("pid_raw"), title.alias("title"), price_raw.alias("price"),
        disc_raw.alias("disc"), stock_raw.alias("stock"), freight_raw.alias("freight"),
        pl.when(pid_ok).then(pid_core.cast(pl.Int64, strict=False)).alias("pid"),
        price_ok.alias("price_ok"),
        sku_missing.alias("SKU-MISSING"), sku_chars.alias("SKU-CHARS"), (~pid_ok).alias("PRODUCT-ID-INVALID"),
        title_missing.alias("TITLE-MISSING"),
        (~title_missing & (title.str.len_chars() > MAX_TITLE_CHARS)).fill_null(False).alias("TITLE-TOO-LONG"),
        (~price_ok).alias("PRICE-INVALID"), disc_bad.alias("DISCOUNT-INVALID"),
        (~stock_ok).alias("STOCK-INVALID"),
        (blank(freight_raw) | ~freight_raw.str.strip_chars(_BLANKS).is_in(sorted(rules.known_freight_templates)))
        .fill_null(True).alias("FREIGHT-TEMPLATE-UNKNOWN")
        if rules.known_freight_templates is not None and "freight_template_id" in table.columns
        else pl.lit(False).alias("FREIGHT-TEMPLATE-UNKNOWN"),
    )
    any_flag = pl.any_horizontal([c for c in ROW_CODES if c != "SKU-DUPLICATE"])
    findings: list[Finding] = []
    messages = {
        "SKU-CHARS": lambda r: _msg_sku_chars(r["sku"], rules),
        "PRODUCT-ID-INVALID": lambda r: _msg_product_id(r["pid_raw"]),
        "TITLE-TOO-LONG": lambda r: f"title is {len(r['title'])} characters, the marketplace allows at most "
                                    f"{MAX_TITLE_CHARS}; shorten it",
        "PRICE-INVALID": lambda r: _msg_price(r["price"]),
        "DISCOUNT-INVALID": lambda r: _msg_discount(r["disc"], r["price_ok"], r["price"]),
        "STOCK-INVALID": lambda r: _msg_stock(r["stock"]),
        "FREIGHT-TEMPLATE-UNKNOWN": lambda r: _msg_freight(r["freight"], rules),
    }
    fields = _FIELDS
    for r in flags.filter(any_flag).iter_rows(named=True):
        for code in ROW_CODES:
            if code != "SKU-DUPLICATE" and r[code]:
                message = _STATIC[code] if code in _STATIC else messages[code](r)
                findings.append(_finding(code, file, r["row"], r["pid"], r["sku"], fields[code], message))
    duplicates = (
        flags.filter(~pl.col("SKU-MISSING"))
        .group_by("sku")
        .agg(pl.col("row"), pl.col("pid"), pl.col("pid_raw").fill_null("").unique(maintain_order=True))
        .filter(pl.col("row").list.len() > 1)
    )
    for sku_code, rows, pids, products in duplicates.iter_rows():
        order = sorted(range(len(rows)), key=lambda i: rows[i])
        rows_sorted = [rows[i] for i in order]
        message = _msg_duplicate(sku_code, rows_sorted, sorted(products))
        for i in order:
            findings.append(_finding("SKU-DUPLICATE", file, rows[i], pids[i], sku_code, "sku_code", message))
    return _sorted(findings)


_FIELDS = {
    "SKU-MISSING": "sku_code", "SKU-CHARS": "sku_code", "SKU-DUPLICATE": "sku_code",
    "PRODUCT-ID-INVALID": "product_id", "TITLE-MISSING": "title", "TITLE-TOO-LONG": "title",
    "PRICE-INVALID": "price", "DISCOUNT-INVALID": "discount_price", "STOCK-INVALID": "stock",
    "FREIGHT-TEMPLATE-UNKNOWN": "freight_template_id",
}


# --- reference: a plain per-row loop ----------------------------------------------------------------------

def _blank(value: str | None) -> bool:
    return value is None or value.strip(_BLANKS) == ""


def _decimal(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip(_BLANKS)
    return float(value) if re.fullmatch(_DECIMAL, value) else None


def check_rows_loop(frame: Any, *, file: str | None = None, rules: RowRules | None = None) -> list[Finding]:
    """The same rules as :func:`check_rows`, one row at a time (reference and benchmark baseline)."""
    rules = rules or RowRules()
    table = _as_polars(frame)
    sku_re, forbidden_re = re.compile(f"[{rules.sku_allowed_chars}]+"), re.compile(f"[{FORBIDDEN_SKU_CHARS}]")
    check_freight = rules.known_freight_templates is not None and "freight_template_id" in table.columns
    findings: list[Finding] = []
    seen: dict[str, list[tuple[int, int | None, str]]] = {}
    for rec in table.iter_rows(named=True):
        row, sku = rec["row"], rec.get("sku_code")
        pid_raw = rec.get("product_id")
        pid: int | None = None
        stripped = (pid_raw or "").strip(_BLANKS)
        if re.fullmatch(_DIGITS, stripped) and 0 < int(stripped) <= MAX_INT64:
            pid = int(stripped)

        def add(code: str, message: str, row: int = row, pid: int | None = pid, sku: str | None = sku) -> None:
            findings.append(_finding(code, file, row, pid, sku, _FIELDS[code], message))

        if _blank(sku):
            add("SKU-MISSING", _STATIC["SKU-MISSING"])
        else:
            assert sku is not None
            if not sku_re.fullmatch(sku) or forbidden_re.search(sku):
                add("SKU-CHARS", _msg_sku_chars(sku, rules))
            seen.setdefault(sku, []).append((row, pid, pid_raw or ""))
        if pid is None:
            add("PRODUCT-ID-INVALID", _msg_product_id(pid_raw))
        title = rec.get("title")
        if _blank(title):
            add("TITLE-MISSING", _STATIC["TITLE-MISSING"])
        elif len(title) > MAX_TITLE_CHARS:
            add("TITLE-TOO-LONG", f"title is {len(title)} characters, the marketplace allows at most "
                                  f"{MAX_TITLE_CHARS}; shorten it")
        price = _decimal(rec.get("price"))
        price_ok = price is not None and MIN_PRICE <= price <= MAX_PRICE
        if not price_ok:
            add("PRICE-INVALID", _msg_price(rec.get("price")))
        disc_raw = rec.get("discount_price")
        if not _blank(disc_raw):
            disc = _decimal(disc_raw)
            if disc is None or not (MIN_PRICE <= disc <= MAX_PRICE) or (price_ok and disc >= price):
                add("DISCOUNT-INVALID", _msg_discount(disc_raw, price_ok, rec.get("price")))
        stock = (rec.get("stock") or "").strip(_BLANKS)
        if not (re.fullmatch(_DIGITS, stock) and int(stock) <= MAX_STOCK):
            add("STOCK-INVALID", _msg_stock(rec.get("stock")))
        if check_freight:
            freight = rec.get("freight_template_id")
            if _blank(freight) or freight.strip(_BLANKS) not in rules.known_freight_templates:
                add("FREIGHT-TEMPLATE-UNKNOWN", _msg_freight(freight, rules))
    for sku, uses in seen.items():
        if len(uses) > 1:
            rows = sorted(u[0] for u in uses)
            message = _msg_duplicate(sku, rows, sorted({u[2] for u in uses}))
            for row, pid, _ in uses:
                findings.append(_finding("SKU-DUPLICATE", file, row, pid, sku, "sku_code", message))
    return _sorted(findings)


def blocked_rows(findings: Iterable[Finding]) -> set[int]:
    """Row numbers that at least one blocking (error) finding points at."""
    return {f.row for f in findings if f.blocking and f.row is not None}
