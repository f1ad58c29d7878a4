"""Make small certificate PDFs whose text pypdf can read back (tests, the sample generator).

The PDF is written by hand: one A4 page, Helvetica, one ``Label: value`` line per certificate field, in
the layout :mod:`aeops.rules.certs` parses. With ``encrypt_password`` the file is re-written by pypdf
with that user password (RC4-128, pure Python), so it cannot be read without it.
"""

from __future__ import annotations

import io
from datetime import date
from os import PathLike
from pathlib import Path

__all__ = ["certificate_pdf_bytes", "make_certificate_pdf"]


def _pdf_string(text: str) -> bytes:
    """A PDF literal string: latin-1, with ``\\``, ``(`` and ``)`` escaped."""
    raw = text.encode("latin-1", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _minimal_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF showing ``lines`` top to bottom (correct xref offsets)."""
    ops = [b"BT", b"/F1 12 Tf", b"16 TL", b"72 770 Td"]
    for line in lines:
        ops.append(_pdf_string(line) + b" Tj T*")
    ops.append(b"ET")
    content = b"\n".join(ops) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"endstream",
    ]
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


def certificate_pdf_bytes(
    *,
    brand: str,
    cert_type: str,
    number: str,
    issuer: str,
    issue_date: date,
    valid_until: date,
    encrypt_password: str | None = None,
) -> bytes:
    """The bytes of a certificate PDF (see :func:`make_certificate_pdf`)."""
    lines = [
        f"{cert_type} Certificate of Conformity",
        "",
        f"Certificate No: {number}",
        f"Brand: {brand}",
        f"Type: {cert_type}",
        f"Issuer: {issuer}",
        f"Issue date: {issue_date.isoformat()}",
        f"Valid until: {valid_until.isoformat()}",
    ]
    data = _minimal_pdf(lines)
    if encrypt_password is None:
        return data
    from pypdf import PdfReader, PdfWriter

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
            valid_until=valid_until, encrypt_password=encrypt_password,
        )
    )
    return target
