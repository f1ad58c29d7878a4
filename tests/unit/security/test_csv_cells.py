"""Formula injection: no CSV aeops writes holds a cell a spreadsheet would run (docs/ui.md, ``aeops.csvsafe``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from aeops.certificates.covered import CoveredProduct, csv_text
from aeops.csvsafe import safe_cell
from aeops.reports.run_report import findings_csv

ROOT = Path(__file__).resolve().parents[3]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")",
                                  "-cmd|' /C calc'!A0"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12.50", "+3", "-1e3", "42", ".5"])
def test_a_plain_number_stays_a_number_a_negative_price_included(cell: str) -> None:
    assert safe_cell(cell) == cell
    assert safe_cell(-12.5) == -12.5 and safe_cell(-3) == -3


def test_ordinary_text_is_unchanged() -> None:
    assert [safe_cell(v) for v in ("MUG-01", "杯子 = 好", None, "a=1")] == ["MUG-01", "杯子 = 好", "", "a=1"]


def test_the_findings_csv_escapes_an_export_cell_that_starts_a_formula() -> None:
    finding = SimpleNamespace(code="SKU-INVALID-CHARS", severity="error", file="export.csv", row=-3, product_id=7,
                              sku_code="=1+1", field="title", message="@SUM(A1:A9) is not a title")
    row = _rows(findings_csv([finding], "en"))[1]
    assert row[5] == "'=1+1"
    assert row[9] == "'@SUM(A1:A9) is not a title"
    assert row[3] == "-3"  # a number written as a number: not escaped


def test_the_products_at_risk_csv_escapes_titles_and_reasons() -> None:
    text = csv_text([CoveredProduct(product_id=1, title="=HYPERLINK(\"http://evil\")", category="+cat",
                                    reason="-2+3", brand="@brand")], {1: ["=file.pdf"]})
    row = _rows(text)[1]
    assert row[1:] == ["'=HYPERLINK(\"http://evil\")", "'+cat", "", "'-2+3", "'@brand", "'=file.pdf"]


def test_every_csv_writer_of_the_package_is_the_safe_one() -> None:
    files = [p for folder in ("include", "plugins", "dags") for p in (ROOT / folder).rglob("*.py")]
    writers = [str(p.relative_to(ROOT)) for p in files
               if re.search(r"csv\.(writer|DictWriter)\(|\.to_csv\(|\.write_csv\(", p.read_text(encoding="utf-8"))]
    assert writers == ["include/aeops/csvsafe.py"]
