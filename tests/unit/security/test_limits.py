"""Hostile files are refused quickly and safely: a certificate of 10,000 pages, a certificate whose text takes too
long, an XLSX past its row/column/size limits or with XML entities, an image bomb on every decode path, a UI time
zone that is not an IANA name (issue 27's low items)."""

from __future__ import annotations

import io
import itertools
import re
import struct
import zipfile
import zlib
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from aeops.catalog.main_image_match import fingerprint
from aeops.exports import read_export, xlsx
from aeops.marketplace.simulator import reviewer
from aeops.rules import certs
from aeops.rules.certs_testing import certificate_pdf_bytes
from aeops.rules.images import ImageProblem
from aeops.storefront.page_compare import image_phash
from aeops.ui import timezone

ROOT = Path(__file__).resolve().parents[3]


def _blank_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _findings(tmp_path: Path, data: bytes, name: str = "Acme_CE_20301231.pdf") -> list:
    path = tmp_path / name
    path.write_bytes(data)
    return certs.check_certificate(path, date(2026, 12, 6))[1]


def test_a_ten_thousand_page_pdf_is_refused_before_any_text_is_extracted(tmp_path: Path, monkeypatch) -> None:
    from pypdf import PageObject

    extracted: list[object] = []
    monkeypatch.setattr(PageObject, "extract_text", lambda self, *a, **k: extracted.append(self) or "")
    findings = _findings(tmp_path, _blank_pdf(10_000))
    assert [f.code for f in findings] == ["CERT-UNREADABLE"]
    assert "has 10000 pages, more than the 50" in findings[0].message
    assert extracted == []  # refused on the page count: no page was read


def test_a_certificate_whose_text_takes_too_long_is_refused_between_pages(tmp_path: Path, monkeypatch) -> None:
    ticks = itertools.count(0, 15)  # a clock that moves 15 s per look: the second page is past the 20 s limit
    monkeypatch.setattr(certs.time, "monotonic", lambda: next(ticks))
    findings = _findings(tmp_path, _blank_pdf(3))
    assert [f.code for f in findings] == ["CERT-UNREADABLE"] and "took longer than 20 s" in findings[0].message


def test_an_ordinary_certificate_still_reads(tmp_path: Path) -> None:
    data = certificate_pdf_bytes(brand="Acme", cert_type="CE", number="N-1", issuer="TUV", issue_date=date(2026, 1, 1),
                                 valid_until=date(2027, 12, 31))
    info, findings = certs.check_certificate(_write(tmp_path / "Acme_CE_20271231.pdf", data), date(2026, 12, 6))
    assert info is not None and [f for f in findings if f.code == "CERT-UNREADABLE"] == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


HEADER = ["product_id", "sku_code", "title", "price", "inventory"]


def test_xlsx_past_the_row_limit_is_one_finding(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 5)
    path = _xlsx(tmp_path / "big.xlsx", [HEADER] + [[1005001, f"S{i}", "t", 1, 1] for i in range(10)])
    [finding] = read_export(str(path)).findings
    assert finding.code == "FILE-UNREADABLE" and "more than 5 rows" in finding.message


def test_xlsx_past_the_column_limit_is_one_finding(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_COLUMNS", 5)
    path = _xlsx(tmp_path / "wide.xlsx", [HEADER, [1005001, "S", "t", 1, 1, None, None, "far away"]])
    [finding] = read_export(str(path)).findings
    assert finding.code == "FILE-UNREADABLE" and "beyond column 5" in finding.message


def test_xlsx_that_unzips_past_the_limit_is_not_opened(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_UNZIPPED_BYTES", 1024)
    path = _xlsx(tmp_path / "zip.xlsx", [HEADER] + [[1005001, f"S{i}", "t" * 50, 1, 1] for i in range(50)])
    [finding] = read_export(str(path)).findings
    assert finding.code == "FILE-UNREADABLE" and "unzips to" in finding.message


def test_xlsx_xml_entities_are_refused_by_defusedxml_never_expanded(tmp_path: Path) -> None:
    assert openpyxl.DEFUSEDXML is True and xlsx.defused()
    plain = _xlsx(tmp_path / "plain.xlsx", [HEADER, [1005001, "SKU-LOL", "t", 1, 1]])
    laughs = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(laughs, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if b"SKU-LOL" in data:  # the sheet (inline strings) or the shared strings: an entity that expands
                text = re.sub(r"<(worksheet|sst)\b", lambda m: f'<!DOCTYPE {m[1]} [<!ENTITY lol "lol">'
                              f'<!ENTITY lol2 "&lol;&lol;">]><{m[1]}', data.decode(), count=1)
                data = text.replace("SKU-LOL", "&lol2;").encode()
            dst.writestr(item, data)
    result = read_export(str(laughs))
    assert [f.code for f in result.findings] == ["FILE-UNREADABLE"]
    assert "lollol" not in result.frame.to_string()


def _bomb_png(width: int = 7000, height: int = 7000) -> bytes:
    """A PNG whose header claims 49 million pixels (over aeops' 40 million, under Pillow's own error limit)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_every_image_decode_has_the_bomb_guard() -> None:
    with pytest.raises(ImageProblem) as caught:
        fingerprint(_bomb_png())
    assert "decompression bomb" in caught.value.text("x") or "pixel" in caught.value.text("x")
    with pytest.raises(ValueError, match="not a readable image"):
        image_phash(_bomb_png())
    with pytest.raises(ValueError, match="decompression bomb"):
        reviewer.open_guarded(_bomb_png())
    assert reviewer.refusal(_bomb_png(), "home") == "main image could not be read"
    opened = [str(p.relative_to(ROOT)) for p in (ROOT / "include").rglob("*.py")
              if re.search(r"Image\.open\(", p.read_text(encoding="utf-8"))]
    assert sorted(opened) == ["include/aeops/marketplace/simulator/reviewer.py", "include/aeops/rules/images.py"]


@pytest.mark.parametrize("zone", ["</script><script>alert(1)</script>", "Nope/Zone", "../../etc/passwd", "a\"b"])
def test_a_ui_time_zone_that_is_not_an_iana_name_is_never_written_into_the_page(monkeypatch, zone: str) -> None:
    monkeypatch.setenv("AEOPS_UI_TIMEZONE", zone)
    assert timezone.store_timezone() is None


def test_a_valid_ui_time_zone_is_used_and_the_script_literal_escapes_markup(monkeypatch) -> None:
    monkeypatch.setenv("AEOPS_UI_TIMEZONE", "America/Argentina/Buenos_Aires")
    assert timezone.store_timezone() == "America/Argentina/Buenos_Aires"
    script = timezone.snippet("</script><b>")
    assert b"</script><b>" not in script and script.count(b"</script>") == 1 and b"\\u003c/script\\u003e" in script
