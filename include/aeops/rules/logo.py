"""Logo rules: the store logo must be a PNG (``LOGO-FORMAT``) of at least 800x800 (``LOGO-SIZE``).

An unreadable, truncated or non-image file is ``LOGO-FORMAT`` with a message saying what is wrong.
(``LOGO-STALE``, the quarterly rotation reminder, belongs to the logo-rotation DAG, not to this check.)
``LOGO-TEXT`` (a warning) when the text detector reads text over the logo.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from aeops.findings import Finding, Severity
from aeops.rules.images import ImageProblem, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

__all__ = ["LOGO_MAX_BYTES", "LOGO_MIN_SIDE", "check_logo"]

LOGO_MIN_SIDE = 800
LOGO_MAX_BYTES = 20 * 1024 * 1024
"""Larger files are not read (a logo is a few hundred KB)."""


def check_logo(path: str | PathLike[str], *, detect_text: bool = True) -> list[Finding]:
    """Findings for the logo file at ``path``: empty when it is a readable PNG of at least 800x800 with no text
    over it. ``LOGO-TEXT`` (the text detector, :mod:`aeops.rules.detectors`) is a warning: a person decides."""
    source = Path(path)
    file = str(source)

    def finding(code: str, message: str) -> list[Finding]:
        return [Finding(code=code, severity=Severity.ERROR, message=message, file=file)]

    try:
        if source.stat().st_size > LOGO_MAX_BYTES:
            return finding("LOGO-FORMAT", f"logo {file} is larger than {LOGO_MAX_BYTES // 2**20} MB; "
                                          "export a PNG of about 800x800 to 1200x1200")
        data = source.read_bytes()
    except FileNotFoundError:
        return finding("LOGO-FORMAT", f"logo {file} does not exist; drop the new logo (PNG, at least "
                                      f"{LOGO_MIN_SIDE}x{LOGO_MIN_SIDE}) there")
    except OSError as exc:
        return finding("LOGO-FORMAT", f"logo {file} cannot be read ({type(exc).__name__}: {exc})")
    try:
        with open_image_guarded(data) as im:
            fmt = im.format or "?"
            width, height = im.size
            if fmt != "PNG":
                return finding("LOGO-FORMAT", f"logo {file} is {fmt}, not PNG; export it as PNG")
            try:
                im.load()
            except Exception as exc:  # noqa: BLE001 - truncated/corrupt PNG of any kind
                return finding("LOGO-FORMAT", f"logo {file} is a damaged PNG ({type(exc).__name__}: {exc}); "
                                              "export it again")
    except ImageProblem as problem:
        return finding("LOGO-FORMAT", f"logo {file} {problem.message.replace('JPEG, PNG or WebP', 'PNG')}")
    if width < LOGO_MIN_SIDE or height < LOGO_MIN_SIDE:
        return finding("LOGO-SIZE", f"logo {file} is {width}x{height}, below the {LOGO_MIN_SIDE}x{LOGO_MIN_SIDE} "
                                    "minimum; export it larger")
    log.debug("logo %s OK (%dx%d PNG)", file, width, height)
    if detect_text:
        from aeops.rules.detectors import logo_text

        return logo_text(data, file)
    return []
