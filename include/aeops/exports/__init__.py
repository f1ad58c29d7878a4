"""Find and read catalog exports: CSV (UTF-8, BOM, GBK/GB18030) or XLSX, from a path or ObjectStoragePath URL."""

from aeops.exports.columns import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from aeops.exports.location import LocationError, newest_export
from aeops.exports.reader import ExportData, read_export

__all__ = ["CANONICAL_COLUMNS", "REQUIRED_COLUMNS", "ExportData", "LocationError", "newest_export", "read_export"]
