"""The platform's review of a product: a new main image (or a new product) is ``auditing`` for ``review_s``, then
``onSelling``, or ``editingRequired`` with a reason.

The simulated reviewer refuses what the seller-center guide names (docs/rules.md): a main image under
800 px on a side, and an apparel product's main image without a pure white background. It judges with the
*platform's* category of the product, which need not be the one in the seller's export. The background test
is the guide's rule as aeops's own validation applies it (outer 5% frame, a pixel is white at >= 250 on
every channel, an edge is white at >= 98%, three of four edges white). The verdict is decided when the
review starts and shown when it ends; the reason is in the product query's ``audit_failure_reason`` (a field
name assumed: no public documentation names one).
"""

from __future__ import annotations

import io
import warnings
from typing import Any

MIN_SIDE = 800
WHITE_LEVEL = 250
WHITE_SHARE = 0.98
BORDER_FRACTION = 0.05
WHITE_EDGES_REQUIRED = 3
APPAREL_WORDS = ("apparel", "clothing", "dress", "women's clothing", "men's clothing")


MAX_PIXELS = 40_000_000  # as aeops.rules.images (the simulator sits below it and cannot import it)


def open_guarded(content: bytes) -> Any:
    """``Image.open`` on bytes with the decompression-bomb guard: Pillow's warning is an error and the header's
    size is checked before anything is decoded (ValueError for a bomb)."""

    from PIL import Image  # lazy: Pillow is heavy, loaded only to read an image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(content))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(f"decompression bomb: {exc}") from None
    if img.size[0] * img.size[1] > MAX_PIXELS:
        img.close()
        raise ValueError(f"decompression bomb: {img.size[0]}x{img.size[1]} pixels")
    return img


def is_apparel(category: Any) -> bool:
    """Whether a category is apparel (the reviewer then wants a model in the main image)."""
    text = str(category or "").lower()
    return any(word in text for word in APPAREL_WORDS)


def refusal(content: bytes | None, category: Any) -> str | None:
    """Why the reviewer refuses this main image (None: approved)."""
    if content is None:
        return "main image could not be read"
    try:
        import numpy as np
        from PIL import Image

        with open_guarded(content) as img:
            width, height = img.size
            if min(width, height) < MIN_SIDE:
                return f"main image is {width}x{height} px; at least {MIN_SIDE}x{MIN_SIDE} px is required"
            if not is_apparel(category):
                return None
            img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            rgb = img.convert("RGBA")
            background = Image.new("RGBA", rgb.size, (255, 255, 255, 255))
            pixels = np.asarray(Image.alpha_composite(background, rgb).convert("RGB"))
    except Exception:  # noqa: BLE001 - whatever Pillow cannot read is refused
        return "main image could not be read"
    white = pixels.min(axis=2) >= WHITE_LEVEL
    band = max(1, int(min(white.shape) * BORDER_FRACTION))
    edges = (white[:band, :], white[-band:, :], white[:, :band], white[:, -band:])
    white_edges = sum(float(edge.mean()) >= WHITE_SHARE for edge in edges)
    if white_edges < WHITE_EDGES_REQUIRED:
        return (f"apparel main image needs a pure white background ({white_edges} of 4 edges are white); "
                "replace the image")
    return None


def start(product: dict[str, Any], at_ms: int, review_s: float, reason: str | None) -> None:
    """Send ``product`` into review: ``auditing`` now, the verdict (``reason`` None = approved) when due."""
    product["status"] = "auditing"
    product["review"] = {"started_ms": at_ms, "due_ms": at_ms + int(review_s * 1000), "reason": reason}
    product.pop("audit_failure_reason", None)


def due(product: dict[str, Any], at_ms: int) -> bool:
    """Whether a product's review is due at ``at_ms``."""
    review = product.get("review") or {}
    return product.get("status") == "auditing" and bool(review) and int(review.get("due_ms", 0)) <= at_ms


def settle(product: dict[str, Any], at_ms: int) -> bool:
    """End a due review: ``onSelling``, or ``editingRequired`` with the reason. True when the product changed."""
    if not due(product, at_ms):
        return False
    review = product["review"]
    if review.get("reason"):
        product["status"] = "editingRequired"
        product["audit_failure_reason"] = review["reason"]
    else:
        product["status"] = "onSelling"
    product["review"] = {**review, "ended_ms": at_ms}
    return True
