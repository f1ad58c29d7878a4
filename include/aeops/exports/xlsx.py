"""An XLSX workbook's first sheet, read within limits: the one XLSX reader (catalog exports, urgent price files).

A workbook is a zip of XML parts, and both can be made to explode: a part that unzips to gigabytes, a sheet
whose rows or columns run to Excel's maximum, an XML entity that expands a billion times. So:

- the parts' declared unzipped sizes together must stay under :data:`MAX_UNZIPPED_BYTES`;
- at most :data:`MAX_ROWS` rows and :data:`MAX_COLUMNS` columns are read (rows are taken as written, never
  padded to the sheet's declared dimension);
- openpyxl parses with ``defusedxml`` (it does so by itself when the package is installed and
  ``OPENPYXL_DEFUSEDXML`` is not ``False``): entities and DTDs are refused, never expanded. A workbook is not
  opened at all when defusedxml is not active.

Each limit is :class:`XlsxLimit` (``kind``: ``unzipped``, ``rows``, ``columns`` or ``parser``, with its numbers).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

MAX_ROWS = 500_000
"""Rows read from a sheet (header included): a catalog of 100,000 SKUs is a fifth of it."""
MAX_COLUMNS = 256
"""Columns read from a sheet: an export has a few dozen."""
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
"""The workbook's parts together, unzipped, as their zip entries declare them."""


class XlsxLimit(ValueError):
    """The workbook is past one of the limits (``kind``; ``values`` for the message)."""

    def __init__(self, kind: str, **values: Any) -> None:
        super().__init__(f"{kind}: {values}")
        self.kind = kind
        self.values = values


def defused() -> bool:
    """True when openpyxl parses with defusedxml."""
    import openpyxl  # lazy: openpyxl only for an .xlsx export

    return bool(getattr(openpyxl, "DEFUSEDXML", False))


def sheet_rows(raw: bytes) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows as value tuples (at most :data:`MAX_COLUMNS` values each); :class:`XlsxLimit` past a
    limit, openpyxl's or zipfile's own errors for a broken workbook."""
    if not defused():
        raise XlsxLimit("parser")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    if unzipped > MAX_UNZIPPED_BYTES:
        raise XlsxLimit("unzipped", size=unzipped // 2**20, limit=MAX_UNZIPPED_BYTES // 2**20)
    from openpyxl import load_workbook  # lazy: openpyxl only for an .xlsx export

    workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # rows as written, not padded to the (declared, maybe huge) sheet dimension
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise XlsxLimit("rows", limit=MAX_ROWS)
            if len(values) > MAX_COLUMNS and any(v not in (None, "") for v in values[MAX_COLUMNS:]):
                raise XlsxLimit("columns", limit=MAX_COLUMNS)
            yield values[:MAX_COLUMNS]
    finally:
        workbook.close()
