"""Find and read catalog exports: CSV (UTF-8, BOM, GBK/GB18030) or XLSX, from a path or ObjectStoragePath URL.

Finding the newest export is light (:mod:`aeops.exports.newest`); reading one loads polars
(:mod:`aeops.exports.reader`), so ``read_export`` and ``ExportData`` are imported from it on first use only: a task
that never reads an export (push, verify, finish) does not pay for the DataFrame libraries. pandas (and pyarrow)
load only where a task asks for ``ExportData.frame`` (validation does; plan does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aeops.exports.columns import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from aeops.exports.newest import EXPORT_SUFFIXES, newest_export

if TYPE_CHECKING:
    from aeops.exports.reader import ExportData, read_export

__all__ = ["CANONICAL_COLUMNS", "EXPORT_SUFFIXES", "REQUIRED_COLUMNS", "ExportData", "newest_export", "read_export"]
_FROM_READER = ("ExportData", "read_export")


def __getattr__(name: str) -> Any:
    """``read_export`` and ``ExportData`` from :mod:`aeops.exports.reader`, imported when first asked for."""
    if name in _FROM_READER:
        from aeops.exports import reader  # lazy: pandas, polars and pyarrow load only when an export is read

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
