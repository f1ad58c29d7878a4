"""Files of a store location: a local path, ``file://`` URI or any ObjectStoragePath (``s3://`` ...).

The store settings (``certs``, ``logo``) hold a folder. Local paths are read with pathlib; anything else
goes through Airflow's ``ObjectStoragePath`` (imported only then), like :mod:`aeops.exports`.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class LocationError(OSError):
    """The location is not configured, does not exist or is not a folder (one line, no traceback)."""


def location(uri: str) -> Any:
    """``uri`` as a ``pathlib.Path`` (plain path or ``file://``) or an ``ObjectStoragePath``."""
    text = str(uri).strip()
    if "://" in text and not text.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(text)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(text).path))
    return Path(text)


def list_files(uri: str, what: str) -> list[Any]:
    """The non-hidden files directly in folder ``uri``, sorted by name; LocationError if unusable.

    ``what`` names the setting in the error, e.g. ``"certs"``.
    """
    if not str(uri or "").strip():
        raise LocationError(f"the store has no {what!r} location configured (aeops_config stores[].{what})")
    folder = location(uri)
    try:
        if not folder.is_dir():
            raise LocationError(f"the {what} location {uri!r} does not exist or is not a folder")
        entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()]
    except LocationError:
        raise
    except OSError as exc:
        raise LocationError(f"the {what} location {uri!r} cannot be listed ({type(exc).__name__}: {exc})") from None
    return sorted(entries, key=lambda p: p.name)


def sha256_of(path: Any) -> str | None:
    """Hex sha256 of the file's bytes; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def modified_at(path: Any) -> datetime | None:
    """The file's modification time (UTC) where the filesystem has one."""
    try:
        return datetime.fromtimestamp(float(path.stat().st_mtime), tz=UTC)
    except (OSError, AttributeError, TypeError, ValueError):
        return None


@contextmanager
def local_copy(path: Any) -> Iterator[Path]:
    """A local ``Path`` with the file's bytes: the file itself when local, else a temporary copy."""
    if isinstance(path, Path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="aeops-") as tmp:
        target = Path(tmp) / path.name
        with path.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        yield target
