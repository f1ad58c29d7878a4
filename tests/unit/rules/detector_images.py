"""Generated test images for the image detectors: a studio apparel shot with a model's (drawn) face, the same
garment without a head, products with and without a watermark, logos with and without text over them."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter, ImageFont


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def apparel_with_face(size: int = 1000) -> Image.Image:
    """A model in a blue dress on white: hair, a skin-toned face with brows, eyes, nose and mouth."""
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    cx, cy, w, h = size // 2, size * 0.36, size * 0.2, size * 0.26
    d.polygon([(cx - size * 0.25, size), (cx - size * 0.12, cy + h * 0.9), (cx + size * 0.12, cy + h * 0.9),
               (cx + size * 0.25, size)], fill=(40, 70, 160))
    d.rectangle((cx - w * 0.25, cy + h * 0.7, cx + w * 0.25, cy + h * 1.05), fill=(224, 172, 140))
    d.ellipse((cx - w * 1.1, cy - h * 1.15, cx + w * 1.1, cy + h * 0.6), fill=(50, 35, 25))
    d.ellipse((cx - w, cy - h, cx + w, cy + h), fill=(232, 185, 150))
    ey = cy - h * 0.18
    for s in (-1, 1):
        ex = cx + s * w * 0.42
        d.ellipse((ex - w * 0.2, ey - h * 0.3, ex + w * 0.2, ey - h * 0.22), fill=(60, 40, 30))
        d.ellipse((ex - w * 0.18, ey - h * 0.08, ex + w * 0.18, ey + h * 0.08), fill=(255, 255, 255))
        d.ellipse((ex - w * 0.09, ey - h * 0.08, ex + w * 0.09, ey + h * 0.08), fill=(30, 20, 15))
    d.polygon([(cx, ey + h * 0.05), (cx - w * 0.12, cy + h * 0.3), (cx + w * 0.12, cy + h * 0.3)],
              fill=(200, 145, 115))
    d.ellipse((cx - w * 0.35, cy + h * 0.45, cx + w * 0.35, cy + h * 0.6), fill=(170, 60, 60))
    return im.filter(ImageFilter.GaussianBlur(size / 300))


def apparel_without_face(size: int = 1000) -> Image.Image:
    """The same shot cropped at the neck: the dress only."""
    im = apparel_with_face(size)
    ImageDraw.Draw(im).rectangle((0, 0, size, int(size * 0.52)), fill="white")
    return im


def product(size: int = 1000, watermark: str | None = None) -> Image.Image:
    """A mug-like product on white; with ``watermark`` a grey shop URL across the lower part."""
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((size * 0.3, size * 0.25, size * 0.7, size * 0.75), radius=size // 20, fill=(200, 60, 60))
    d.ellipse((size * 0.62, size * 0.38, size * 0.8, size * 0.6), outline=(200, 60, 60), width=size // 40)
    if watermark:
        font = ImageFont.load_default(size=size // 14)
        d.text((size * 0.12, size * 0.8), watermark, fill=(130, 130, 130), font=font)
    return im


def logo(size: int = 800, text: str | None = None) -> Image.Image:
    """A geometric logo (a yellow triangle on blue); with ``text`` a word written across it."""
    im = Image.new("RGB", (size, size), (20, 90, 200))
    d = ImageDraw.Draw(im)
    d.polygon([(size / 2, size * 0.1), (size * 0.9, size * 0.9), (size * 0.1, size * 0.9)], fill=(250, 200, 0))
    if text:
        font = ImageFont.load_default(size=size // 8)
        d.text((size * 0.08, size * 0.42), text, fill=(255, 255, 255), font=font, stroke_width=3,
               stroke_fill=(0, 0, 0))
    return im
