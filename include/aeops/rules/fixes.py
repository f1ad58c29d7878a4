"""Safe auto-fixes: write a corrected copy into a staging folder, never touch the original.

:data:`AUTO_FIXES` maps a finding code to the function that fixes it; each takes the source path and a
staging folder and returns the staged file's path (a string).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path

from PIL import Image

from aeops.rules.images import ACCEPTED_FORMATS, ImageProblem, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

__all__ = ["AUTO_FIXES", "FixError", "flatten_onto_white"]


class FixError(ValueError):
    """The fix could not be applied; the message says why (one line)."""


def flatten_onto_white(path: str | PathLike[str], staging_dir: str | PathLike[str]) -> str:
    """Composite a transparent image onto white and write it to ``staging_dir``; returns the staged path.

    The staged file keeps the format (PNG stays PNG, WebP is written lossless, a JPEG is re-saved at
    quality 95), is RGB (no alpha) and is named ``<stem>.white-<sha8><suffix>`` where ``sha8`` comes from
    the source's bytes, so two sources with the same name never collide and re-running is idempotent.
    The original file is only read.
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise FixError(f"cannot read {source}: {exc}") from None
    try:
        with open_image_guarded(data) as im:
            fmt = im.format or "PNG"
            im.load()
            rgba = im.convert("RGBA")
    except ImageProblem as problem:
        raise FixError(f"cannot flatten {source}: {problem.text(source)}") from None
    except Exception as exc:  # noqa: BLE001 - decoder errors of any kind
        raise FixError(f"cannot flatten {source}: {type(exc).__name__}: {exc}") from None
    if fmt not in ACCEPTED_FORMATS:
        fmt = "PNG"
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    staging = Path(staging_dir)
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:8]
    suffix = source.suffix or {"PNG": ".png", "WEBP": ".webp"}.get(fmt, ".jpg")
    target = staging / f"{source.stem}.white-{digest}{suffix}"
    if target.resolve() == source.resolve():
        raise FixError(f"refusing to overwrite the original {source}")
    save_args: dict[str, object] = {"WEBP": {"lossless": True}, "PNG": {"optimize": False}}.get(
        fmt, {"quality": 95}
    )  # type: ignore[assignment]
    save_format = "JPEG" if fmt == "MPO" else fmt
    fd, tmp = tempfile.mkstemp(dir=staging, prefix=".flatten-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            flat.save(out, format=save_format, **save_args)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("flattened %s onto white -> %s", source, target)
    return str(target)


AUTO_FIXES: dict[str, Callable[[str | PathLike[str], str | PathLike[str]], str]] = {
    "IMG-TRANSPARENT": flatten_onto_white,
}
