"""Brand authorisation letters and category admission papers: named like certificates with the types BrandAuth and
CategoryAdmission, checked for the lines their kind carries, in English and Chinese."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aeops.findings import Severity
from aeops.rules.certs import check_certificate, parse_certificate_name, scan_certificates
from aeops.rules.certs_testing import make_document_pdf
from aeops.rules.documents import DOC_TYPES, canonical_type, is_document, split_categories

AS_OF = date(2026, 12, 1)
UNTIL = date(2027, 12, 31)


def brand_auth(folder: Path, name: str = "Acme_BrandAuth_20271231.pdf", **values) -> Path:
    values = {"brand": "Acme", "doc_type": "BrandAuth", "valid_until": UNTIL, "authoriser": "Acme Brand GmbH",
              "seller": "Shenzhen Demo Trading Co., Ltd.", **values}
    return make_document_pdf(folder / name, **values)


def admission(folder: Path, name: str = "Acme_CategoryAdmission_20271231.pdf", **values) -> Path:
    values = {"brand": "Acme", "doc_type": "CategoryAdmission", "valid_until": UNTIL, "categories": "Toys, Home",
              **values}
    return make_document_pdf(folder / name, **values)


@pytest.mark.parametrize(("name", "doc_type"), [
    ("Acme_BrandAuth_20271231.pdf", "BrandAuth"),
    ("Acme_CategoryAdmission_20271231.pdf", "CategoryAdmission"),
    ("Acme_brandauth_20271231.pdf", "BrandAuth"),  # the type's case is forgiven, written back canonically
    ("Acme Toys_CATEGORYADMISSION_20271231.pdf", "CategoryAdmission"),
])
def test_document_names(name: str, doc_type: str) -> None:
    parsed, problem = parse_certificate_name(name)
    assert problem is None and parsed is not None
    assert (parsed.cert_type, parsed.valid_until) == (doc_type, UNTIL)


@pytest.mark.parametrize("name", ["Acme_BrandAuthorisation_20271231.pdf", "Acme_Brand-Auth_20271231.pdf",
                                  "Acme_BrandAuth_2027-12-31.pdf", "BrandAuth_20271231.pdf"])
def test_misnamed_documents(name: str) -> None:
    parsed, problem = parse_certificate_name(name)
    assert parsed is None and problem


def test_types() -> None:
    assert DOC_TYPES == ("BrandAuth", "CategoryAdmission")
    assert canonical_type("brandAUTH") == "BrandAuth" and canonical_type("CE") is None
    assert is_document("CategoryAdmission") and not is_document("CPC") and not is_document(None)
    assert split_categories("Toys, Home；Garden、Pets / Baby") == ("Toys", "Home", "Garden", "Pets", "Baby")


def test_a_brand_authorisation_reads_its_brand_owner_as_the_issuer(tmp_path: Path) -> None:
    info, findings = check_certificate(brand_auth(tmp_path, number="BA-7", issue_date=date(2026, 1, 1)), AS_OF)
    assert findings == []
    assert info is not None and (info.cert_type, info.status) == ("BrandAuth", "valid")
    assert (info.issuer, info.number, info.issue_date) == ("Acme Brand GmbH", "BA-7", date(2026, 1, 1))


def test_a_category_admission_in_chinese_names_its_categories(tmp_path: Path) -> None:
    path = admission(tmp_path, categories="玩具、家居", language="zh", date_style="zh", issuer="AliExpress")
    info, findings = check_certificate(path, AS_OF)
    assert findings == []
    assert info is not None and info.categories == ("玩具", "家居") and info.issuer == "AliExpress"


@pytest.mark.parametrize(("maker", "omit", "missing"), [
    (brand_auth, "seller", "'Authorised seller:'"),
    (brand_auth, "authoriser", "'Authorised by:'"),
    (admission, "categories", "'Category:'"),
])
def test_a_document_missing_its_lines_is_a_mismatch(tmp_path: Path, maker, omit: str, missing: str) -> None:
    info, findings = check_certificate(maker(tmp_path, **{omit: None}), AS_OF)
    assert [(f.code, f.severity) for f in findings] == [("CERT-MISMATCH", Severity.ERROR)]
    assert missing in findings[0].message
    assert info is not None and info.status == "invalid"


def test_a_document_whose_text_disagrees_with_its_name(tmp_path: Path) -> None:
    _, findings = check_certificate(brand_auth(tmp_path, brand="Globex", valid_until=date(2028, 1, 1)), AS_OF)
    assert [f.code for f in findings] == ["CERT-MISMATCH"]
    assert "'Globex' in the text" in findings[0].message and "2028-01-01 in the text" in findings[0].message


def test_no_certificate_number_or_lab_is_asked_of_a_document(tmp_path: Path) -> None:
    # a document has no "Certificate No:", "Type:" or "Issuer:" line and needs none
    _, findings = check_certificate(admission(tmp_path), AS_OF)
    assert findings == []


@pytest.mark.parametrize(("until", "codes"), [(date(2026, 12, 11), ["CERT-EXPIRING"]),
                                               (date(2026, 11, 30), ["ERR-412"])])
def test_documents_expire_like_certificates(tmp_path: Path, until: date, codes: list[str]) -> None:
    _, findings = check_certificate(brand_auth(tmp_path, f"Acme_BrandAuth_{until:%Y%m%d}.pdf", valid_until=until),
                                    AS_OF)
    assert [f.code for f in findings] == codes


def test_a_folder_reads_certificates_and_documents(tmp_path: Path) -> None:
    brand_auth(tmp_path)
    admission(tmp_path)
    infos, findings = scan_certificates(str(tmp_path), AS_OF)
    assert findings == [] and sorted(i.cert_type for i in infos) == ["BrandAuth", "CategoryAdmission"]
