"""Certificate rules on real (tiny) PDFs, always with an explicit as-of date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from aeops.findings import Severity
from aeops.rules.certs import (
    CertInfo,
    cert_missing,
    check_certificate,
    parse_certificate_name,
    parse_certificate_text,
    scan_certificates,
)
from aeops.rules.certs_testing import make_certificate_pdf

AS_OF = date(2026, 3, 1)


def _cert(folder: Path, name: str, *, brand: str = "Acme", cert_type: str = "CE",
          issue_date: date = date(2025, 6, 1), valid_until: date = date(2027, 5, 31), **kwargs: object) -> Path:
    return make_certificate_pdf(folder / name, brand=brand, cert_type=cert_type, number="N-12345",
                                issuer="TUV Rheinland", issue_date=issue_date, valid_until=valid_until,
                                **kwargs)  # type: ignore[arg-type]


def _codes(findings: list) -> list[str]:
    return [f.code for f in findings]


def test_maker_writes_text_pypdf_reads_back(tmp_path: Path) -> None:
    path = _cert(tmp_path, "Acme_CE_20270531.pdf", brand="Acme (EU) & Co")
    text = PdfReader(path).pages[0].extract_text()
    assert parse_certificate_text(text) == {
        "number": "N-12345", "brand": "Acme (EU) & Co", "cert_type": "CE", "issuer": "TUV Rheinland",
        "issue_date": date(2025, 6, 1), "valid_until": date(2027, 5, 31),
    }


def test_good_certificate(tmp_path: Path) -> None:
    info, findings = check_certificate(_cert(tmp_path, "Acme_CE_20270531.pdf"), AS_OF)
    assert findings == []
    assert isinstance(info, CertInfo)
    assert (info.brand, info.cert_type, info.valid_until, info.status) == ("Acme", "CE", date(2027, 5, 31), "valid")
    assert (info.number, info.issuer, info.issue_date) == ("N-12345", "TUV Rheinland", date(2025, 6, 1))
    assert info.days_left(AS_OF) == 456 and len(info.sha256) == 64


def test_text_labels_tolerate_case_and_spacing() -> None:
    text = ("certificate no.:ABC-1\nBRAND :  Acme\n  type: cpc\nIssued by: Lab\n"
            "ISSUE DATE : 2025-01-02\nvalid until:2026-1-2")
    assert parse_certificate_text(text) == {
        "number": "ABC-1", "brand": "Acme", "cert_type": "cpc", "issuer": "Lab",
        "issue_date": date(2025, 1, 2), "valid_until": date(2026, 1, 2),
    }


def test_encrypted_pdf_is_unreadable_but_empty_password_pdf_is_read(tmp_path: Path) -> None:
    info, findings = check_certificate(_cert(tmp_path, "Acme_CE_20270531.pdf", encrypt_password="s3cret"), AS_OF)
    assert info is None and _codes(findings) == ["CERT-UNREADABLE"]
    assert "password" in findings[0].message and "s3cret" not in findings[0].message
    info, findings = check_certificate(_cert(tmp_path / "b", "Acme_CE_20270531.pdf", encrypt_password=""), AS_OF)
    assert findings == [] and info is not None and info.status == "valid"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_pdf_is_unreadable_never_a_traceback(tmp_path: Path, damage: str) -> None:
    good = _cert(tmp_path / "src", "Acme_CE_20270531.pdf").read_bytes()
    data = {"truncated": good[:200], "garbage": b"%PDF-1.4\n" + bytes(range(256)) * 4, "empty": b""}[damage]
    path = tmp_path / "Acme_CE_20270531.pdf"
    path.write_bytes(data)
    info, findings = check_certificate(path, AS_OF)
    assert info is None and _codes(findings) == ["CERT-UNREADABLE"]
    assert findings[0].severity is Severity.ERROR and findings[0].file == str(path)


def test_text_disagreeing_with_name_is_mismatch(tmp_path: Path) -> None:
    path = _cert(tmp_path, "Acme_CE_20270531.pdf", brand="Globex", cert_type="FCC", valid_until=date(2027, 4, 30))
    info, findings = check_certificate(path, AS_OF)
    assert _codes(findings) == ["CERT-MISMATCH"]
    message = findings[0].message
    assert "'Globex'" in message and "'FCC'" in message and "2027-04-30" in message
    assert info is not None and info.status == "invalid"


def test_brand_compare_ignores_case_and_spacing(tmp_path: Path) -> None:
    info, findings = check_certificate(_cert(tmp_path, "Blue Fox_CE_20270531.pdf", brand="BLUE  fox"), AS_OF)
    assert findings == [] and info is not None and info.brand == "Blue Fox"


def test_ce_issued_three_years_before_expiry_is_validity(tmp_path: Path) -> None:
    path = _cert(tmp_path, "Acme_CE_20280601.pdf", issue_date=date(2025, 6, 1), valid_until=date(2028, 6, 1))
    info, findings = check_certificate(path, AS_OF)
    assert _codes(findings) == ["CERT-VALIDITY"]
    assert "2027-06-01" in findings[0].message
    assert info is not None and info.status == "invalid"
    exactly_two = _cert(tmp_path, "Acme_CE_20270601.pdf", issue_date=date(2025, 6, 1), valid_until=date(2027, 6, 1))
    assert check_certificate(exactly_two, AS_OF)[1] == []
    cpc = _cert(tmp_path, "Acme_CPC_20280601.pdf", cert_type="CPC", valid_until=date(2028, 6, 1))
    assert check_certificate(cpc, AS_OF)[1] == []  # the 2-year limit is CE's


def test_expired_is_err_412(tmp_path: Path) -> None:
    path = _cert(tmp_path, "Acme_CE_20260228.pdf", issue_date=date(2024, 3, 1), valid_until=date(2026, 2, 28))
    info, findings = check_certificate(path, AS_OF)
    assert _codes(findings) == ["ERR-412"] and findings[0].severity is Severity.ERROR
    assert info is not None and info.status == "expired" and info.days_left(AS_OF) == -1
    assert not info.usable(AS_OF)


def test_expiring_in_10_days_is_a_warning(tmp_path: Path) -> None:
    path = _cert(tmp_path, "Acme_CE_20260311.pdf", issue_date=date(2024, 3, 11), valid_until=date(2026, 3, 11))
    info, findings = check_certificate(path, AS_OF)
    assert _codes(findings) == ["CERT-EXPIRING"] and findings[0].severity is Severity.WARNING
    assert "10 day(s)" in findings[0].message
    assert info is not None and info.status == "expiring" and info.usable(AS_OF)
    last_day = check_certificate(path, date(2026, 3, 11))
    assert _codes(last_day[1]) == ["CERT-EXPIRING"]
    assert _codes(check_certificate(path, date(2026, 3, 12))[1]) == ["ERR-412"]
    assert check_certificate(path, date(2026, 2, 8))[1] == []  # 31 days ahead: nothing yet


@pytest.mark.parametrize("name", [
    "Acme-CE-20270531.pdf", "Acme_ce_20270531.pdf", "Acme_CE_2027-05-31.pdf", "Acme_CE_20270532.pdf",
    "Acme_CE_20270531.PDF", "_CE_20270531.pdf", "Acme_CE.pdf", "Acme_CE_20270531_v2.pdf",
])
def test_misnamed_file_is_cert_name(tmp_path: Path, name: str) -> None:
    info, findings = check_certificate(_cert(tmp_path, name), AS_OF)
    assert _codes(findings) == ["CERT-NAME"]
    assert "<Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf" in findings[0].message
    assert info is not None and info.status == "invalid"  # brand/type/date still read from the text


def test_name_parser_accepts_other_types() -> None:
    parsed, problem = parse_certificate_name("Acme_UKCA2_20270101.pdf")
    assert problem is None and parsed is not None and parsed.cert_type == "UKCA2"


def test_scan_directory(tmp_path: Path) -> None:
    _cert(tmp_path, "Acme_CE_20270531.pdf")
    _cert(tmp_path, "Acme_CPC_20260311.pdf", cert_type="CPC", valid_until=date(2026, 3, 11))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    infos, findings = scan_certificates(str(tmp_path), AS_OF)
    assert [(i.cert_type, i.status) for i in infos] == [("CE", "valid"), ("CPC", "expiring")]
    assert sorted(_codes(findings)) == ["CERT-EXPIRING", "CERT-NAME", "CERT-UNREADABLE"]
    with pytest.raises(NotADirectoryError, match="does not exist"):
        scan_certificates(str(tmp_path / "missing"), AS_OF)


def _info(brand: str, cert_type: str, valid_until: date, status: str = "valid") -> CertInfo:
    return CertInfo(brand=brand, cert_type=cert_type, valid_until=valid_until, number="1", issuer="L",
                    issue_date=None, file=f"{brand}_{cert_type}.pdf", sha256="0" * 64, status=status)  # type: ignore[arg-type]


def test_cert_missing_for_toys_row_whose_brand_lacks_cpc() -> None:
    frame = pd.DataFrame({
        "row": [2, 3, 4, 5, 6, 7],
        "product_id": ["11", "12", "13", "14", "15", "16"],
        "sku_code": ["T1", "T2", "E1", "H1", "E2", "T3"],
        "category": ["toys", "Toys", "electronics", "home", "electronics", "toys"],
        "brand": ["Acme", "Globex", "acme", "Globex", "Globex", "Initech"],
    })
    certs = [
        _info("Acme", "CPC", date(2027, 1, 1)),
        _info("ACME", "CE", date(2026, 3, 10), status="expiring"),
        _info("Globex", "CE", date(2026, 2, 1), status="expired"),
        _info("Initech", "CPC", date(2027, 1, 1), status="invalid"),
    ]
    findings = cert_missing(frame, certs, {"electronics": ["CE"], "toys": ["CPC"]}, AS_OF)
    assert [(f.row, f.sku_code, f.product_id) for f in findings] == [(3, "T2", 12), (6, "E2", 15), (7, "T3", 16)]
    assert all(f.code == "CERT-MISSING" and f.severity is Severity.ERROR and f.field == "brand" for f in findings)
    assert "'Globex' has no valid CPC" in findings[0].message
    # the expiring Acme CE stops counting once it has expired
    later = cert_missing(frame, certs, {"electronics": ["CE"]}, date(2026, 3, 11))
    assert [f.row for f in later] == [4, 6]
