"""Small previews of the images a run rejected or fixed, embedded in the report as ``data:`` URIs.

Embedding keeps the report one self-contained file wherever it is stored (a folder, object storage) and served
(the UI plugin sends it with a Content-Security-Policy that allows ``data:`` images only): no image URL of the
export is ever fetched to draw a preview, and no path on a worker leaks into the page. Previews are decoded with
the image rules' guarded opener (pixel and size caps) and re-encoded, so what reaches the browser is a fresh,
small JPEG/PNG, never the original bytes.

A transparent PNG is drawn twice: "before" on a checkerboard (the transparency made visible, as the platform's
white background would not be) and "after" flattened onto white, which is what auto-fix uploads.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from aeops.rules.images import ImageProblem, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

SIZE = 112  # px, the longer side
MAX_SOURCE_BYTES = 20 * 1024 * 1024


def local_image(source: str | None, images_dir: str | None) -> Path | None:
    """The local file a ``main_image`` value names (relative ones against the store's images folder); None for a
    URL or anything that is not a readable file."""
    if not source or "://" in source:
        return None
    path = Path(source)
    try:
        if not path.is_absolute() and images_dir and not path.is_file():
            path = Path(images_dir) / path
        return path if path.is_file() and path.stat().st_size <= MAX_SOURCE_BYTES else None
    except OSError:
        return None


def _checkerboard(size: tuple[int, int], cell: int = 8):
    from PIL import Image, ImageDraw  # lazy: Pillow is heavy, loaded only to read an image

    board = Image.new("RGBA", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], cell):
        for x in range(0, size[0], cell):
            if (x // cell + y // cell) % 2:
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(204, 204, 204, 255))
    return board


def thumbnail(path: Path, *, background: str = "white", size: int = SIZE) -> str | None:
    """A ``data:image/...;base64,...`` preview of ``path`` (None when it cannot be decoded safely).

    ``background``: ``white`` (flattened, as auto-fix uploads it) or ``checker`` (transparency shown)."""
    from PIL import Image  # lazy: Pillow is heavy, loaded only to read an image

    try:
        with open_image_guarded(path.read_bytes()) as im:
            im.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
            im.load()
            rgba = im.convert("RGBA")
    except (ImageProblem, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.info("no preview of %s: %s", path.name, getattr(exc, "message", exc))
        return None
    except Exception as exc:  # noqa: BLE001 - a decoder error of any kind: the report shows "no preview"
        log.info("no preview of %s: %s: %s", path.name, type(exc).__name__, exc)
        return None
    rgba.thumbnail((size, size))
    base = _checkerboard(rgba.size) if background == "checker" else Image.new("RGBA", rgba.size, "white")
    flat = Image.alpha_composite(base, rgba).convert("RGB")
    buffer = io.BytesIO()
    if background == "checker":  # crisp squares compress better as PNG
        flat.save(buffer, format="PNG", optimize=True)
        mime = "image/png"
    else:
        flat.save(buffer, format="JPEG", quality=80)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
