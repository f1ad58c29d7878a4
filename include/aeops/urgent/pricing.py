"""Price override maths: a percentage or absolute prices, floor and ceiling guards, rounding to the cent.

Money is :class:`~decimal.Decimal` throughout and leaves as a two-place string (``"12.50"``), the canonical
form of :mod:`aeops.catalog.model`. Rounding is half-up to the cent. The guards clamp: a computed price under
the floor becomes the floor, over the ceiling the ceiling (counted and reported, never silent). Price and
discount price are guarded alike; when the guards leave the discount not below the price, the discount is
dropped (the SKU then sells at its guarded price).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


class PriceError(ValueError):
    """A price rule or price file that cannot be used; the message says what to fix."""


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, what: str = "price") -> Decimal | None:
    """``"12.5"``/``12.5``/``Decimal`` -> Decimal; empty -> None; junk or non-finite -> PriceError."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "" or text.lower() in {"none", "null", "nan"}:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PriceError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise PriceError(f"{what} {value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class Guards:
    """Bounds every new price is clamped into (None: unbounded)."""

    floor: Decimal | None = None
    ceiling: Decimal | None = None

    def __post_init__(self) -> None:
        if self.floor is not None and self.floor <= 0:
            raise PriceError(f"floor price must be positive, not {self.floor}")
        if self.ceiling is not None and self.ceiling <= 0:
            raise PriceError(f"ceiling price must be positive, not {self.ceiling}")
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise PriceError(f"floor price {self.floor} is above the ceiling price {self.ceiling}")

    def clamp(self, value: Decimal) -> tuple[Decimal, str | None]:
        """The value inside the bounds and which guard (``floor``/``ceiling``) moved it, if any."""
        if self.floor is not None and value < self.floor:
            return cents(self.floor), "floor"
        if self.ceiling is not None and value > self.ceiling:
            return cents(self.ceiling), "ceiling"
        return value, None


@dataclass(frozen=True)
class NewPrice:
    """One SKU's overridden price; ``guard`` names the guard that clamped it (``floor``/``ceiling``)."""

    price: str
    discount_price: str | None
    guard: str | None = None
    discount_dropped: bool = False


def _finish(price: Decimal, discount: Decimal | None, guards: Guards) -> NewPrice:
    price, guard = guards.clamp(cents(price))
    if price <= 0:
        raise PriceError(f"the new price {price} is not positive")
    dropped = False
    if discount is not None:
        discount, discount_guard = guards.clamp(cents(discount))
        guard = guard or discount_guard
        if discount <= 0 or discount >= price:
            discount, dropped = None, True
    return NewPrice(str(price), None if discount is None else str(discount), guard, dropped)


def apply_percent(price: Any, discount_price: Any, percent: Any, guards: Guards = Guards()) -> NewPrice:
    """Both prices changed by ``percent`` (``-20`` = 20 % off), rounded to the cent, then guarded."""
    pct = to_decimal(percent, "percent")
    if pct is None or pct <= -100:
        raise PriceError(f"percent must be a number above -100, not {percent!r}")
    current = to_decimal(price)
    if current is None or current <= 0:
        raise PriceError(f"current price {price!r} is not a positive number")
    factor = 1 + pct / HUNDRED
    discount = to_decimal(discount_price, "discount price")
    return _finish(current * factor, None if discount is None else discount * factor, guards)


def apply_absolute(price: Any, discount_price: Any, current_discount: Any, *, discount_given: bool,
                   guards: Guards = Guards()) -> NewPrice:
    """An absolute new price; the file's discount when it has the column, else the current one (which must stay
    below the new price: a discount at or above it is refused, since dropping it silently would raise the
    selling price)."""
    new = to_decimal(price)
    if new is None or new <= 0:
        raise PriceError(f"price {price!r} is not a positive number")
    if discount_given:
        discount = to_decimal(discount_price, "discount price")
    else:
        discount = to_decimal(current_discount, "discount price")
        if discount is not None and cents(discount) >= cents(new):
            raise PriceError(f"the current discount price {cents(discount)} is not below the new price "
                             f"{cents(new)}; add a discount_price column to the price file")
    if discount is not None and cents(discount) >= cents(new):
        raise PriceError(f"discount price {cents(discount)} is not below the price {cents(new)}")
    return _finish(new, discount, guards)


@dataclass(frozen=True)
class PriceLine:
    """One line of an absolute price file."""

    line: int
    sku_code: str
    price: str
    discount_price: str | None
    product_id: int | None


SKU_HEADERS = {"sku_code", "sku", "sku编码"}
PRICE_HEADERS = {"price", "价格"}
DISCOUNT_HEADERS = {"discount_price", "折扣价"}
PRODUCT_HEADERS = {"product_id", "商品id", "商品ID"}


def read_price_file(path: str | Path) -> tuple[list[PriceLine], bool]:
    """Lines of a CSV (UTF-8 or GB18030) or XLSX price file: ``sku_code, price[, discount_price][, product_id]``.

    Returns the lines and whether the file has a discount column. PriceError for an unreadable file,
    missing columns or a bad value: with its line number and column, never a cell's value (the message reaches
    logs and Slack; the caller has checked the path with :func:`aeops.locations.confine`).
    """
    path = Path(str(path).removeprefix("file://"))
    if not path.is_file():
        raise PriceError(f"price file {path} not found")
    rows = _xlsx_rows(path) if path.suffix.lower() in {".xlsx", ".xlsm"} else _csv_rows(path)
    if not rows:
        raise PriceError(f"price file {path} is empty")
    header = [str(h or "").strip().lower() for h in rows[0]]

    def column(names: set[str]) -> int | None:
        for i, name in enumerate(header):
            if name in {n.lower() for n in names}:
                return i
        return None

    sku_col, price_col = column(SKU_HEADERS), column(PRICE_HEADERS)
    discount_col, product_col = column(DISCOUNT_HEADERS), column(PRODUCT_HEADERS)
    if sku_col is None or price_col is None:
        raise PriceError(f"price file {path} needs the columns sku_code and price (its first row has "
                         f"{len(header)} column(s), none of them both)")
    lines, seen = [], set()
    for number, row in enumerate(rows[1:], start=2):
        def cell(i: int | None, r: list[Any] = row) -> str:
            return "" if i is None or i >= len(r) or r[i] is None else str(r[i]).strip()

        sku = cell(sku_col)
        if not sku and not any(cell(i) for i in range(len(row))):
            continue
        if not sku:
            raise PriceError(f"price file {path} line {number}: no sku_code")
        if sku in seen:
            raise PriceError(f"price file {path} line {number}: its sku_code appears on an earlier line too")
        seen.add(sku)
        price = _file_decimal(cell(price_col), path, number, "price")
        if price is None or price <= 0:
            raise PriceError(f"price file {path} line {number}: price is not a positive number")
        discount = _file_decimal(cell(discount_col), path, number, "discount_price")
        pid_text = cell(product_col)
        if pid_text and not pid_text.isdigit():
            raise PriceError(f"price file {path} line {number}: product_id is not a number")
        lines.append(PriceLine(number, sku, str(price), None if discount is None else str(discount),
                               int(pid_text) if pid_text else None))
    return lines, discount_col is not None


def _file_decimal(text: str, path: Path, number: int, column: str) -> Decimal | None:
    """A price file's cell as a Decimal; PriceError naming the line and column, not the value."""
    try:
        return to_decimal(text, column)
    except PriceError:
        raise PriceError(f"price file {path} line {number}: {column} is not a number") from None


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise PriceError(f"price file {path} is neither UTF-8 nor GB18030 text")
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(path: Path) -> list[list[Any]]:
    """The first sheet's rows, within the XLSX limits and with defusedxml (:mod:`aeops.exports.xlsx`)."""
    from aeops.exports.xlsx import XlsxLimit, sheet_rows  # lazy: keeps DAG parsing light

    try:
        return [list(row) for row in sheet_rows(path.read_bytes())]
    except XlsxLimit as limit:
        raise PriceError(f"price file {path} is past the XLSX limit on {limit.kind} ({limit.values})") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one clear error
        raise PriceError(f"price file {path} cannot be read as XLSX ({type(exc).__name__})") from None
