"""Image rules: the nasty cases a seller actually uploads, and the transparent-PNG auto-fix."""

from __future__ import annotations

import http.server
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aeops.config import AeopsConfig
from aeops.findings import Severity
from aeops.rules import images
from aeops.rules.fixes import AUTO_FIXES, FixError, flatten_onto_white
from aeops.rules.images import check_images, image_check_full_decode, image_check_one


def _photo(path: Path, *, size: tuple[int, int] = (800, 800), background: int = 255, noise: int = 0,
           quality: int = 85, fmt: str = "JPEG") -> Path:
    """A product photo: a blue garment in the middle of a flat backdrop, optionally with noise."""
    width, height = size
    pixels = np.full((height, width, 3), background, dtype=np.int16)
    pixels[height // 4: 3 * height // 4, width // 3: 2 * width // 3] = (30, 60, 160)
    if noise:
        pixels += np.random.default_rng(7).integers(-noise, noise + 1, pixels.shape, dtype=np.int16)
    image = Image.fromarray(pixels.clip(0, 255).astype("uint8"))
    image.save(path, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return path


def _codes(report: images.ImageReport) -> list[str]:
    return report.codes


def test_good_jpeg_has_no_findings(tmp_path: Path) -> None:
    report = image_check_one(str(_photo(tmp_path / "ok.jpg")))
    assert report.codes == []
    assert (report.format, report.width, report.height) == ("JPEG", 800, 800)


@pytest.mark.parametrize(("size", "low"), [((799, 800), True), ((800, 799), True), ((799, 799), True),
                                           ((800, 800), False), ((1200, 800), False), ((800, 1200), False)])
def test_resolution_is_checked_on_both_axes_at_800(tmp_path: Path, size: tuple[int, int], low: bool) -> None:
    path = _photo(tmp_path / "photo.jpg", size=size)
    report = image_check_one(str(path), check_background=False)
    if not low:
        assert report.codes == [] and (report.width, report.height) == size
        return
    [finding] = report.findings
    assert (finding.code, finding.severity, finding.file, finding.field) == ("ERR-207", Severity.ERROR, str(path),
                                                                              "main_image")
    assert finding.message == (f"image {path} is {size[0]}x{size[1]}, below the 800x800 minimum; "
                               "upload a larger original")


def test_file_size_cap_is_3_mb_exactly(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "photo.jpg").read_bytes()
    at_cap = photo + b"\x00" * (3 * 2**20 - len(photo))
    assert images.inspect_image_bytes(at_cap, "at-cap.jpg", check_background=False).codes == []
    [finding] = images.inspect_image_bytes(at_cap + b"\x00", "over.jpg", check_background=False).findings
    assert (finding.code, finding.file) == ("IMG-TOO-BIG", "over.jpg")  # the report names the file
    assert finding.message == ("image over.jpg is 3.0 MB, more than the 3 MB the platform accepts; re-save it smaller "
                               "(e.g. JPEG quality 85)")


def test_opaque_rgba_png_is_not_transparent(tmp_path: Path) -> None:
    path = tmp_path / "opaque.png"
    Image.new("RGBA", (800, 800), (255, 255, 255, 255)).save(path)
    report = image_check_one(str(path))
    assert report.codes == []
    assert report.min_alpha == 255 and not report.transparent


def test_transparent_png_found_and_flattened_into_staging(tmp_path: Path) -> None:
    path = tmp_path / "shirt.png"
    image = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    image.paste((200, 30, 30, 255), (200, 200, 600, 600))
    image.save(path)
    original = path.read_bytes()

    report = image_check_one(str(path))
    assert report.codes == ["IMG-TRANSPARENT"]
    finding = report.findings[0]
    assert finding.severity is Severity.ERROR and "auto-fixed" in finding.message
    assert report.background is None  # judged after flattening: transparency is one problem, not two

    staged = flatten_onto_white(path, tmp_path / "staging")
    assert AUTO_FIXES["IMG-TRANSPARENT"] is flatten_onto_white
    assert path.read_bytes() == original
    assert Path(staged).parent == tmp_path / "staging"
    with Image.open(staged) as fixed:
        assert fixed.format == "PNG" and fixed.mode == "RGB"
        assert fixed.getpixel((0, 0)) == (255, 255, 255)
        assert fixed.getpixel((400, 400)) == (200, 30, 30)
    assert image_check_one(staged).codes == []
    assert flatten_onto_white(path, tmp_path / "staging") == staged  # idempotent name


def test_palette_png_with_used_transparency_is_transparent(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    image = Image.new("P", (800, 800), 0)
    image.putpalette([255, 255, 255, 10, 10, 10] + [0] * 762)
    image.paste(1, (0, 0, 100, 100))
    image.save(path, transparency=1)
    assert image_check_one(str(path), check_background=False).codes == ["IMG-TRANSPARENT"]


def test_flatten_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "not.png"
    path.write_text("hello")
    with pytest.raises(FixError, match="not an image"):
        flatten_onto_white(path, tmp_path / "staging")


def test_truncated_jpeg_caught_on_the_draft_path(tmp_path: Path) -> None:
    whole = _photo(tmp_path / "whole.jpg", size=(1600, 1600), noise=20).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    for check in (image_check_one, image_check_full_decode):
        report = check(str(cut))
        assert report.codes == ["IMG-UNREADABLE"] and "truncated" in report.findings[0].message


def test_draft_decode_itself_raises_on_truncation(tmp_path: Path) -> None:
    """The end-marker check is a belt; the braces: a 1/8-scale decode still consumes the whole stream."""
    whole = _photo(tmp_path / "whole.jpg", size=(1600, 1600), noise=20).read_bytes()
    cut = whole[: len(whole) // 2]
    assert not images._ends_with_eoi(cut)
    im = images.open_image_guarded(cut)
    im.draft("RGB", (200, 200))
    assert im.size == (200, 200)  # the scaled decoder is really in use
    with pytest.raises(images.ImageProblem, match="truncated"):
        images._decode(im, cut, use_draft=False)


def test_forged_end_marker_fools_full_and_draft_decode_alike(tmp_path: Path) -> None:
    """Known limit: libjpeg treats an early end-of-image marker as a warning and fills grey, at any scale.

    The fast path is no weaker than the full-resolution baseline here; if Pillow ever starts raising,
    this test tells us to claim the case.
    """
    whole = _photo(tmp_path / "whole.jpg", size=(1600, 1600), noise=20).read_bytes()
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(whole[: len(whole) // 2] + b"\xff\xd9")
    assert image_check_one(str(forged), check_background=False).codes == []
    assert image_check_full_decode(str(forged), check_background=False).codes == []


def test_jpeg_draft_path_decodes_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    real = images._edge_white_shares
    monkeypatch.setattr(images, "_edge_white_shares", lambda im: seen.append(im.size) or real(im))
    path = str(_photo(tmp_path / "big.jpg", size=(1600, 1600)))
    assert image_check_one(path).codes == image_check_full_decode(path).codes == []
    assert seen == [(200, 200), (1600, 1600)]


def test_decompression_bomb_refused_without_decoding(tmp_path: Path) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    report = image_check_one(str(bomb))
    assert report.codes == ["IMG-UNREADABLE"]
    assert "decompression bomb" in report.findings[0].message


def test_text_file_named_jpg_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("this is not a photo\n")
    report = image_check_one(str(path))
    assert report.codes == ["IMG-UNREADABLE"] and "not an image" in report.findings[0].message


def test_gif_is_not_an_accepted_format(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    Image.new("RGB", (800, 800), "white").save(path)
    report = image_check_one(str(path))
    assert report.codes == ["IMG-UNREADABLE"] and "GIF" in report.findings[0].message


def _padded(path: Path, megabytes: float) -> Path:
    """A valid JPEG followed by ``megabytes`` of trailer bytes (as some cameras append): big but decodable."""
    _photo(path)
    with path.open("ab") as out:
        out.write(b"\x55" * int(megabytes * 1024 * 1024))
    return path


def test_file_over_3_mb_is_too_big(tmp_path: Path) -> None:
    path = _padded(tmp_path / "huge.jpg", 3.1)
    report = image_check_one(str(path))
    assert report.codes == ["IMG-TOO-BIG"] and "3 MB" in report.findings[0].message
    assert image_check_one(str(_padded(tmp_path / "fine.jpg", 2.8))).codes == []


def test_light_grey_backdrop_caught_noisy_white_passes(tmp_path: Path) -> None:
    grey = image_check_one(str(_photo(tmp_path / "grey.jpg", background=242)))
    assert grey.codes == ["IMG-BACKGROUND"] and "245" not in grey.background.message
    assert "RGB(242, 242, 242)" in grey.background.message
    noisy = image_check_one(str(_photo(tmp_path / "white.jpg", background=255, noise=4, quality=75)))
    assert noisy.codes == []


def test_garment_crossing_one_edge_still_passes(tmp_path: Path) -> None:
    path = tmp_path / "model.jpg"
    pixels = np.full((1000, 1000, 3), 255, dtype=np.uint8)
    pixels[300:, 350:650] = (20, 20, 20)  # the model's legs run off the bottom edge
    Image.fromarray(pixels).save(path, quality=90)
    assert image_check_one(str(path)).codes == []


def _frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "row": range(2, 2 + len(rows)),
        "product_id": ["1005001"] * len(rows),
        "sku_code": [f"SKU-{i}" for i in range(len(rows))],
        "category": [cat for cat, _ in rows],
        "main_image": [img for _, img in rows],
    })


def test_shared_image_checked_once_findings_on_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photo(tmp_path / "grey.jpg", background=240, size=(700, 800))
    opens: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opens.append(a) or real_open(*a, **k))
    frame = _frame([("apparel", "grey.jpg"), ("home", "grey.jpg"), ("Apparel", " grey.jpg "), ("home", ""),
                    ("home", "nope.jpg")])
    findings = check_images(frame, str(tmp_path), AeopsConfig(), ["apparel"])
    assert len(opens) == 1
    by_row = {}
    for f in findings:
        by_row.setdefault(f.row, []).append(f.code)
        assert f.field == "main_image" and f.product_id == 1005001
    assert by_row == {2: ["ERR-207", "IMG-BACKGROUND"], 3: ["ERR-207"], 4: ["ERR-207", "IMG-BACKGROUND"],
                      5: ["IMG-MISSING"], 6: ["IMG-MISSING"]}
    assert {f.sku_code for f in findings if f.row == 4} == {"SKU-2"}


def test_url_not_in_allow_list_is_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a non-allowed URL was fetched")

    monkeypatch.setattr(httpx.Client, "stream", no_network)
    config = AeopsConfig(image_url_hosts=["img.example.com"])
    report = image_check_one("https://evil.example.net/a.jpg", config=config)
    assert report.codes == ["IMG-UNREADABLE"]
    assert "image_url_hosts" in report.findings[0].message and "img.example.com" in report.findings[0].message
    assert image_check_one("ftp://img.example.com/a.jpg", config=config).codes == ["IMG-UNREADABLE"]


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server on a free port serving tmp_path; torn down after the test."""
    handler = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(tmp_path)))
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_url_in_allow_list_is_fetched_with_a_size_cap(tmp_path: Path, image_server: str) -> None:
    _photo(tmp_path / "ok.jpg")
    _padded(tmp_path / "big.jpg", 1.5)
    config = AeopsConfig(image_url_hosts=["127.0.0.1"], image_max_download_mb=1.0)
    assert image_check_one(f"{image_server}/ok.jpg", config=config).codes == []
    capped = image_check_one(f"{image_server}/big.jpg", config=config)
    assert capped.codes == ["IMG-TOO-BIG"] and "download cap" in capped.findings[0].message
    assert image_check_one(f"{image_server}/gone.jpg", config=config).codes == ["IMG-MISSING"]
    frame = _frame([("home", f"{image_server}/ok.jpg")] * 3)
    assert check_images(frame, None, config, ["apparel"]) == []


def test_host_allow_list_matching() -> None:
    allowed = ["ae01.alicdn.com", "*.example.com", "127.0.0.1:8080"]
    assert images._host_allowed("https://AE01.alicdn.com/x.jpg", allowed)
    assert images._host_allowed("https://cdn.example.com/x.jpg", allowed)
    assert not images._host_allowed("https://example.com.evil.net/x.jpg", allowed)
    assert images._host_allowed("http://127.0.0.1:8080/x.jpg", allowed)
    assert not images._host_allowed("http://127.0.0.1:9090/x.jpg", allowed)


class _TrickyHandler(http.server.BaseHTTPRequestHandler):
    """/endless: 20 MB without Content-Length; /redirect: 302 to a host that is not allowed."""

    protocol_version = "HTTP/1.0"
    sent: list[int] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_address[1]}/endless")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        written = 0
        try:
            for _ in range(320):
                self.wfile.write(b"\xff" * 65536)
                written += 65536
        except OSError:
            pass
        finally:
            type(self).sent.append(written)


@pytest.fixture
def tricky_server() -> Iterator[str]:
    _TrickyHandler.sent = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TrickyHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_without_length_is_cut_at_the_cap(tricky_server: str) -> None:
    config = AeopsConfig(image_url_hosts=["127.0.0.1"], image_max_download_mb=1.0)
    report = image_check_one(f"{tricky_server}/endless", config=config)
    assert report.codes == ["IMG-TOO-BIG"]


def test_redirect_to_a_host_outside_the_allow_list_is_not_followed(tricky_server: str) -> None:
    config = AeopsConfig(image_url_hosts=["127.0.0.1"])
    report = image_check_one(f"{tricky_server}/redirect", config=config)
    assert report.codes == ["IMG-UNREADABLE"]
    assert "localhost" in report.findings[0].message and "not in image_url_hosts" in report.findings[0].message
    assert _TrickyHandler.sent == []  # /endless was never requested


def test_unexpected_analysis_error_is_a_finding_not_a_traceback(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(im: Image.Image) -> tuple[float, ...]:
        raise ValueError("conversion from I;16 not supported")

    monkeypatch.setattr(images, "_edge_white_shares", boom)
    frame = _frame([("apparel", "ok.jpg")])
    _photo(tmp_path / "ok.jpg")
    findings = check_images(frame, str(tmp_path), AeopsConfig(), ["apparel"])
    assert [(f.code, f.row) for f in findings] == [("IMG-UNREADABLE", 2)]
    assert "could not be analysed" in findings[0].message


def test_a_local_file_above_the_read_cap_is_too_big_unread_and_one_at_the_cap_is_read(tmp_path: Path) -> None:
    from aeops.rules.images import HARD_READ_CAP, image_check_one

    for name, size in (("at-cap.jpg", HARD_READ_CAP), ("above.jpg", HARD_READ_CAP + 1)):
        with open(tmp_path / name, "wb") as f:  # sparse: no 64 MB written
            f.truncate(size)
    above = image_check_one(str(tmp_path / "above.jpg"))
    assert [(f.code, f.message) for f in above.findings] == [
        ("IMG-TOO-BIG", f"image {tmp_path / 'above.jpg'} is 64.0 MB, more than the 3 MB the platform accepts; "
                        "re-save it smaller")]  # refused before reading: nothing else is known of it
    at_cap = image_check_one(str(tmp_path / "at-cap.jpg"))
    assert at_cap.codes[0] == "IMG-TOO-BIG" and len(at_cap.codes) > 1  # read: it is not even an image

    (tmp_path / "folder.jpg").mkdir()
    folder = image_check_one(str(tmp_path / "folder.jpg"))
    assert [(f.code, f.message) for f in folder.findings] == [
        ("IMG-MISSING", f"image {tmp_path / 'folder.jpg'} is not a file (a folder?); check the file name and the "
                        "images folder")]


def test_a_missing_or_unreadable_local_image_says_which_and_what_to_do(tmp_path: Path) -> None:
    from aeops.rules.images import image_check_one

    missing = image_check_one(str(tmp_path / "gone.jpg"))
    assert [(f.code, f.message) for f in missing.findings] == [
        ("IMG-MISSING", f"image {tmp_path / 'gone.jpg'} was not found; check the file name and the images folder")]
    too_long = str(tmp_path / ("x" * 300 + ".jpg"))  # the file system refuses the name itself
    [finding] = image_check_one(too_long).findings
    assert finding.code == "IMG-UNREADABLE"
    assert finding.message.startswith(f"image {too_long} cannot be read (OSError: [Errno 36] File name too long")
