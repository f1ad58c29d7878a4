"""Make small certificate PDFs whose text pypdf can read back (tests, the sample generator).

The PDF is written by hand: one A4 page, Helvetica (or, for Chinese labels, a Type0 font with a ToUnicode
map), one ``Label: value`` line per certificate field, in the layout :mod:`aeops.rules.certs` parses, with
labels in English, Chinese, German or French and dates in ISO, Chinese or European form. A page holding only
an image stands for a scan without a text layer. With ``encrypt_password`` the file is re-written by pypdf
with that user password (RC4-128, pure Python), so it cannot be read without it.
"""

from __future__ import annotations

import io
from datetime import date
from os import PathLike
from pathlib import Path

__all__ = ["LABELS", "certificate_pdf_bytes", "document_pdf_bytes", "format_date", "image_only_pdf_bytes",
           "make_certificate_pdf", "make_document_pdf"]


def _pdf_string(text: str) -> bytes:
    """A PDF literal string: latin-1, with ``\\``, ``(`` and ``)`` escaped."""
    raw = text.encode("latin-1", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _to_unicode_cmap(codes: list[int]) -> bytes:
    """A ToUnicode CMap mapping each 2-byte code to the same Unicode code point (BMP text)."""
    head = (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
    body = b""
    for start in range(0, len(codes), 100):
        chunk = codes[start:start + 100]
        body += f"{len(chunk)} beginbfchar\n".encode()
        body += b"".join(f"<{c:04X}> <{c:04X}>\n".encode() for c in chunk)
        body += b"endbfchar\n"
    return head + body + b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length " + str(len(data)).encode() + extra + b" >>\nstream\n" + data + b"\nendstream"


def _write_pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with correct xref offsets."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref_at = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode())
    return out.getvalue()


def _minimal_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF showing ``lines`` top to bottom; non-Latin-1 text (Chinese) goes through a Type0
    font with Identity-H codes and a ToUnicode map, so text extraction reads it back."""
    unicode = any(ord(c) > 0xFF for line in lines for c in line)
    ops = [b"BT", b"/F1 12 Tf", b"16 TL", b"72 770 Td"]
    for line in lines:
        if unicode:
            ops.append(b"<" + "".join(f"{ord(c):04X}" for c in line).encode() + b"> Tj T*")
        else:
            ops.append(_pdf_string(line) + b" Tj T*")
    ops.append(b"ET")
    content = b"\n".join(ops) + b"\n"
    if unicode:
        codes = sorted({ord(c) for line in lines for c in line})
        font = b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H " \
               b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>"
    else:
        font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        font,
        _stream(content),
    ]
    if unicode:
        objects += [b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /STSong-Light /CIDSystemInfo "
                    b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
                    _stream(_to_unicode_cmap(codes))]
    return _write_pdf(objects)


def image_only_pdf_bytes(width: int = 200, height: int = 283) -> bytes:
    """A one-page PDF holding only a grey image (a scan without a text layer)."""
    pixels = bytes((x * 7 + y * 3) % 256 for y in range(height) for x in range(width))
    image = _stream(pixels, f" /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                            "/ColorSpace /DeviceGray /BitsPerComponent 8".encode())
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q\n"
    return _write_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
        image,
        _stream(content),
    ])


LABELS = {
    "en": ("Certificate No", "Brand", "Type", "Issuer", "Issue date", "Valid until"),
    "zh": ("证书编号", "品牌", "证书类型", "发证机构", "发证日期", "有效期至"),
    "de": ("Zertifikat-Nr.", "Marke", "Typ", "Ausgestellt von", "Ausstellungsdatum", "Gültig bis"),
    "fr": ("N° de certificat", "Marque", "Type", "Délivré par", "Date d'émission", "Valable jusqu'au"),
}
"""The label lines of a generated certificate per language (what :mod:`aeops.rules.certs` reads)."""


def format_date(day: date, style: str = "iso") -> str:
    """``iso`` 2027-01-31, ``zh`` 2027年1月31日, ``eu`` 31.01.2027, ``eu-slash`` 31/01/2027, ``words`` 31 January
    2027."""
    if style == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    if style == "eu":
        return day.strftime("%d.%m.%Y")
    if style == "eu-slash":
        return day.strftime("%d/%m/%Y")
    if style == "words":
        return f"{day.day} {day.strftime('%B')} {day.year}"
    return day.isoformat()


def certificate_pdf_bytes(
    *,
    brand: str,
    cert_type: str,
    number: str,
    issuer: str,
    issue_date: date,
    valid_until: date,
    encrypt_password: str | None = None,
    language: str = "en",
    date_style: str = "iso",
) -> bytes:
    """The bytes of a certificate PDF (see :func:`make_certificate_pdf`); ``language`` picks the labels
    (:data:`LABELS`), ``date_style`` the date form (:func:`format_date`)."""
    labels = LABELS[language]
    sep = "：" if language == "zh" else ": "
    values = (number, brand, cert_type, issuer, format_date(issue_date, date_style),
              format_date(valid_until, date_style))
    lines = [f"{cert_type} Certificate of Conformity", ""]
    lines += [f"{label}{sep}{value}" for label, value in zip(labels, values, strict=True)]
    data = _minimal_pdf(lines)
    if encrypt_password is None:
        return data
    from pypdf import PdfReader, PdfWriter  # lazy: pypdf only to read a certificate PDF

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=encrypt_password, owner_password=encrypt_password + "-owner",
                   algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_certificate_pdf(
    path: str | PathLike[str],
    *,
    brand: str,
    cert_type: str,
    number: str,
    issuer: str,
    issue_date: date,
    valid_until: date,
    encrypt_password: str | None = None,
    language: str = "en",
    date_style: str = "iso",
) -> Path:
    """Write a one-page certificate PDF to ``path`` (parents created) and return the path.

    The text carries ``Certificate No:``, ``Brand:``, ``Type:``, ``Issuer:``, ``Issue date:`` and
    ``Valid until:`` lines; the file name is not checked here, so tests can make misnamed files.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(
        certificate_pdf_bytes(
            brand=brand, cert_type=cert_type, number=number, issuer=issuer, issue_date=issue_date,
            valid_until=valid_until, encrypt_password=encrypt_password, language=language,
            date_style=date_style,
        )
    )
    return target


DOC_LABELS = {
    "en": {"title": {"BrandAuth": "Brand Authorization Letter", "CategoryAdmission": "Category Admission"},
           "brand": "Brand", "authoriser": "Authorized by", "seller": "Authorized seller", "categories": "Category",
           "issuer": "Issued by", "number": "Authorization No", "issue_date": "Issue date",
           "valid_until": "Valid until"},
    "zh": {"title": {"BrandAuth": "品牌授权书", "CategoryAdmission": "类目准入证明"},
           "brand": "品牌", "authoriser": "授权方", "seller": "被授权方", "categories": "类目", "issuer": "发证机构",
           "number": "授权编号", "issue_date": "发证日期", "valid_until": "有效期至"},
}
"""The label lines of a generated compliance document per language (what :mod:`aeops.rules.documents` reads)."""


def document_pdf_bytes(*, brand: str, doc_type: str, valid_until: date, authoriser: str | None = None,
                       seller: str | None = None, categories: str | None = None, issuer: str | None = None,
                       number: str | None = None, issue_date: date | None = None, language: str = "en",
                       date_style: str = "iso") -> bytes:
    """A one-page brand authorisation letter or category admission paper: a title and one line per value given
    (``None`` leaves the line out, so tests can make incomplete documents)."""
    labels = DOC_LABELS[language]
    sep = "：" if language == "zh" else ": "
    values = {"brand": brand, "authoriser": authoriser, "seller": seller, "categories": categories,
              "issuer": issuer, "number": number,
              "issue_date": format_date(issue_date, date_style) if issue_date else None,
              "valid_until": format_date(valid_until, date_style)}
    lines = [labels["title"].get(doc_type, doc_type), ""]
    lines += [f"{labels[key]}{sep}{value}" for key, value in values.items() if value]
    return _minimal_pdf(lines)


def make_document_pdf(path: str | PathLike[str], **values: object) -> Path:
    """Write :func:`document_pdf_bytes` (``values``: its keyword arguments) to ``path`` (parents created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(document_pdf_bytes(**values))  # type: ignore[arg-type]
    return target
