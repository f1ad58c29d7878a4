"""Page 1 of a certificate PDF as the platform's qualification JPEG: long side at least 1200 px, at most 3 MB."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from aeops.rules.cert_render import MAX_BYTES, MIN_LONG_SIDE, RenderError, render_first_page
from aeops.rules.certs_testing import certificate_pdf_bytes, image_only_pdf_bytes

CERT = dict(brand="Acme", cert_type="CPC", number="CPC-1", issuer="SGS", issue_date=date(2026, 2, 1),
            valid_until=date(2027, 1, 31))


def _decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    return image


def test_an_a4_certificate_renders_as_a_portrait_jpeg_within_the_limits() -> None:
    page = render_first_page(certificate_pdf_bytes(**CERT))
    image = _decoded(page.jpeg)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (page.width, page.height)
    assert page.height == 1600 and page.width == round(1600 * 595 / 842)  # A4's proportions kept
    assert MIN_LONG_SIDE <= page.long_side and len(page.jpeg) <= MAX_BYTES
    # the text is drawn: not a blank white page
    assert image.convert("L").getextrema()[0] < 128


def test_a_long_side_below_1200_is_raised_to_1200() -> None:
    page = render_first_page(certificate_pdf_bytes(**CERT), long_side=600)
    assert page.long_side == MIN_LONG_SIDE


def test_a_heavy_page_lowers_quality_then_size_but_never_below_1200_px() -> None:
    data = image_only_pdf_bytes()
    full = render_first_page(data)
    budget = len(full.jpeg) // 4
    page = render_first_page(data, max_bytes=budget)
    assert len(page.jpeg) <= budget
    assert page.quality < full.quality
    assert MIN_LONG_SIDE <= page.long_side <= full.long_side
    with pytest.raises(RenderError, match="does not fit"):
        render_first_page(data, max_bytes=2_000)


@pytest.mark.parametrize(("data", "reason"), [
    (certificate_pdf_bytes(**CERT, encrypt_password="secret"), "password-protected"),
    (certificate_pdf_bytes(**CERT)[:300], "cannot be opened"),
    (b"", "cannot be opened"),
])
def test_bad_pdfs_are_a_render_error(data: bytes, reason: str) -> None:
    with pytest.raises(RenderError, match=reason):
        render_first_page(data)
