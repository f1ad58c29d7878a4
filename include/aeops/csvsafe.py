"""CSV that a spreadsheet opens as data, never as formulas: the one writer of every CSV aeops writes.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
strip a leading tab or carriage return before deciding), so a SKU code or title like ``=HYPERLINK(...)`` from a
catalog export would run when the team opens the findings CSV. Following OWASP's "CSV Injection" advice, a
text cell that starts with one of those characters is written with a single quote in front (``'=1+1``): the
spreadsheet shows it as text, the quote visible only in the formula bar.

The one exception, decided for the price and stock columns: a value that *is* a number is written as it is. A
Python ``int``/``float``/``Decimal``, and a text that is a plain decimal number (``-12.50``, ``+3``, ``-1e3``:
optional sign, digits, optional fraction and exponent, nothing else) are read by every spreadsheet as that
number, never as a formula, so ``-12.50`` stays a negative price a person can sum. Anything else starting with a
sign (``-1+1``, ``+A1``, ``-cmd|...``) is escaped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters a spreadsheet treats as the start of a formula (OWASP CSV injection)."""
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """``value`` as a cell no spreadsheet runs: numbers as they are, ``None`` as an empty cell, a text starting
    with one of :data:`FORMULA_STARTS` (and not a plain number) with a ``'`` in front."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`safe_cell` (headers included)."""

    def __init__(self, out: _TextSink, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row, escaped."""
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write every row, escaped."""
        for row in rows:
            self.writerow(row)


def writer(out: _TextSink, **fmtparams: Any) -> SafeWriter:
    """The CSV writer aeops uses everywhere (``csv.writer``'s arguments): cells escaped by :func:`safe_cell`."""
    return SafeWriter(out, **fmtparams)
