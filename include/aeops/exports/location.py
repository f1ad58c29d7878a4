"""Where exports live: local paths or any ObjectStoragePath URL (``file://``, ``s3://``, ...).

Plain paths are read with :mod:`pathlib` (no Airflow import, so the CLI starts fast); anything with a
``scheme://`` goes through Airflow's ``ObjectStoragePath`` so every filesystem Airflow knows works.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXPORT_SUFFIXES = (".csv", ".xlsx")


class LocationError(OSError):
    """The location cannot be read (missing, a folder, unknown scheme, permission...)."""


def is_url(location: str) -> bool:
    return "://" in location


def _object_path(location: str) -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(location)


def read_bytes(location: str, max_bytes: int) -> bytes:
    """The whole file at ``location``; LocationError with a readable reason otherwise."""
    try:
        if is_url(location):
            path = _object_path(location)
            if not path.exists():
                raise LocationError(f"{location} does not exist")
            if path.is_dir():
                raise LocationError(f"{location} is a folder, not an export file")
            size = path.stat().st_size
            if size is not None and size > max_bytes:
                raise LocationError(f"{location} is {size} bytes, more than the {max_bytes} byte limit")
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise LocationError(f"{location} is more than the {max_bytes} byte limit")
            return data
        local = Path(location)
        if not local.exists():
            raise LocationError(f"{location} does not exist")
        if local.is_dir():
            raise LocationError(f"{location} is a folder, not an export file")
        if local.stat().st_size > max_bytes:
            raise LocationError(f"{location} is {local.stat().st_size} bytes, more than the {max_bytes} byte limit")
        return local.read_bytes()
    except LocationError:
        raise
    except ValueError as exc:  # e.g. "No filesystem registered for scheme ..."
        raise LocationError(f"cannot open {location}: {exc}") from None
    except OSError as exc:
        raise LocationError(f"cannot read {location}: {exc.strerror or exc}") from None


def newest_export(folder_location: str) -> str | None:
    """The newest ``*.csv``/``*.xlsx`` in a folder by modification time (a file location is returned as is).

    Returns the location in the same form it was given (plain path or URL), or None when the folder holds no
    export. Raises LocationError when the folder does not exist.
    """
    if is_url(folder_location):
        folder = _object_path(folder_location)
        if not folder.exists():
            raise LocationError(f"{folder_location} does not exist")
        if not folder.is_dir():
            return folder_location if folder.suffix.lower() in EXPORT_SUFFIXES else None
        candidates = [(p.stat().st_mtime, p.name, p) for p in folder.iterdir()
                      if p.suffix.lower() in EXPORT_SUFFIXES and p.is_file()]
        if not candidates:
            return None
        newest = max(candidates, key=lambda c: (c[0], c[1]))[2]
        return folder_location.rstrip("/") + "/" + newest.name
    local = Path(folder_location)
    if not local.exists():
        raise LocationError(f"{folder_location} does not exist")
    if local.is_file():
        return folder_location if local.suffix.lower() in EXPORT_SUFFIXES else None
    files = [p for p in local.iterdir() if p.suffix.lower() in EXPORT_SUFFIXES and p.is_file()]
    if not files:
        return None
    return str(max(files, key=lambda p: (p.stat().st_mtime, p.name)))
