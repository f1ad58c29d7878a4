"""The one storage-location resolver: exports, certificates, logos and reports all go through it.

A location setting (``exports``, ``certs``, ``logo``, ``reports``) holds a plain path, a ``file://`` URI or
another URL Airflow's ``ObjectStoragePath`` can open. :func:`resolve` turns it into a ``pathlib.Path`` for local
ones (no Airflow import, so the CLI starts fast) and an ``ObjectStoragePath`` for the rest; both offer the same
``open``/``read_bytes``/``iterdir``/``stat``/``mkdir``/``write_text`` methods. Every problem becomes one
:class:`LocationError` with a readable one-line reason.

Supported and tested here: plain paths and ``file://``. aeops installs no object-store filesystem: an
``s3://``, ``gs://`` or ``abfs://`` location needs that filesystem's Airflow provider (for ``s3://``:
``apache-airflow-providers-amazon[s3fs]``) and a connection, which this project neither installs nor tests;
without it the location fails with :data:`UNSUPPORTED` naming the scheme.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit

SUPPORTED = "plain paths and file:// URLs"
UNSUPPORTED = ("{url}: the {scheme}:// scheme is not supported by this installation (supported: " + SUPPORTED
               + "; another object store needs its Airflow provider, e.g. apache-airflow-providers-amazon[s3fs] "
               "for s3://)")


class LocationError(OSError):
    """The location is not configured, does not exist, is of the wrong kind or cannot be read (one line)."""


def is_url(location: str) -> bool:
    """Whether ``location`` is a URL (``scheme://...``) rather than a plain path."""
    return "://" in str(location)


def is_local(location: str) -> bool:
    """Whether ``location`` is on this machine: a plain path or a ``file://`` URL."""
    text = str(location).strip()
    return not is_url(text) or text.startswith("file://")


def resolve(location: str | Path) -> Any:
    """``location`` as a ``pathlib.Path`` (plain path or ``file://``) or an ``ObjectStoragePath``."""
    if isinstance(location, Path):
        return location
    text = str(location).strip()
    if text.startswith("file://"):
        return Path(unquote(urlparse(text).path))
    if is_url(text):
        from airflow.sdk import ObjectStoragePath  # lazy: the CLI runs without Airflow

        try:
            path = ObjectStoragePath(text)
            path.fs  # noqa: B018 - the filesystem is made lazily; an unknown scheme fails here, not mid-read
            return path
        except ImportError:  # fsspec knows the scheme but its package is missing ("Install s3fs to access S3")
            raise LocationError(UNSUPPORTED.format(url=text, scheme=text.split("://", 1)[0])) from None
        except ValueError as exc:  # "No filesystem registered for scheme s3"
            if "no filesystem registered" in str(exc).lower():
                raise LocationError(UNSUPPORTED.format(url=text, scheme=text.split("://", 1)[0])) from None
            raise LocationError(f"cannot open {text}: {exc}") from None
    return Path(text)


def confine(location: str, roots: Mapping[str, str], setting: str) -> str:
    """``location`` (a path, ``file://`` or URL a person gave, e.g. a Param) when it lies inside one of ``roots``
    (setting name -> a folder location, or a file location meaning its folder), else one-line LocationError naming
    ``setting`` and the roots' settings. Checked before anything is opened, so nothing outside is read and a
    refusal says nothing of what exists there. Local: a relative path is taken inside the first local root; ``..``
    and symlinks are resolved first (a link pointing out is refused). URLs: the same scheme and host under the
    root's prefix, no ``.``/``..`` segment. Returns the absolute path (local) or the URL."""
    text = str(location or "").strip()
    named = [(name, str(root).strip()) for name, root in roots.items() if str(root or "").strip()]
    where = " or ".join(f"stores[].{name}" for name, _ in named)
    if not named:
        raise LocationError(f"{setting} {text!r} cannot be read: no folder for it is configured "
                            f"({' or '.join(f'stores[].{name}' for name in roots)})")
    refused = LocationError(f"{setting} {text!r} is outside the folders it may be read from ({where}); "
                            "put the file there")
    if is_local(text):
        path = resolve(text) if is_url(text) else Path(text).expanduser()
        for _, root in named:
            if not is_local(root):
                continue
            base = resolve(root)
            base = base.parent if base.is_file() else base
            try:
                real, base_real = (path if path.is_absolute() else base / path).resolve(), base.resolve()
            except (OSError, RuntimeError):  # a symlink loop
                raise refused from None
            if real.is_relative_to(base_real):
                return str(real)
        raise refused

    if any(part in (".", "..") for part in urlsplit(text).path.split("/")):
        raise refused
    for _, root in named:
        prefix = root if not is_local(root) else ""
        if prefix and (text == prefix or text.startswith(prefix.rstrip("/") + "/")):
            return text
    raise refused


def join(location: str, name: str) -> str:
    """The location of ``name`` inside folder ``location``, in the same form (path or URL)."""
    if is_url(location):
        return str(location).rstrip("/") + "/" + name
    return str(Path(location) / name)


def read_bytes(location: str, max_bytes: int) -> bytes:
    """The whole file at ``location``; LocationError with a readable reason otherwise."""
    try:
        path = resolve(location)
        if not path.exists():
            raise LocationError(f"{location} does not exist")
        if path.is_dir():
            raise LocationError(f"{location} is a folder, not a file")
        size = path.stat().st_size
        if size is not None and size > max_bytes:
            raise LocationError(f"{location} is {size} bytes, more than the {max_bytes} byte limit")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise LocationError(f"{location} is more than the {max_bytes} byte limit")
        return data
    except LocationError:
        raise
    except ValueError as exc:
        raise LocationError(f"cannot open {location}: {exc}") from None
    except OSError as exc:
        raise LocationError(f"cannot read {location}: {exc.strerror or exc}") from None


def newest_file(folder_location: str, suffixes: Iterable[str]) -> str | None:
    """The newest file with one of ``suffixes`` in a folder, by modification time then name (a file location is
    returned as is when its suffix matches). The answer has the form the location was given in (path or URL);
    None when the folder holds no such file; LocationError when the folder does not exist."""
    wanted = tuple(s.lower() for s in suffixes)
    folder = resolve(folder_location)
    try:
        if not folder.exists():
            raise LocationError(f"{folder_location} does not exist")
        if not folder.is_dir():
            return folder_location if folder.suffix.lower() in wanted else None
        candidates = [(p.stat().st_mtime, p.name) for p in folder.iterdir()
                      if p.suffix.lower() in wanted and p.is_file()]
    except LocationError:
        raise
    except OSError as exc:
        raise LocationError(f"cannot list {folder_location}: {exc.strerror or exc}") from None
    if not candidates:
        return None
    return join(folder_location, max(candidates)[1])


def list_files(location: str, what: str) -> list[Any]:
    """The non-hidden files directly in folder ``location``, sorted by name; LocationError if unusable.

    ``what`` names the setting in the error, e.g. ``"certs"``.
    """
    if not str(location or "").strip():
        raise LocationError(f"the store has no {what!r} location configured (aeops_config stores[].{what})")
    folder = resolve(location)
    try:
        if not folder.is_dir():
            raise LocationError(f"the {what} location {location!r} does not exist or is not a folder")
        entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()]
    except LocationError:
        raise
    except OSError as exc:
        raise LocationError(f"the {what} location {location!r} cannot be listed ({type(exc).__name__}: "
                            f"{exc})") from None
    return sorted(entries, key=lambda p: p.name)


def folder(location: str | None, default: Path) -> Any:
    """A folder to write into (created if missing): ``location`` resolved, or ``default`` when it is empty."""
    target = resolve(location) if location else default
    target.mkdir(parents=True, exist_ok=True)
    return target


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
