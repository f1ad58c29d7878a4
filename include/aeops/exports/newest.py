"""Which file is the export of the day: the newest ``*.csv``/``*.xlsx`` of a store's exports folder.

Apart from :mod:`aeops.exports.reader` on purpose: finding the newest file needs no DataFrame library, so the tasks
that only look for an export (the freshness check in ``finish``, the waiting sensor's pokes) do not load pandas,
polars and pyarrow (about 150 MB and half a CPU-second a task process; docs/production.md).
"""

from __future__ import annotations

from aeops.locations import newest_file

EXPORT_SUFFIXES = (".csv", ".xlsx")  # what the ERP writes; the newest of these is the export of the day


def newest_export(folder_location: str) -> str | None:
    """The newest ``*.csv``/``*.xlsx`` in a folder by modification time (a file location is returned as is).

    Returns the location in the same form it was given (plain path or URL), or None when the folder holds no
    export. Raises :class:`aeops.locations.LocationError` when the folder does not exist.
    """
    return newest_file(folder_location, EXPORT_SUFFIXES)
