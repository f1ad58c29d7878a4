"""Logo rules: the store logo must be a PNG (``LOGO-FORMAT``) of at least 800x800 (``LOGO-SIZE``).

An unreadable, truncated or non-image file is ``LOGO-FORMAT`` with a message saying what is wrong.
(``LOGO-STALE``, the quarterly rotation reminder, belongs to the logo-rotation DAG, not to this check.)
``LOGO-TEXT`` (a warning) when the text detector reads text over the logo.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from aeops.findings import Cause, Finding
from aeops.i18n import N_
from aeops.rules.detectors import logo_text
from aeops.rules.images import ImageProblem, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

__all__ = ["LOGO_MAX_BYTES", "LOGO_MIN_SIDE", "check_logo"]

LOGO_MIN_SIDE = 800
LOGO_MAX_BYTES = 20 * 1024 * 1024
"""Larger files are not read (a logo is a few hundred KB)."""


LARGE = Cause("LOGO-FORMAT", N_("logo {source} is larger than {limit} MB"),
              N_("export a PNG of about 800x800 to 1200x1200"))
ABSENT = Cause("LOGO-FORMAT", N_("logo {source} does not exist"),
               N_("drop the new logo (PNG, at least {side}x{side}) there"))
UNREADABLE = Cause("LOGO-FORMAT", N_("logo {source} cannot be read ({error})"),
                   N_("check that the file can be read and is complete"))
NOT_HASHED = Cause("LOGO-FORMAT", N_("logo {source} cannot be read"),
                   N_("check that the file can be read and is complete"))
NOT_PNG = Cause("LOGO-FORMAT", N_("logo {source} is {format}, not PNG"), N_("export it as PNG"))
DAMAGED = Cause("LOGO-FORMAT", N_("logo {source} is a damaged PNG ({error})"), N_("export it again"))
BOMB = Cause("LOGO-FORMAT", N_("logo {source} is refused as a decompression bomb ({error})"),
             N_("export it at a normal size"))
NOT_AN_IMAGE = Cause("LOGO-FORMAT", N_("logo {source} is not an image Pillow can identify (wrong file, or an "
                                       "unsupported format)"), N_("save it as PNG"))
NOT_OPENED = Cause("LOGO-FORMAT", N_("logo {source} cannot be opened ({error})"), N_("export it again as PNG"))
TOO_MANY_PIXELS = Cause("LOGO-FORMAT", N_("logo {source} is {width}x{height} pixels, more than the {limit} pixel "
                                          "decompression-bomb limit"), N_("export it at a normal size"))
SMALL = Cause("LOGO-SIZE", N_("logo {source} is {width}x{height}, below the {side}x{side} minimum"),
              N_("export it larger"))
_GUARDS = {"bomb": BOMB, "unknown": NOT_AN_IMAGE, "open": NOT_OPENED, "pixels": TOO_MANY_PIXELS}


def check_logo(path: str | PathLike[str], *, detect_text: bool = True) -> list[Finding]:
    """Findings for the logo file at ``path``: empty when it is a readable PNG of at least 800x800 with no text
    over it. ``LOGO-TEXT`` (the text detector, :mod:`aeops.rules.detectors`) is a warning: a person decides."""
    source = Path(path)
    file = str(source)

    def finding(cause: Cause, **params: Any) -> list[Finding]:
        return [cause.finding(file=file, source=file, **params)]

    try:
        if source.stat().st_size > LOGO_MAX_BYTES:
            return finding(LARGE, limit=LOGO_MAX_BYTES // 2**20)
        data = source.read_bytes()
    except FileNotFoundError:
        return finding(ABSENT, side=LOGO_MIN_SIDE)
    except OSError as exc:
        return finding(UNREADABLE, error=f"{type(exc).__name__}: {exc}")
    try:
        with open_image_guarded(data) as im:
            fmt = im.format or "?"
            width, height = im.size
            if fmt != "PNG":
                return finding(NOT_PNG, format=fmt)
            try:
                im.load()
            except Exception as exc:  # noqa: BLE001 - truncated/corrupt PNG of any kind
                return finding(DAMAGED, error=f"{type(exc).__name__}: {exc}")
    except ImageProblem as problem:
        return finding(_GUARDS.get(problem.kind, NOT_OPENED), **{"error": "", **problem.params})
    if width < LOGO_MIN_SIDE or height < LOGO_MIN_SIDE:
        return finding(SMALL, width=width, height=height, side=LOGO_MIN_SIDE)
    log.debug("logo %s OK (%dx%d PNG)", file, width, height)
    if detect_text:
        return logo_text(data, file)
    return []
