#!/usr/bin/env python
"""Benchmark the validation rules against baselines measured in the same run.

1. Row rules: a generated 100,000-row export (the platform's maximum catalog per seller), read with
   :func:`aeops.exports.read_export`, checked by the vectorised :func:`aeops.rules.rows.check_rows` vs the
   per-row Python loop :func:`aeops.rules.rows.check_rows_loop` (same rules, same findings). Goal >= 20x.
2. Image rules (when aeops.rules.images is installed): distinct photo-sized JPEGs checked by the fast path
   (``image_check_one``: draft-decoded) vs the same checks on a full-resolution decode
   (``image_check_full_decode``). Goal >= 2x.
3. Peak memory (max RSS) of reading and checking the 100k-row export, above the process after imports.
4. Image detectors (face: OpenCV Haar cascade; text/watermark: RapidOCR) per image, against the image rules'
   fast path on the same images (the baseline: what every image already costs), and a cached re-check (an
   unchanged image: the ``image_reviews`` lookup by content hash) against analysing it.

Usage: python bench/validate.py [--rows 100000] [--images 24] [--image-side 2400] [--detector-images 12]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aeops.exports import read_export
from aeops.rules.rows import RowRules, check_rows, check_rows_loop

HEADER = ["product_id", "sku_code", "title", "price", "discount_price", "stock", "freight_template_id", "category",
          "brand", "main_image"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def write_export(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic export: ~4 SKUs per product, ~1% of rows with a problem of some kind."""
    rng = random.Random(seed)
    bad = [("sku_code", "A&B"), ("product_id", "1.005e+15"), ("price", "12,50"), ("stock", "-1"),
           ("title", ""), ("discount_price", "99999"), ("freight_template_id", "1009"), ("sku_code", "DUP-1")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            product = 1005000000000000 + i // 4
            price = rng.randint(100, 99_999) / 100
            row = {
                "product_id": str(product), "sku_code": f"SKU-{i:07d}", "title": f"Product {i // 4} variant {i % 4}",
                "price": f"{price:.2f}", "discount_price": f"{price * 0.9:.2f}" if i % 3 == 0 else "",
                "stock": str(rng.randint(0, 999)), "freight_template_id": rng.choice(("1001", "1002", "1003")),
                "category": rng.choice(("apparel", "electronics", "toys", "home")), "brand": "Acme",
                "main_image": f"img_{i // 4 % 500}.jpg",
            }
            if rng.random() < 0.01:
                column, value = rng.choice(bad)
                row[column] = value
            writer.writerow([row[c] for c in HEADER])


def timed(func: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_rows(folder: Path, rows: int) -> list[tuple[str, str, str, str]]:
    path = folder / "export_100k.csv"
    write_export(path, rows)
    rss_before = _rss_mb()
    read_s, export = timed(lambda: read_export(str(path)))
    assert export.readable, export.findings
    rules = RowRules(known_freight_templates=frozenset({"1001", "1002", "1003"}))
    fast_s, fast = timed(lambda: check_rows(export.table, file=str(path), rules=rules), repeat=3)
    rss_peak = _rss_mb()
    loop_s, slow = timed(lambda: check_rows_loop(export.table, file=str(path), rules=rules))
    assert fast == slow, "the vectorised rules and the per-row loop disagree"
    n = len(export.frame)
    ratio = loop_s / fast_s
    return [
        ("read export (CSV, polars)", f"{n / read_s:,.0f} rows/s", f"{read_s * 1000:,.0f} ms",
         f"{path.stat().st_size / 2**20:.1f} MB file"),
        ("row rules: per-row loop (baseline)", f"{n / loop_s:,.0f} rows/s", f"{loop_s * 1000:,.0f} ms", "1.0x"),
        ("row rules: vectorised (polars)", f"{n / fast_s:,.0f} rows/s", f"{fast_s * 1000:,.0f} ms",
         f"{ratio:.1f}x {'(goal 20x: met)' if ratio >= 20 else '(goal 20x: NOT met)'}"),
        ("findings (both agree)", f"{len(fast):,}", "", f"{n:,} rows"),
        ("peak RSS: read + row rules", f"+{rss_peak - rss_before:,.0f} MB", "", f"process max {rss_peak:,.0f} MB"),
    ]


def bench_images(folder: Path, count: int, side: int) -> list[tuple[str, str, str, str]]:
    if importlib.util.find_spec("aeops.rules.images") is None:
        return [("image rules", "skipped", "", "aeops.rules.images not installed")]
    from PIL import Image, ImageDraw, ImageFilter

    from aeops.rules import images

    rng = random.Random(3)
    names = []
    for i in range(count):  # photo-like: white studio background, a soft textured product in the middle
        im = Image.effect_noise((side, side), 40).convert("RGB").filter(ImageFilter.GaussianBlur(2))
        canvas = Image.new("RGB", (side, side), "white")
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).ellipse((side // 5, side // 6, side * 4 // 5, side * 5 // 6), fill=255)
        tint = Image.new("RGB", (side, side), (rng.randint(0, 200), rng.randint(0, 200), rng.randint(0, 200)))
        canvas.paste(Image.blend(im, tint, 0.6), mask=mask)
        name = f"photo_{i:02d}.jpg"
        canvas.save(folder / name, quality=85)
        names.append(name)
    size_mb = sum((folder / n).stat().st_size for n in names) / len(names) / 2**20
    fast_s, fast = timed(lambda: [images.image_check_one(n, images_dir=str(folder)) for n in names], repeat=2)
    full_s, full = timed(lambda: [images.image_check_full_decode(n, images_dir=str(folder)) for n in names])
    same = [r.findings for r in fast] == [r.findings for r in full]
    ratio = full_s / fast_s
    return [
        ("image rules: full-resolution decode (baseline)", f"{count / full_s:,.1f} images/s",
         f"{full_s * 1000:,.0f} ms", "1.0x"),
        ("image rules: draft decode", f"{count / fast_s:,.1f} images/s", f"{fast_s * 1000:,.0f} ms",
         f"{ratio:.1f}x {'(goal 2x: met)' if ratio >= 2 else '(goal 2x: NOT met)'}"),
        ("images", f"{count} JPEGs {side}x{side}", f"{size_mb:.2f} MB avg",
         "same findings" if same else "FINDINGS DIFFER"),
    ]


def bench_detectors(folder: Path, count: int) -> list[tuple[str, str, str, str]]:
    """Per-image cost of the detectors vs the image rules, and of a cached result vs a fresh analysis."""
    import hashlib
    import sys

    from PIL import Image

    from aeops.rules import detectors, images
    from aeops.store.ledger import Ledger

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.unit.rules.detector_images import apparel_with_face, apparel_without_face, product

    makers = [apparel_with_face, apparel_without_face, lambda: product(watermark="SHOP-DEALS.COM"), product]
    names = []
    for i in range(count):
        name = f"detect_{i:02d}.jpg"
        makers[i % len(makers)]().save(folder / name, quality=90)
        names.append(name)
    datas = [(folder / n).read_bytes() for n in names]
    pictures = [Image.open(folder / n).convert("RGB") for n in names]
    detectors.detect_faces(pictures[0]), detectors.detect_text(pictures[0])  # load the models once (timed apart)
    load_s, _ = timed(lambda: (detectors._ENGINES.clear(), detectors.detect_text(pictures[0])))
    rules_s, _ = timed(lambda: [images.image_check_one(n, images_dir=str(folder)) for n in names], repeat=2)
    face_s, _ = timed(lambda: [detectors.detect_faces(p) for p in pictures], repeat=2)
    text_s, _ = timed(lambda: [detectors.detect_text(p) for p in pictures])
    analysed = Ledger(f"sqlite:///{folder / 'reviews.db'}").image_reviews.analysed
    fresh_s, _ = timed(lambda: [analysed("bench", hashlib.sha256(d).hexdigest() + str(i), "x", 1,
                                         lambda d=d: detectors.analyse(d)) for i, d in enumerate(datas)])
    cached_s, _ = timed(lambda: [analysed("bench", hashlib.sha256(d).hexdigest() + str(i), "x", 1,
                                          lambda d=d: detectors.analyse(d)) for i, d in enumerate(datas)], repeat=3)
    per = lambda total: f"{total / count * 1000:,.1f} ms/image"  # noqa: E731
    return [
        ("image rules per image (baseline)", per(rules_s), f"{rules_s * 1000:,.0f} ms", "1.0x"),
        ("face detector (Haar) per image", per(face_s), f"{face_s * 1000:,.0f} ms", f"{face_s / rules_s:.1f}x"),
        ("text detector (RapidOCR) per image", per(text_s), f"{text_s * 1000:,.0f} ms", f"{text_s / rules_s:.1f}x"),
        ("detectors, new image (analyse + store)", per(fresh_s), f"{fresh_s * 1000:,.0f} ms",
         f"{fresh_s / rules_s:.1f}x"),
        ("detectors, unchanged image (cached)", per(cached_s), f"{cached_s * 1000:,.0f} ms",
         f"{cached_s / rules_s:.2f}x ({fresh_s / cached_s:,.0f}x cheaper than analysing)"),
        ("OCR model load (once per process)", "", f"{load_s * 1000:,.0f} ms", f"{count} images 1000x1000 JPEG"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the row and image rules against baselines.")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--image-side", type=int, default=2400)
    parser.add_argument("--detector-images", type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aeops-bench-") as tmp:
        table = bench_rows(Path(tmp), args.rows) + bench_images(Path(tmp), args.images, args.image_side)
        if args.detector_images:
            table += bench_detectors(Path(tmp), args.detector_images)
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    titles = ("measurement", "throughput", "time", "ratio / note")
    widths = [max(w, len(t)) for w, t in zip(widths, titles, strict=True)]
    print("  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
