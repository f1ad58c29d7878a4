"""Certificate rules beyond the English layout: Chinese and European labels and dates, the CPC lead time and each
kind of bad PDF (the cross-check against the registry: test_cert_crosscheck.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from aeops.findings import Severity
from aeops.rules.certs import CertInfo, check_certificate, parse_certificate_text
from aeops.rules.certs_testing import certificate_pdf_bytes, image_only_pdf_bytes, make_certificate_pdf

UNTIL = date(2027, 1, 31)
AS_OF = date(2026, 6, 1)


@pytest.mark.parametrize(("text", "expected"), [
    ("Valid until: 2027-01-31", UNTIL),
    ("Valid until: 2027/1/31", UNTIL),
    ("有效期至：2027年1月31日", UNTIL),
    ("有效期至: 2027 年 01 月 31 日", UNTIL),
    ("Gültig bis: 31.01.2027", UNTIL),
    ("Valable jusqu'au: 31/01/2027", UNTIL),
    ("Valid until: 31-01-2027", UNTIL),
    ("Valid until: 31 January 2027", UNTIL),
    ("Valid until: January 31, 2027", UNTIL),
    ("有效期：2025年2月1日 至 2027年1月31日", UNTIL),  # a range: the valid-until is its end
    ("Valid until: 31.02.2027", None),  # no such day
    ("Valid until: soon", None),
])
def test_date_forms(text: str, expected: date | None) -> None:
    assert parse_certificate_text(text)["valid_until"] == expected


def test_a_range_gives_its_start_as_the_issue_date() -> None:
    assert parse_certificate_text("发证日期：2025年2月1日")["issue_date"] == date(2025, 2, 1)
    assert parse_certificate_text("Issue date: 01.02.2025")["issue_date"] == date(2025, 2, 1)  # day first


@pytest.mark.parametrize(("language", "style"), [("zh", "zh"), ("de", "eu"), ("fr", "eu-slash"), ("en", "words")])
def test_chinese_and_european_certificates_pass(tmp_path: Path, language: str, style: str) -> None:
    path = make_certificate_pdf(tmp_path / "Acme_CPC_20270131.pdf", brand="Acme", cert_type="CPC",
                                number="CPC-2026-0042", issuer="SGS 通标", issue_date=date(2026, 2, 1),
                                valid_until=UNTIL, language=language, date_style=style)
    info, findings = check_certificate(path, AS_OF)
    assert findings == []
    assert info is not None and info.status == "valid"
    assert (info.number, info.issuer, info.issue_date, info.valid_until) == ("CPC-2026-0042", "SGS 通标",
                                                                           date(2026, 2, 1), UNTIL)


def test_a_chinese_date_that_disagrees_with_the_name_is_a_mismatch(tmp_path: Path) -> None:
    path = make_certificate_pdf(tmp_path / "Acme_CPC_20270130.pdf", brand="Acme", cert_type="CPC", number="X1",
                                issuer="SGS", issue_date=date(2026, 2, 1), valid_until=UNTIL, language="zh",
                                date_style="zh")
    _info, findings = check_certificate(path, AS_OF)
    assert [f.code for f in findings] == ["CERT-MISMATCH"]
    assert "2027-01-31 in the text vs 2027-01-30 in the name" in findings[0].message


def _days(tmp_path: Path, cert_type: str, days_left: int) -> tuple[CertInfo | None, list]:
    until = AS_OF + timedelta(days=days_left)
    path = make_certificate_pdf(tmp_path / f"Acme_{cert_type}_{until:%Y%m%d}.pdf", brand="Acme", cert_type=cert_type,
                                number="N1", issuer="TUV", issue_date=until - timedelta(days=700),
                                valid_until=until)
    return check_certificate(path, AS_OF)


@pytest.mark.parametrize(("days_left", "severity", "status"), [
    (61, None, "valid"), (60, Severity.WARNING, "expiring"), (45, Severity.WARNING, "expiring"),
    (31, Severity.WARNING, "expiring"), (30, Severity.ERROR, "expiring"), (1, Severity.ERROR, "expiring"),
    (0, Severity.ERROR, "expiring"),
])
def test_cpc_lead_time(tmp_path: Path, days_left: int, severity: Severity | None, status: str) -> None:
    info, findings = _days(tmp_path, "CPC", days_left)
    assert info is not None and info.status == status
    if severity is None:
        assert findings == []
        return
    assert [(f.code, f.severity) for f in findings] == [("CERT-EXPIRING", severity)]
    deadline = "the re-upload deadline has passed" in findings[0].message
    assert deadline == (severity == Severity.ERROR)


@pytest.mark.parametrize(("days_left", "codes"), [(31, []), (30, ["CERT-EXPIRING"]), (-1, ["ERR-412"])])
def test_other_types_keep_30_days(tmp_path: Path, days_left: int, codes: list[str]) -> None:
    info, findings = _days(tmp_path, "CE", days_left)
    assert [f.code for f in findings] == codes
    assert all(f.severity == Severity.WARNING for f in findings if f.code == "CERT-EXPIRING")


def _bad(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "Acme_CPC_20270131.pdf"
    good = certificate_pdf_bytes(brand="Acme", cert_type="CPC", number="N1", issuer="SGS",
                                 issue_date=date(2026, 2, 1), valid_until=UNTIL)
    if kind == "encrypted":
        data = certificate_pdf_bytes(brand="Acme", cert_type="CPC", number="N1", issuer="SGS",
                                     issue_date=date(2026, 2, 1), valid_until=UNTIL, encrypt_password="secret")
    elif kind == "image-only":
        data = image_only_pdf_bytes()
    elif kind == "corrupt":
        data = good[: len(good) // 2]
    else:
        data = b"not a pdf at all"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("kind", "reason"), [
    ("encrypted", "password-protected"), ("image-only", "no text layer"), ("corrupt", "not a readable PDF"),
    ("not-a-pdf", "not a readable PDF"),
])
def test_bad_pdfs_are_unreadable_with_their_reason(tmp_path: Path, kind: str, reason: str) -> None:
    info, findings = check_certificate(_bad(tmp_path, kind), AS_OF)
    assert info is None
    assert [f.code for f in findings] == ["CERT-UNREADABLE"]
    assert reason in findings[0].message and findings[0].severity == Severity.ERROR
