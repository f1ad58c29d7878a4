"""The cross-check decision: what waits for a person's approval before aeops uploads a certificate (a changed
issuer, another brand's number, nothing to compare with), and what never does (a routine renewal by the same lab
with a new number). The text disagreeing with the file name stays a blocking CERT-MISMATCH (test_certs.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from aeops.findings import Severity
from aeops.rules.cert_crosscheck import cross_check, cross_check_folder, previous_certificate
from aeops.rules.certs import CertInfo


def _info(brand: str = "Acme", number: str | None = "CPC-2", issuer: str | None = "SGS", sha: str = "new",
          status: str = "valid", cert_type: str = "CPC", until: date = date(2028, 1, 31)) -> CertInfo:
    return CertInfo(brand=brand, cert_type=cert_type, valid_until=until, number=number, issuer=issuer,
                    issue_date=None, file=f"/certs/{brand}_{cert_type}_{until:%Y%m%d}.pdf", sha256=sha,
                    status=status)  # type: ignore[arg-type]


OLD = _info(number="CPC-1", issuer="SGS", sha="old", until=date(2027, 1, 31))


def test_a_renewal_by_the_same_lab_with_a_new_number_needs_no_person() -> None:
    check = cross_check(_info(issuer=" sgs "), [OLD])  # case and spacing aside
    assert check.previous == OLD and check.findings == ()
    assert not check.needs_approval(upload=True) and not check.needs_approval(upload=False)


def test_a_renewal_from_another_lab_is_a_warning_that_waits_for_approval() -> None:
    check = cross_check(_info(issuer="Intertek"), [OLD])
    assert [(f.code, f.severity, f.field) for f in check.findings] == [("CERT-MISMATCH", Severity.WARNING, "issuer")]
    assert "'Intertek'" in check.findings[0].message and "'SGS'" in check.findings[0].message
    assert "Acme_CPC_20270131.pdf" in check.findings[0].message  # the previous file, named
    assert check.needs_approval(upload=True) and check.needs_approval(upload=False)


def test_the_previous_file_is_the_newest_that_counts() -> None:
    older = _info(issuer="Intertek", sha="older", until=date(2026, 1, 31))
    broken = _info(issuer="Intertek", sha="bad", status="invalid", until=date(2027, 6, 30))
    assert previous_certificate(_info(), [older, OLD, broken]) == OLD
    assert cross_check(_info(), [older, OLD, broken]).findings == ()  # compared with OLD (SGS), not the others
    # another type, another brand and the file itself are not its predecessors
    assert previous_certificate(_info(), [_info(cert_type="CE", sha="ce"), _info(brand="Tinytoy", sha="t"),
                                          replace(_info(issuer="X"), sha256="new")]) is None


def test_another_brands_number_waits_for_approval() -> None:
    other = _info(brand="Tinytoy", number="cpc 2", sha="other")
    check = cross_check(_info(), [OLD, other])
    assert [(f.code, f.severity, f.field) for f in check.findings] == [("CERT-MISMATCH", Severity.WARNING, "number")]
    assert "Tinytoy" in check.findings[0].message
    assert cross_check(_info(), [OLD, replace(other, status="invalid")]).findings == ()


def test_the_first_of_its_brand_and_type_is_the_baseline_but_an_upload_asks() -> None:
    check = cross_check(_info(), [_info(brand="Tinytoy", number="X", sha="t")])
    assert check.first and check.findings == ()
    assert not check.needs_approval(upload=False)  # the watch: the seller put it on the platform themselves
    assert check.needs_approval(upload=True)  # aeops would upload it: nothing to compare its issuer with


def test_unknown_issuer_or_number_raises_nothing() -> None:
    assert cross_check(_info(issuer=None, number=None), [OLD, _info(brand="T", number=None, sha="t")]).findings == ()


def test_the_folder_check_compares_each_file_with_its_predecessors() -> None:
    renewal = _info(issuer="Intertek")
    findings = cross_check_folder([OLD, renewal, _info(brand="Tinytoy", number="T1", sha="t")])
    assert [(f.file, f.field) for f in findings] == [(renewal.file, "issuer")]  # the older file is the reference
