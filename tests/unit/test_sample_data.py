"""The committed sample (scripts/make_sample.py) shows every finding code and is mostly valid."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from aeops.catalog.validation import validate_export
from aeops.findings import CERT_CODES, IMAGE_CODES, ROW_CODES

SAMPLE = Path(__file__).resolve().parents[2] / "include" / "sample"


def _validate(store: str):
    return validate_export(
        str(SAMPLE / "exports" / store / "catalog_2026-11-25.csv"), images_dir=str(SAMPLE / "images"),
        certs_dir=str(SAMPLE / "certs"), as_of=date(2026, 11, 26), known_freight_templates=["1001", "1002", "1003"],
    )


def test_demo_export_has_every_code_and_a_majority_of_valid_rows() -> None:
    result = _validate("demo")
    summary = result.summary()
    assert result.checked and 200 <= summary["rows"] <= 400
    # a >3 MB image is deliberately not committed; the image tests generate IMG-TOO-BIG
    assert set(ROW_CODES + IMAGE_CODES + CERT_CODES) - set(summary["by_code"]) == {"IMG-TOO-BIG"}
    assert summary["valid_rows"] > summary["rows"] / 2
    assert set(result.frame["category"]) == {"apparel", "electronics", "toys", "home"}
    assert all(len(pid) == 16 for pid in result.frame["product_id"] if pid != "1.005e+15")


def test_second_store_export_is_gbk_with_chinese_headers() -> None:
    result = _validate("demo-kids")
    assert result.export.encoding == "gb18030"
    assert set(result.frame["category"]) == {"toys", "home"}
    assert [f.code for f in result.findings if f.row is not None] == ["SKU-CHARS"]


def test_sample_stays_small() -> None:
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 3 * 1024 * 1024
