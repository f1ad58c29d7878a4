"""Main images: an edit only when the picture differs, decided by the record of what aeops pushed or, without
one, by a perceptual hash of the platform's image; never by comparing a URL with a file name."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from aeops.catalog.diff import diff_product
from aeops.catalog.main_image_match import (
    ImageSources,
    add_source_digests,
    allowed_hosts,
    image_key,
    resolve_main_images,
    same_image_url,
    sha256_hex,
)
from aeops.catalog.model import desired_from_rows, from_marketplace
from aeops.catalog.push import _applied
from aeops.marketplace import Product, Sku

PID = 1005001234567890


def picture(kind: str, size: int = 900, quality: int = 95, colour: str = "navy") -> bytes:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    if kind == "mug":
        draw.ellipse((size * 0.25, size * 0.2, size * 0.7, size * 0.85), fill=colour)
        draw.rectangle((size * 0.68, size * 0.4, size * 0.82, size * 0.6), outline=colour, width=size // 30)
    else:
        draw.polygon([(size * 0.5, size * 0.1), (size * 0.9, size * 0.9), (size * 0.1, size * 0.9)], fill="darkred")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


class Photobank(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = Photobank.files.get(self.path.split("?")[0])
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def photobank() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Photobank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Photobank.files = {}
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def product(url: str) -> Product:
    return Product(PID, subject="Mug", freight_template_id=1001, image_urls=[url],
                   skus=[Sku("14:193", "A-1", Decimal("1"), None, 5)])


class Known:
    def __init__(self, fields: dict) -> None:
        self.fields = fields


def desired(tmp_path: Path, image: str = "mug.jpg") -> dict:
    rows = [{"product_id": str(PID), "sku_code": "A-1", "title": "Mug", "price": "1", "discount_price": "",
             "stock": "5", "freight_template_id": "1001", "main_image": image}]
    wanted = desired_from_rows(rows)
    add_source_digests(wanted, ImageSources(str(tmp_path)))
    return wanted


def test_urls_are_compared_by_their_photobank_id() -> None:
    a = "https://ae01.alicdn.com/kf/S23b9cb05c8e844648d48324f23f0c123T.jpeg"
    b = "https://ae01.alicdn.com/kf/S23b9cb05c8e844648d48324f23f0c123T/Mug-white.jpeg_640x640.jpg"
    assert image_key(a) == image_key(b) == "S23b9cb05c8e844648d48324f23f0c123T"
    assert same_image_url(a, b) and not same_image_url(a, a.replace("123T", "123U")) and not same_image_url(a, "")


def test_the_platform_side_is_a_url_and_a_record_survives_only_while_it_is_shown() -> None:
    pushed = "http://sim/kf/S" + "a" * 32 + "x.jpg"
    record = Known({"main_image": "mug.jpg", "main_image_sha256": "f" * 64, "main_image_pushed_url": pushed})
    fields = from_marketplace(product(pushed.replace(".jpg", "/Mug.jpg_640x640.jpg")), record)
    assert fields["main_image_url"].endswith("_640x640.jpg") and fields["main_image"] == "mug.jpg"
    assert fields["main_image_sha256"] == "f" * 64 and fields["sku_ids"] == {"14:193": "A-1"}
    changed = from_marketplace(product("http://sim/kf/S" + "b" * 32 + "x.jpg"), record)  # seller center edit
    assert "main_image" not in changed and "main_image_sha256" not in changed
    assert "main_image" not in from_marketplace(product(pushed), None)  # a URL is never taken for a name


def test_an_edit_is_planned_only_when_the_source_bytes_differ(tmp_path: Path) -> None:
    (tmp_path / "mug.jpg").write_bytes(picture("mug"))
    want = desired(tmp_path)[PID]
    assert want["main_image_sha256"] == sha256_hex((tmp_path / "mug.jpg").read_bytes())
    same = {**want, "main_image": "renamed-mug.jpg"}  # another name, same bytes: no edit
    assert [c.kind for c in diff_product(PID, want, same)] == []
    (tmp_path / "mug.jpg").write_bytes(picture("mug", quality=60))  # re-exported file: new bytes
    (edit,) = diff_product(PID, desired(tmp_path)[PID], want)
    assert edit.kind == "edit" and set(edit.payload["fields"]) == {"main_image", "main_image_sha256"}
    no_record = {k: v for k, v in want.items() if not k.startswith("main_image")} | {"main_image_url": "http://x"}
    assert [c.kind for c in diff_product(PID, want, no_record)] == ["edit"]  # unresolved: differs


def test_without_a_record_the_platforms_picture_is_compared_by_perceptual_hash(tmp_path: Path, photobank: str
                                                                               ) -> None:
    (tmp_path / "mug.jpg").write_bytes(picture("mug"))
    (tmp_path / "kite.jpg").write_bytes(picture("kite"))
    # the platform re-encoded and resized the uploaded mug; another product shows a different picture
    Photobank.files = {"/kf/S1.jpg": picture("mug", size=640, quality=70), "/kf/S2.jpg": picture("kite")}
    wanted = desired(tmp_path)
    current = {PID: from_marketplace(product(f"{photobank}/kf/S1.jpg"))}
    outcome = resolve_main_images(wanted, current, ImageSources(str(tmp_path)), allowed_hosts(photobank))
    assert outcome == {"matched": [PID], "differs": [], "unchecked": []}
    assert current[PID]["main_image_pushed_url"] == f"{photobank}/kf/S1.jpg"
    assert diff_product(PID, wanted[PID], current[PID]) == []  # no edit, no review
    current = {PID: from_marketplace(product(f"{photobank}/kf/S2.jpg"))}
    outcome = resolve_main_images(wanted, current, ImageSources(str(tmp_path)), allowed_hosts(photobank))
    assert outcome["differs"] == [PID]
    assert [c.kind for c in diff_product(PID, wanted[PID], current[PID])] == ["edit"]
    # the same shape in another colour (another variant's photo) is another picture: pHash alone would match
    Photobank.files["/kf/S3.jpg"] = picture("mug", colour="darkred")
    current = {PID: from_marketplace(product(f"{photobank}/kf/S3.jpg"))}
    outcome = resolve_main_images(wanted, current, ImageSources(str(tmp_path)), allowed_hosts(photobank))
    assert outcome["differs"] == [PID]


def test_only_the_platforms_own_hosts_are_fetched(tmp_path: Path, photobank: str) -> None:
    (tmp_path / "mug.jpg").write_bytes(picture("mug"))
    Photobank.files = {"/kf/S1.jpg": picture("mug")}
    wanted = desired(tmp_path)
    current = {PID: from_marketplace(product(f"{photobank}/kf/S1.jpg"))}
    outcome = resolve_main_images(wanted, current, ImageSources(str(tmp_path)), allowed_hosts("https://api.example"))
    assert outcome == {"matched": [], "differs": [], "unchecked": [PID]}  # 127.0.0.1 is not allowed: not opened
    assert "*.alicdn.com" in allowed_hosts(None)


def test_a_lost_edit_answer_is_settled_by_the_url_the_platform_shows() -> None:
    url = "http://sim/kf/S" + "c" * 32 + "x.jpg"
    payload = {"fields": {"main_image": "mug.jpg", "main_image_sha256": "0" * 64, "main_image_pushed_url": url}}
    assert _applied("edit", payload, from_marketplace(product(url.replace(".jpg", "/slug.jpg"))), None)
    assert not _applied("edit", payload, from_marketplace(product("http://sim/kf/S" + "d" * 32 + "x.jpg")), None)
