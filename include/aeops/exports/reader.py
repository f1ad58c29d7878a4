"""Read a catalog export (CSV in UTF-8/UTF-8-BOM/UTF-16/GBK/GB18030, or XLSX) into canonical columns.

Every value is read as text, exactly as written in the file (no float conversion, so ``1005001234567890``
stays exact and an Excel-mangled ``1.005e+15`` stays visible for the rules to reject). Problems that stop
the whole file from being checked come back as ``FILE-*`` findings, never as exceptions.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from aeops.exports.columns import CANONICAL_COLUMNS, REQUIRED_COLUMNS, map_headers
from aeops.exports.xlsx import XlsxLimit, sheet_rows
from aeops.findings import Cause, Finding, Text, part
from aeops.i18n import N_
from aeops.locations import LocationError, read_bytes
from aeops.secrets import get_logger

if TYPE_CHECKING:
    import pandas as pd  # made on first use of ExportData.frame (polars' to_pandas loads it)

log = get_logger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")


# Each cause of a FILE-* finding (the finding's file is the export): what is wrong, what to do about it.
NOT_READ = Cause("FILE-UNREADABLE", N_("the export cannot be read: {error}"), N_("check the path and permissions"))
OLD_XLS = Cause("FILE-UNREADABLE", N_("old binary .xls files are not supported"),
                N_("save the sheet as .xlsx or CSV UTF-8"))
BROKEN_WORKBOOK = Cause("FILE-UNREADABLE", N_("the workbook cannot be opened ({error})"), N_("save it again as .xlsx"))
XLSX_LIMITS = {  # exports.xlsx's limits, by kind
    "unzipped": Cause("FILE-UNREADABLE", N_("the workbook unzips to {size} MB, more than the {limit} MB aeops opens"),
                      N_("save the catalog alone as .xlsx, or export it as CSV")),
    "rows": Cause("FILE-UNREADABLE", N_("the sheet has more than {limit} rows; not read"),
                  N_("split the catalog, or export it as CSV")),
    "columns": Cause("FILE-UNREADABLE", N_("the sheet has values beyond column {limit}; not read"),
                     N_("export only the catalog's columns")),
    "parser": Cause("FILE-UNREADABLE", N_("XLSX files are not opened: the safe XML parser (defusedxml) is not active"),
                    N_("install defusedxml and leave OPENPYXL_DEFUSEDXML unset")),
}
UNKNOWN_FORMAT = Cause("FILE-UNREADABLE", N_("unknown export format {suffix}"),
                       N_("export the catalog as .csv or .xlsx"))
CSV_UNPARSED = Cause("FILE-UNREADABLE", N_("the CSV cannot be parsed ({error})"), N_("check quoting and separators"))
WORKBOOK_CUT = Cause("FILE-TRUNCATED", N_("the workbook ends before its last part: it was cut short (the ERP may "
                                          "still be writing it)"), N_("wait for it to finish, then run again"))
CSV_CUT = Cause("FILE-TRUNCATED", N_("{why}: the file was cut short (the ERP may still be writing it)"),
                N_("let the ERP finish writing it (or use .done markers), then run again"))
NOT_TEXT = Cause("FILE-ENCODING", N_("the file is not text in UTF-8, UTF-16 or GBK/GB18030"),
                 N_("save it as CSV UTF-8 and export again"))
BINARY = Cause("FILE-ENCODING", N_("the file contains binary data (NUL bytes), not CSV text"),
               N_("export it as CSV or XLSX"))
EMPTY_FILE = Cause("FILE-COLUMNS", N_("the file is empty"), N_("check that the ERP wrote the whole export"))
NO_HEADER = Cause("FILE-COLUMNS", N_("the file has no header row"), N_("export it with its header row"))
EMPTY_SHEET = Cause("FILE-COLUMNS", N_("the first sheet is empty"), N_("put the catalog on the first sheet"))
COLUMNS = Cause("FILE-COLUMNS", N_("{problems} (found: {found})"),
                N_("see docs/validation.md for the accepted names"))
MISSING_COLUMNS = part(N_("missing required column(s) {columns}"))
NO_HEADER_FOUND = part(N_("no header"))
CUT_IN_QUOTE = part(N_("the file ends inside a quoted cell"))
CUT_IN_ROW = part(N_("the last line has {have} of the header's {want} cells and no line break"))
Problem = tuple[Cause, dict[str, Any]]
"""Why a file cannot be checked: a cause and the values of its message."""


@dataclass
class ExportData:
    """One export, read: ``table``, a polars frame of the canonical columns (all text) and ``row`` (the file's row
    number), empty when a FILE-* finding says why; ``frame`` the same as a pandas frame, made on first use (the
    daily sync's plan needs only the rows: :meth:`records`)."""

    path: str
    table: pl.DataFrame = field(repr=False)
    findings: list[Finding] = field(default_factory=list)
    size: int = 0
    sha256: str = ""
    encoding: str | None = None

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The export as a pandas frame (empty cells NaN)."""
        return self.table.to_pandas()

    def records(self, without_rows: Iterable[int] = ()) -> list[dict[str, Any]]:
        """The rows as dicts (empty cells None), leaving out the file rows ``without_rows``."""
        table = self.table.filter(~pl.col("row").is_in(list(without_rows))) if without_rows else self.table
        return table.to_dicts()

    @property
    def readable(self) -> bool:
        """True when no FILE-* finding stopped the check."""
        return not any(f.code.startswith("FILE-") for f in self.findings)


def _empty_table() -> pl.DataFrame:
    schema: dict[str, Any] = {c: pl.String for c in CANONICAL_COLUMNS}
    schema["row"] = pl.Int64
    return pl.DataFrame(schema=schema)


def _failed(location: str, problem: Problem, raw: bytes = b"", encoding: str | None = None) -> ExportData:
    finding = problem[0].finding(file=location, **problem[1])
    log.debug("export %s cannot be checked: %s", location, finding.message)  # the finding carries it
    table = _empty_table()
    return ExportData(
        path=location, table=table, size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest() if raw else "", encoding=encoding, findings=[finding],
    )


def _decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding it was in; UnicodeDecodeError when it is none of the supported ones."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"  # a superset of GBK/GB2312, as Chinese ERPs write them


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _canonical(rows: pl.DataFrame, headers: list[str], row_numbers: pl.Series | int) -> pl.DataFrame | Problem:
    """Canonical columns from header-less ``rows``; a problem when required columns are missing.

    ``row_numbers`` is the file row of the first data row (CSV) or one number per row (spreadsheets).
    """
    mapping, problems = map_headers(headers)
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping.values()]
    if missing or problems:
        parts = [Text(MISSING_COLUMNS, {"columns": ", ".join(missing)})] if missing else []
        parts.extend(problems)
        found = ", ".join(repr(h) for h in headers[:12] if h)
        return COLUMNS, {"problems": parts, "found": found or Text(NO_HEADER_FOUND)}
    by_column = {column: rows.columns[pos] for pos, column in mapping.items() if pos < len(rows.columns)}
    exprs = [
        (pl.col(by_column[c]).cast(pl.String) if c in by_column else pl.lit(None, dtype=pl.String)).alias(c)
        for c in CANONICAL_COLUMNS
    ]
    if isinstance(row_numbers, int):
        table = rows.select(exprs).with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + row_numbers).alias("row"))
    else:
        table = rows.select(exprs).with_columns(row_numbers.cast(pl.Int64).alias("row"))
    # blank lines / empty spreadsheet rows are not SKUs
    return table.filter(~pl.all_horizontal(pl.col(list(CANONICAL_COLUMNS)).is_null()))


def _read_csv(raw: bytes, location: str) -> tuple[pl.DataFrame | Problem, str | None]:
    """(table or problem, encoding)."""
    try:
        text, encoding = _decode(raw)
    except UnicodeDecodeError:
        return (NOT_TEXT, {}), None
    if "\x00" in text:
        return (BINARY, {}), encoding
    if not text.strip():
        return (EMPTY_FILE, {}), encoding
    cut = csv_truncation(text)
    if cut:
        return (CSV_CUT, {"why": cut}), encoding
    data = raw if encoding == "utf-8" else text.encode("utf-8")
    del text
    try:
        rows = pl.read_csv(
            io.BytesIO(data), has_header=False, infer_schema=False, separator=_delimiter(data[:65536].decode(
                "utf-8", errors="ignore")), quote_char='"', truncate_ragged_lines=True, encoding="utf8",
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (CSV_UNPARSED, {"error": first}), encoding
    if rows.height == 0:
        return (NO_HEADER, {}), encoding
    headers = [("" if v is None else str(v)) for v in rows.row(0)]
    return _canonical(rows.slice(1), headers, row_numbers=2), encoding


def csv_truncation(text: str) -> Text | None:
    """Why a CSV's text looks cut short (the ERP still writing it, or a copy that stopped), or None.

    Only a file that does not end with a line break is suspect (an ERP ends every record with one); it is cut
    when its last record is a quoted cell that never closes, or has fewer cells than the header. A file cut
    exactly after a line break cannot be told from a complete one: the store's ``.done`` markers (or its settle
    time) guard against that."""
    if text.endswith(("\n", "\r")):
        return None
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text[:65536]), strict=True))
    except csv.Error as exc:
        if "end of data" in str(exc):
            return Text(CUT_IN_QUOTE)
        return None  # another quoting problem: the parser reports it
    if len(records) >= 2 and records[-1] and len(records[-1]) < len(records[0]):
        return Text(CUT_IN_ROW, {"have": len(records[-1]), "want": len(records[0])})
    return None


def zip_truncated(raw: bytes) -> bool:
    """True when an XLSX (a zip) lacks the end-of-central-directory record its last bytes must hold: cut short."""
    return b"PK\x05\x06" not in raw[-65_557:]


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a user sees; numbers Excel cannot hold exactly keep their float form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps 15 significant digits: a float of 1e15 or more may already have lost digits, so it is
        # left in float form ("1.005e+15") for the rules to reject instead of becoming a wrong id.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


def _read_xlsx(raw: bytes, location: str) -> pl.DataFrame | Problem:
    header: list[str] | None = None
    columns: list[list[str | None]] = []
    row_numbers: list[int] = []
    try:
        for number, values in enumerate(sheet_rows(raw), start=1):
            if header is None:
                if any(v not in (None, "") for v in values):
                    header = ["" if v is None else str(v) for v in values]
                    columns = [[] for _ in header]
                continue
            texts = [_cell_text(v) for v in values[: len(header)]]
            texts += [None] * (len(header) - len(texts))
            for column, text in zip(columns, texts, strict=True):
                column.append(text)
            row_numbers.append(number)
    except XlsxLimit as limit:
        return XLSX_LIMITS[limit.kind], limit.values
    if header is None:
        return EMPTY_SHEET, {}
    rows = pl.DataFrame({f"c{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)})
    if rows.width == 0:
        rows = pl.DataFrame({"c0": pl.Series([], dtype=pl.String)})
    return _canonical(rows, header, row_numbers=pl.Series("row", row_numbers, dtype=pl.Int64))


def read_export(location: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ExportData:
    """Read the export at ``location`` (path or ObjectStoragePath URL; CSV or XLSX).

    Never raises for a bad file: the result then carries one FILE-* finding and an empty frame.
    """
    try:
        raw = read_bytes(location, max_bytes)
    except LocationError as exc:
        return _failed(location, (NOT_READ, {"error": str(exc)}))
    suffix = "." + location.rsplit(".", 1)[-1].lower() if "." in location.rsplit("/", 1)[-1] else ""
    encoding: str | None = None
    if raw.startswith(_OLE_MAGIC):
        return _failed(location, (OLD_XLS, {}), raw)
    if raw.startswith(_ZIP_MAGIC) and zip_truncated(raw):
        return _failed(location, (WORKBOOK_CUT, {}), raw)
    if raw.startswith(_ZIP_MAGIC) or suffix == ".xlsx":
        try:
            table: pl.DataFrame | Problem = _read_xlsx(raw, location)
        except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise many types for a broken workbook
            return _failed(location, (BROKEN_WORKBOOK, {"error": f"{type(exc).__name__}: {exc}"}), raw)
    elif suffix in _CSV_SUFFIXES or suffix == "":
        table, encoding = _read_csv(raw, location)
    else:
        return _failed(location, (UNKNOWN_FORMAT, {"suffix": repr(suffix)}), raw)
    if isinstance(table, tuple):
        return _failed(location, table, raw, encoding)
    log.info("read export %s: %d rows (%s)", location, table.height, encoding or "xlsx")
    return ExportData(path=location, table=table, size=len(raw),
                      sha256=hashlib.sha256(raw).hexdigest(), encoding=encoding)
