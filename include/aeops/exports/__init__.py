"""Find and read catalog exports: CSV (UTF-8, BOM, GBK/GB18030) or XLSX, from a path or ObjectStoragePath URL."""

from aeops.exports.columns import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from aeops.exports.reader import EXPORT_SUFFIXES, ExportData, newest_export, read_export

__all__ = ["CANONICAL_COLUMNS", "EXPORT_SUFFIXES", "REQUIRED_COLUMNS", "ExportData", "newest_export", "read_export"]
