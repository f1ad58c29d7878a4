"""A certificate PDF's first page as the JPEG the platform's qualification entry takes (pypdfium2 + Pillow).

The platform accepts a qualification as an image (jpg, jpeg or png) in the seller's photobank, at most 3 MB an
upload (docs/aliexpress-api.md §2.8, §2.12). The page is rendered so its long side is :data:`TARGET_LONG_SIDE`
pixels (at least :data:`MIN_LONG_SIDE`, legible for the platform's reviewer), flattened onto white, and saved as
JPEG at the highest quality that fits :data:`MAX_BYTES`; only if even the lowest quality does not fit is it scaled
down, never below :data:`MIN_LONG_SIDE`. Bad input is a :class:`RenderError` with one line, never a traceback.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from aeops.secrets import get_logger

log = get_logger(__name__)

__all__ = ["MAX_BYTES", "MIN_LONG_SIDE", "TARGET_LONG_SIDE", "RenderError", "RenderedPage", "render_first_page"]

MIN_LONG_SIDE = 1200
TARGET_LONG_SIDE = 1600
MAX_BYTES = 3 * 1024 * 1024
QUALITIES = (92, 85, 75, 65, 50, 40)


class RenderError(ValueError):
    """The PDF's first page cannot be rendered (encrypted, corrupt, no page); the message says why."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """The JPEG bytes of page 1, its pixel size and the JPEG quality used."""

    jpeg: bytes
    width: int
    height: int
    quality: int

    @property
    def long_side(self) -> int:
        """The page image's longer side in pixels."""
        return max(self.width, self.height)


def _page_image(data: bytes, long_side: int):  # noqa: ANN202 - a PIL image (Pillow imported lazily)
    import pypdfium2 as pdfium  # lazy: PDFium only to render a certificate page

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise RenderError("the PDF is password-protected; upload a copy without a password") from None
        raise RenderError(f"the PDF cannot be opened ({exc})") from None
    try:
        if len(pdf) == 0:
            raise RenderError("the PDF has no page")
        page = pdf[0]
        width, height = page.get_size()
        if width <= 0 or height <= 0:
            raise RenderError("the PDF's first page has no size")
        scale = long_side / max(width, height)
        bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
        return bitmap.to_pil().convert("RGB")
    finally:
        pdf.close()


def render_first_page(data: bytes, *, long_side: int = TARGET_LONG_SIDE, max_bytes: int = MAX_BYTES) -> RenderedPage:
    """Page 1 of the PDF ``data`` as a JPEG with a long side of ``long_side`` px (at least
    :data:`MIN_LONG_SIDE`) and at most ``max_bytes`` bytes. Raises :class:`RenderError`."""
    target = max(int(long_side), MIN_LONG_SIDE)
    image = _page_image(data, target)
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
            if out.tell() <= max_bytes:
                log.debug("certificate page rendered %dx%d at quality %d: %d bytes", image.width, image.height,
                          quality, out.tell())
                return RenderedPage(out.getvalue(), image.width, image.height, quality)
        current = max(image.size)
        if current <= MIN_LONG_SIDE:
            raise RenderError(f"the first page does not fit {max_bytes // 1024} KB as a JPEG of "
                              f"{MIN_LONG_SIDE} px even at quality {QUALITIES[-1]}")
        factor = max(MIN_LONG_SIDE / current, 0.8)
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))))
