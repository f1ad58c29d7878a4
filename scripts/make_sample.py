#!/usr/bin/env python
"""Generate include/sample: catalog exports, main images, certificate PDFs and logos (deterministic).

``make sample`` runs this. The demo export has a few hundred SKUs across apparel, electronics, toys and
home; most rows are valid and, checked with ``--images-dir include/sample/images --certs-dir
include/sample/certs --as-of 2026-11-26`` and the demo freight templates 1001/1002/1003, it holds at least
one instance of every row, image and certificate finding code except IMG-TOO-BIG (a >3 MB image is kept out
of git; the tests generate one). docs/validation.md lists which row triggers which code.

Usage: python scripts/make_sample.py [--out include/sample]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw

AS_OF = date(2026, 11, 26)
EXPORT_NAME = "catalog_2026-11-25.csv"
HEADER = ["product_id", "sku_code", "title", "price", "discount_price", "stock", "freight_template_id", "category",
          "brand", "main_image"]
HEADER_ZH = ["商品ID", "SKU编码", "标题", "价格", "折扣价", "库存", "运费模板ID", "类目", "品牌", "主图"]
TEMPLATES = ("1001", "1002", "1003")

CATEGORIES = {
    "apparel": {"brands": ["Threadly"], "items": ["Cotton T-shirt", "Linen Shirt", "Hoodie", "Denim Jacket",
                                                  "Summer Dress", "Chino Trousers"],
                "variants": ["Red-S", "Red-M", "Blue-M", "Blue-L"], "price": (9, 80),
                "images": ["apparel_tshirt.jpg", "apparel_hoodie.jpg"]},
    "electronics": {"brands": ["Voltix"], "items": [
        "USB-C Charger 65W", "Bluetooth Speaker", "Wireless Earbuds", "Power Bank 20000mAh", "Smart Plug",
        "LED Desk Lamp"], "variants": ["Black", "White"], "price": (12, 150),
                    "images": ["electronics_charger.jpg", "electronics_speaker.webp"]},
    "toys": {"brands": ["Tinytoy", "Tinytoy", "Playfun"], "items": [
        "Wooden Blocks", "Plush Bear", "Puzzle 500", "Toy Car Set", "Kite", "Bath Ducks"],
             "variants": ["Small", "Large"], "price": (5, 60), "images": ["toys_blocks.jpg", "toys_bear.png"]},
    "home": {"brands": ["Homely"], "items": ["Ceramic Mug", "Cotton Towel", "Glass Vase", "Bamboo Tray",
                                             "Scented Candle", "Throw Pillow"],
             "variants": ["Grey", "Sand", "White"], "price": (4, 45),
             "images": ["home_mug.jpg", "home_vase_rgba.png"]},
}

# (file name, brand, type, number, issuer, issue date, valid until, text valid-until, encrypted) -> finding
CERTS = [
    ("Voltix_CE_20280110.pdf", "Voltix", "CE", "CE-2026-0110", "TUV Rheinland", date(2026, 1, 11),
     date(2028, 1, 10), None, False),                                          # valid
    ("Tinytoy_CPC_20280301.pdf", "Tinytoy", "CPC", "CPC-2027-0301", "Intertek", date(2027, 3, 1),
     date(2028, 3, 1), None, False),                                           # valid
    ("Playfun_CPC_20261215.pdf", "Playfun", "CPC", "CPC-2025-1215", "SGS", date(2025, 12, 15),
     date(2026, 12, 15), None, False),                                         # CERT-EXPIRING (19 days)
    ("Sparky_CE_20261001.pdf", "Sparky", "CE", "CE-2024-1001", "TUV SUD", date(2024, 10, 2),
     date(2026, 10, 1), None, False),                                          # ERR-412
    ("voltix ce certificate.pdf", "Voltix", "CE", "CE-2026-0111", "TUV Rheinland", date(2026, 1, 11),
     date(2028, 1, 10), None, False),                                          # CERT-NAME
    ("Gizmo_CE_20280301.pdf", "Gizmo", "CE", "CE-2026-0301", "Bureau Veritas", date(2026, 3, 2),
     date(2028, 3, 1), None, True),                                            # CERT-UNREADABLE
    ("Tinytoy_CPC_20271231.pdf", "Tinytoy", "CPC", "CPC-2026-1231", "Intertek", date(2026, 12, 31),
     date(2027, 12, 31), date(2028, 12, 31), False),                           # CERT-MISMATCH
    ("Oldtech_CE_20280601.pdf", "Oldtech", "CE", "CE-2025-0601", "TUV Rheinland", date(2025, 6, 1),
     date(2028, 6, 1), None, False),                                           # CERT-VALIDITY (3 years)
]

# compliance documents beside the certificates (aeops.rules.documents): both valid on the sample's as-of day
DOCUMENTS = [
    ("Voltix_BrandAuth_20270630.pdf", {"brand": "Voltix", "doc_type": "BrandAuth", "valid_until": date(2027, 6, 30),
                                       "authoriser": "Voltix Electronics GmbH", "seller": "aeops demo store Co., Ltd.",
                                       "issue_date": date(2026, 7, 1)}),
    ("Playfun_CategoryAdmission_20270331.pdf", {"brand": "Playfun", "doc_type": "CategoryAdmission",
                                                "valid_until": date(2027, 3, 31), "categories": "toys",
                                                "issuer": "AliExpress", "issue_date": date(2026, 4, 1)}),
]


def _product_image(size: tuple[int, int], background: tuple[int, ...], color: tuple[int, ...], mode: str = "RGB",
                   shape: str = "rect") -> Image.Image:
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    w, h = size
    box = (int(w * 0.25), int(h * 0.2), int(w * 0.75), int(h * 0.8))
    (draw.ellipse if shape == "ellipse" else draw.rectangle)(box, fill=color)
    return image


def _jpeg(image: Image.Image, quality: int = 35) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def make_images(folder: Path) -> None:
    white = (255, 255, 255)
    good = {
        "apparel_tshirt.jpg": ((200, 30, 40), "rect"), "apparel_hoodie.jpg": ((40, 60, 160), "rect"),
        "electronics_charger.jpg": ((30, 30, 30), "rect"), "toys_blocks.jpg": ((230, 160, 20), "rect"),
        "home_mug.jpg": ((120, 90, 60), "ellipse"),
    }
    for name, (color, shape) in good.items():
        (folder / name).write_bytes(_jpeg(_product_image((800, 800), white, color, shape=shape)))
    _product_image((800, 800), white, (20, 140, 90), shape="ellipse").save(
        folder / "electronics_speaker.webp", "WEBP", quality=40)
    _product_image((800, 800), white, (150, 80, 30), shape="ellipse").save(folder / "toys_bear.png", optimize=True)
    # an RGBA PNG whose alpha is 255 everywhere: has an alpha channel, is not transparent (valid)
    _product_image((800, 800), (255, 255, 255, 255), (60, 120, 180, 255), mode="RGBA", shape="ellipse").save(
        folder / "home_vase_rgba.png", optimize=True)
    # real transparency -> IMG-TRANSPARENT (auto-fixable by flattening onto white)
    _product_image((800, 800), (0, 0, 0, 0), (90, 40, 120, 255), mode="RGBA").save(
        folder / "home_pillow_transparent.png", optimize=True)
    # one pixel too narrow -> ERR-207
    (folder / "toys_kite_799x800.jpg").write_bytes(_jpeg(_product_image((799, 800), white, (0, 150, 200))))
    # light-grey studio backdrop on an apparel image -> IMG-BACKGROUND
    (folder / "apparel_dress_grey.jpg").write_bytes(
        _jpeg(_product_image((800, 800), (242, 242, 242), (180, 40, 120)), quality=60))
    # a JPEG cut off half way -> IMG-UNREADABLE
    full = _jpeg(_product_image((800, 800), white, (10, 10, 10), shape="ellipse"))
    (folder / "electronics_lamp_truncated.jpg").write_bytes(full[: len(full) // 2])
    # a text file named .jpg -> IMG-UNREADABLE
    (folder / "home_tray_not_an_image.jpg").write_text("This is not a picture, it is a note from the ERP.\n")


PASSWORD = "s3cret-from-the-lab"


def _decrypted_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    reader.decrypt(PASSWORD)
    return "".join(page.extract_text() or "" for page in reader.pages)


def make_certs(folder: Path, previous: dict[str, bytes]) -> None:
    """Write the certificate PDFs; an encrypted one that still says the same is kept byte for byte (pypdf
    puts a random file id into every encrypted file, which would make each run differ)."""
    from aeops.rules.certs_testing import certificate_pdf_bytes

    for name, brand, kind, number, issuer, issued, until, text_until, encrypted in CERTS:
        data = certificate_pdf_bytes(brand=brand, cert_type=kind, number=number, issuer=issuer, issue_date=issued,
                                     valid_until=text_until or until, encrypt_password=PASSWORD if encrypted else None)
        old = previous.get(name)
        if encrypted and old is not None and _decrypted_text(old) == _decrypted_text(data):
            data = old
        (folder / name).write_bytes(data)
    from aeops.rules.certs_testing import document_pdf_bytes

    for name, values in DOCUMENTS:
        (folder / name).write_bytes(document_pdf_bytes(**values))


def make_logos(folder: Path) -> None:
    logo = Image.new("RGBA", (800, 800), (255, 255, 255, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((100, 100, 700, 700), fill=(230, 90, 20, 255))
    draw.rectangle((330, 250, 470, 550), fill=(255, 255, 255, 255))
    logo.save(folder / "store_logo_800.png", optimize=True)
    (folder / "store_logo_old.jpg").write_bytes(_jpeg(logo.convert("RGB").resize((400, 400))))


def _rows(rng: random.Random, categories: list[str], products: int, first_id: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for n in range(products):
        category = categories[n % len(categories)]
        spec = CATEGORIES[category]
        brand = rng.choice(spec["brands"])
        item = spec["items"][(n // len(categories)) % len(spec["items"])]
        product_id = str(first_id + n * 7919)
        low, high = spec["price"]
        price = rng.randint(low * 100, high * 100) / 100
        image = spec["images"][n % len(spec["images"])]
        template = TEMPLATES[n % 3]
        for variant in spec["variants"][: rng.randint(2, len(spec["variants"]))]:
            discount = f"{price * 0.85:.2f}" if rng.random() < 0.3 else ""
            rows.append({
                "product_id": product_id,
                "sku_code": f"{brand[:3].upper()}-{n:03d}-{variant.upper()}",
                "title": f"{brand} {item} {variant}", "price": f"{price:.2f}", "discount_price": discount,
                "stock": str(rng.randint(0, 500)), "freight_template_id": template, "category": category,
                "brand": brand, "main_image": image,
            })
    return rows


def _product_rows(rows: list[dict[str, str]], category: str, skip: int = 0) -> list[dict[str, str]]:
    """All SKU rows of the ``skip``-th product of a category."""
    ids = list(dict.fromkeys(r["product_id"] for r in rows if r["category"] == category))
    return [r for r in rows if r["product_id"] == ids[skip]]


def demo_rows() -> list[dict[str, str]]:
    rng = random.Random(20261125)
    rows = _rows(rng, list(CATEGORIES), products=100, first_id=1005001234560000)
    # one of each row finding, on a handful of rows (docs/validation.md lists them)
    sku_rows = [r for r in rows if r["category"] == "home"]
    sku_rows[0]["sku_code"] = ""                                          # SKU-MISSING
    sku_rows[3]["sku_code"] = "MUG&SAUCER-01"                             # SKU-CHARS '&'
    sku_rows[6]["sku_code"] = "TOWEL#2"                                   # SKU-CHARS '#'
    sku_rows[9]["sku_code"] = "VASE/BLUE"                                 # SKU-CHARS '/'
    sku_rows[12]["sku_code"] = "TRAY 40CM"                                # SKU-CHARS space
    toys = [r for r in rows if r["category"] == "toys"]
    toys[5]["sku_code"] = toys[2]["sku_code"]                             # SKU-DUPLICATE across products
    apparel = _product_rows(rows, "apparel", 3)
    apparel[1]["sku_code"] = apparel[0]["sku_code"]                       # SKU-DUPLICATE within a product
    for r in _product_rows(rows, "electronics", 4):
        r["product_id"] = "1.005e+15"                                     # PRODUCT-ID-INVALID (Excel)
    _product_rows(rows, "home", 5)[0]["title"] = ""                       # TITLE-MISSING
    long_title = ("Homely Premium Hand-Made Ceramic Coffee Mug with Gift Box, Dishwasher Safe, Microwave Safe, "
                  "Large 450 ml, Perfect Present for Every Occasion")
    _product_rows(rows, "home", 6)[0]["title"] = long_title               # TITLE-TOO-LONG
    _product_rows(rows, "toys", 6)[0]["price"] = "12,50"                  # PRICE-INVALID (comma)
    _product_rows(rows, "toys", 7)[0]["price"] = "0"                      # PRICE-INVALID (zero)
    first = _product_rows(rows, "apparel", 5)[0]
    first["discount_price"] = f"{float(first['price']) + 5:.2f}"          # DISCOUNT-INVALID (above price)
    _product_rows(rows, "home", 7)[0]["stock"] = "-3"                     # STOCK-INVALID
    _product_rows(rows, "electronics", 7)[0]["stock"] = "12.5"            # STOCK-INVALID
    for r in _product_rows(rows, "home", 8):
        r["freight_template_id"] = "1009"                                 # FREIGHT-TEMPLATE-UNKNOWN
    # image findings
    for r in _product_rows(rows, "home", 9):
        r["main_image"] = "home_pillow_transparent.png"                   # IMG-TRANSPARENT
    for r in _product_rows(rows, "toys", 9):
        r["main_image"] = "toys_kite_799x800.jpg"                         # ERR-207
    for r in _product_rows(rows, "apparel", 9):
        r["main_image"] = "apparel_dress_grey.jpg"                        # IMG-BACKGROUND
    for r in _product_rows(rows, "electronics", 9):
        r["main_image"] = "electronics_lamp_truncated.jpg"                # IMG-UNREADABLE (truncated)
    for r in _product_rows(rows, "home", 10):
        r["main_image"] = "home_tray_not_an_image.jpg"                    # IMG-UNREADABLE (text file)
    for r in _product_rows(rows, "home", 11):
        r["main_image"] = "lost_photo.jpg"                                # IMG-MISSING
    # certificate findings on rows: brands without a usable certificate
    for r in _product_rows(rows, "electronics", 10):
        r["brand"], r["title"] = "Sparky", r["title"].replace(r["brand"], "Sparky")   # expired CE
    for r in _product_rows(rows, "electronics", 11):
        r["brand"], r["title"] = "Gizmo", r["title"].replace(r["brand"], "Gizmo")     # unreadable CE
    return rows


def kids_rows() -> list[dict[str, str]]:
    rng = random.Random(20261126)
    rows = _rows(rng, ["toys", "home"], products=14, first_id=1005007700000000)
    for r in rows:
        if r["category"] == "toys":
            r["brand"] = "Tinytoy"
            r["title"] = r["title"].replace("Playfun", "Tinytoy")
    _product_rows(rows, "toys", 1)[0]["sku_code"] = "BEAR&CO-S"             # SKU-CHARS
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str], encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r[c] for c in HEADER])
    path.write_bytes(out.getvalue().encode(encoding))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "include" / "sample"))
    out = Path(parser.parse_args(argv).out)
    previous = {p.name: p.read_bytes() for p in (out / "certs").glob("*.pdf")} if (out / "certs").is_dir() else {}
    for sub in ("exports", "images", "certs", "logo"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    write_csv(out / "exports" / "demo" / EXPORT_NAME, demo_rows(), HEADER, "utf-8")
    # the second store's ERP writes GBK with Chinese headers, as many Chinese ERPs do
    write_csv(out / "exports" / "demo-kids" / EXPORT_NAME, kids_rows(), HEADER_ZH, "gbk")
    make_images(out / "images")
    make_certs(out / "certs", previous)
    make_logos(out / "logo")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
