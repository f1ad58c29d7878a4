"""``aeops validate|certs|logo``: exit codes 0/1/2, the --json shape, one error line and no traceback."""

from __future__ import annotations

import json
import types
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from aeops.cli import main
from aeops.findings import Finding, Severity
from aeops.rules.certs import CertInfo

HEADER = "product_id,sku_code,title,price,discount_price,stock,freight_template_id,category,brand,main_image\n"
FINDING_KEYS = ["code", "severity", "file", "row", "product_id", "sku_code", "field", "message"]


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the English wording; tests/unit/test_i18n.py checks the Chinese (the default)."""
    monkeypatch.setenv("AEOPS_LANGUAGE", "en")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (800, 800), "white").save(folder / "ok.jpg", quality=60)
    return folder


def _export(tmp_path: Path, *rows: str, name: str = "e.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes((HEADER + "".join(r + "\n" for r in rows)).encode(encoding))
    return str(path)


GOOD = "1005001234567890,TS-RED-M,Red T-shirt,19.90,,12,1001,home,Homely,ok.jpg"
BAD = "1.005e+15,TS&RED,Red T-shirt,19.90,,12,1001,home,Homely,ok.jpg"


def test_validate_clean_export_exits_0_with_a_summary(tmp_path: Path, images: Path, capsys) -> None:
    code = main(["validate", _export(tmp_path, GOOD), "--images-dir", str(images)])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 rows, 1 valid, 0 blocked" in out and "no findings" in out


def test_validate_with_blocking_findings_exits_1_and_prints_a_table(tmp_path: Path, images: Path, capsys) -> None:
    code = main(["validate", _export(tmp_path, GOOD, BAD, encoding="gbk"), "--images-dir", str(images)])
    out = capsys.readouterr().out
    assert code == 1
    assert "SKU-CHARS" in out and "PRODUCT-ID-INVALID" in out and "TS&RED" in out
    assert "2 rows, 1 valid, 1 blocked" in out


def test_validate_json_shape(tmp_path: Path, images: Path, capsys) -> None:
    code = main(["validate", _export(tmp_path, GOOD, BAD), "--images-dir", str(images), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert list(document) == ["summary", "findings"]
    assert document["summary"]["rows"] == 2 and document["summary"]["valid_rows"] == 1
    assert document["summary"]["by_code"] == {"PRODUCT-ID-INVALID": 1, "SKU-CHARS": 1}
    assert all(list(f) == FINDING_KEYS for f in document["findings"])
    assert {(f["code"], f["row"], f["sku_code"]) for f in document["findings"]} == {
        ("SKU-CHARS", 3, "TS&RED"), ("PRODUCT-ID-INVALID", 3, "TS&RED")}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"sku_code,title\nA,B\n", "FILE-COLUMNS"),
        (bytes(range(256)) * 8, "FILE-ENCODING"),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "FILE-ENCODING"),
    ],
)
def test_validate_unusable_file_exits_2_with_one_error_line(tmp_path: Path, capsys, content: bytes,
                                                             expected: str) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}") and "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "/nonexistent/e.csv"],
        ["validate", "{export}", "--as-of", "26/11/2026"],
        ["validate", "{export}", "--certs-dir", "/nonexistent"],
        ["certs", "/nonexistent"],
        ["logo", "/nonexistent/logo.png"],
    ],
)
def test_bad_arguments_exit_2_without_traceback(tmp_path: Path, capsys, argv: list[str]) -> None:
    export = _export(tmp_path, GOOD)
    assert main([a.replace("{export}", export) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def _fake(monkeypatch: pytest.MonkeyPatch, name: str, **functions) -> None:
    module = types.ModuleType(f"aeops.rules.{name}")
    for key, value in functions.items():
        setattr(module, key, value)
    monkeypatch.setitem(__import__("sys").modules, f"aeops.rules.{name}", module)


def test_certs_passes_the_as_of_date_and_maps_findings_to_exit_codes(tmp_path: Path, monkeypatch, capsys) -> None:
    seen: list[date] = []
    expiring = Finding("CERT-EXPIRING", Severity.WARNING, "renew it", file=str(tmp_path / "A_CPC_20261210.pdf"))
    expired = Finding("ERR-412", Severity.ERROR, "expired", file=str(tmp_path / "B_CE_20261001.pdf"))
    results = [[expiring], [expiring, expired]]

    def scan(directory: str, as_of: date):
        seen.append(as_of)
        return [CertInfo(brand="A", cert_type="CPC", valid_until=date(2026, 12, 10), number="1", issuer="SGS",
                         issue_date=None, file="A_CPC_20261210.pdf", sha256="a", status="expiring")], results.pop(0)

    _fake(monkeypatch, "certs", scan_certificates=scan)
    assert main(["certs", str(tmp_path), "--as-of", "2026-11-26"]) == 0  # a warning does not block
    assert "CERT-EXPIRING" in capsys.readouterr().out
    assert main(["certs", str(tmp_path), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["errors"] == 1 and document["summary"]["warnings"] == 1
    assert [f["code"] for f in document["findings"]] == ["CERT-EXPIRING", "ERR-412"]
    assert seen == [date(2026, 11, 26), date.today()]


def test_certs_reads_documents_and_warns_of_a_renewal_from_another_lab(tmp_path: Path, capsys) -> None:
    from aeops.rules.certs_testing import make_certificate_pdf, make_document_pdf

    for until, issuer in ((date(2027, 1, 31), "SGS"), (date(2028, 1, 31), "Intertek")):
        make_certificate_pdf(tmp_path / f"Acme_CPC_{until:%Y%m%d}.pdf", brand="Acme", cert_type="CPC",
                             number=f"CPC-{until.year}", issuer=issuer, issue_date=date(until.year - 1, 2, 1),
                             valid_until=until)
    make_document_pdf(tmp_path / "Acme_BrandAuth_20271231.pdf", brand="Acme", doc_type="BrandAuth",
                      valid_until=date(2027, 12, 31), authoriser="Acme GmbH", seller="Demo Co.")
    assert main(["certs", str(tmp_path), "--as-of", "2026-06-01", "--json", "--lang", "en"]) == 0  # no error
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["certificates"] == 3 and document["summary"]["documents"] == 1
    [warning] = document["findings"]
    assert (warning["code"], warning["severity"], warning["field"]) == ("CERT-MISMATCH", "warning", "issuer")
    assert warning["file"].endswith("Acme_CPC_20280131.pdf") and "'Intertek'" in warning["message"]
    assert main(["certs", str(tmp_path), "--as-of", "2026-06-01", "--lang", "en"]) == 0
    assert "(1 of them a compliance document: brand authorisation or category admission)" in capsys.readouterr().out


def test_logo_exit_codes_with_real_rules(tmp_path: Path, capsys) -> None:
    good, small, jpeg = tmp_path / "logo.png", tmp_path / "small.png", tmp_path / "logo.jpg"
    Image.new("RGB", (800, 800), "navy").save(good)
    Image.new("RGB", (300, 300), "navy").save(small)
    Image.new("RGB", (800, 800), "navy").save(jpeg)
    assert main(["logo", str(good)]) == 0
    assert "ready to upload" in capsys.readouterr().out
    for path, expected in ((small, "LOGO-SIZE"), (jpeg, "LOGO-FORMAT")):
        assert main(["logo", str(path), "--json"]) == 1
        document = json.loads(capsys.readouterr().out)
        assert [f["code"] for f in document["findings"]] == [expected]
        assert document["summary"]["errors"] == 1


def test_doctor_names_a_missing_planning_pool_and_how_to_create_it(monkeypatch) -> None:
    """A deployment set up before the planning pool existed: one line naming it, with the command that fixes it
    (its plan tasks would otherwise wait for ever); the pools that exist are not named."""
    from types import SimpleNamespace

    from airflow.models.pool import Pool

    from aeops.commands.deployment_checks import check_pools
    from aeops.config import parse_config

    cfg = parse_config({"planning_pool_slots": 3})
    existing = {"aliexpress_api": SimpleNamespace(slots=cfg.pool_slots()),
                "aliexpress_urgent": SimpleNamespace(slots=4)}
    monkeypatch.setattr(Pool, "get_pool", staticmethod(lambda name, session=None: existing.get(name)))

    problems = check_pools(cfg, lambda text: text)

    assert [(p.where, p.fix) for p in problems] == [
        ("pool aeops_planning", "create it: airflow pools set aeops_planning 3 aeops")]
