"""Reading catalog exports: encodings, header aliases, exact ids, XLSX, FILE-* findings, newest export."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from aeops.exports import CANONICAL_COLUMNS, newest_export, read_export
from aeops.locations import LocationError

HEADER_EN = "product_id,sku_code,title,price,discount_price,stock,freight_template_id,category,brand,main_image\n"
HEADER_ZH = "商品ID,SKU编码,标题,价格,折扣价,库存,运费模板ID,类目,品牌,主图\n"
ROW = "1005001234567890,TS-RED-M,红色T恤,19.90,15.50,12,1001,apparel,Threadly,tshirt.jpg\n"


def _write(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_reads_every_encoding_chinese_erps_write(tmp_path: Path, encoding: str) -> None:
    export = read_export(_write(tmp_path / "e.csv", HEADER_ZH + ROW, encoding))
    assert export.findings == []
    assert list(export.frame.columns) == [*CANONICAL_COLUMNS, "row"]
    first = export.frame.iloc[0]
    assert first["title"] == "红色T恤"
    assert first["sku_code"] == "TS-RED-M"  # the BOM does not end up in the first header or value
    assert first["product_id"] == "1005001234567890"
    assert int(first["row"]) == 2


def test_english_headers_and_extra_columns_in_any_order(tmp_path: Path) -> None:
    text = "Notes,SKU Code,Product ID,Title,Price,Stock,Brand\nx,A1,1005001234567890,T,1.00,5,Acme\n"
    frame = read_export(_write(tmp_path / "e.csv", text)).frame
    assert frame.iloc[0]["sku_code"] == "A1" and frame.iloc[0]["brand"] == "Acme"
    assert frame["main_image"].isna().all()  # optional column absent -> empty


def test_values_stay_text_exactly_as_written(tmp_path: Path) -> None:
    text = (HEADER_EN + "9223372036854775807,A1,T,0010.50,,007,1001,toys,B,a.jpg\n"
            "1.005e+15,A2,T,1,,1,1001,toys,B,a.jpg\n")
    frame = read_export(_write(tmp_path / "e.csv", text)).frame
    assert frame["product_id"].tolist() == ["9223372036854775807", "1.005e+15"]
    assert frame.iloc[0]["price"] == "0010.50" and frame.iloc[0]["stock"] == "007"


def test_row_numbers_are_what_the_user_sees_with_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    text = HEADER_EN + ROW + "\n" + '1005001234567891,B,"two\nlines",1,,1,1001,home,B,b.jpg\n' + ROW
    frame = read_export(_write(tmp_path / "e.csv", text)).frame
    assert frame["row"].tolist() == [2, 4, 5]


def test_semicolon_separated(tmp_path: Path) -> None:
    text = HEADER_EN.replace(",", ";") + ROW.replace(",", ";")
    assert read_export(_write(tmp_path / "e.csv", text)).frame.iloc[0]["stock"] == "12"


def test_missing_required_columns_is_file_columns(tmp_path: Path) -> None:
    export = read_export(_write(tmp_path / "e.csv", "sku_code,title\nA,B\n"))
    assert [f.code for f in export.findings] == ["FILE-COLUMNS"]
    assert "product_id" in export.findings[0].message and "price" in export.findings[0].message
    assert export.frame.empty and not export.readable


def test_same_column_twice_is_file_columns(tmp_path: Path) -> None:
    export = read_export(_write(tmp_path / "e.csv", "sku_code,SKU编码,product_id,title,price,stock\n"))
    assert [f.code for f in export.findings] == ["FILE-COLUMNS"]
    assert "sku_code" in export.findings[0].message


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("bin.csv", bytes(range(256)) * 4, "FILE-ENCODING"),
        ("png.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "FILE-ENCODING"),
        ("empty.csv", b"", "FILE-COLUMNS"),
        ("e.json", b"{}", "FILE-UNREADABLE"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "FILE-UNREADABLE"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip PK\x05\x06" + b"\x00" * 18, "FILE-UNREADABLE"),
        ("cut.xlsx", b"PK\x03\x04 a zip without its end", "FILE-TRUNCATED"),
    ],
)
def test_garbage_gives_one_file_finding_not_an_exception(tmp_path: Path, name: str, content: bytes, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    export = read_export(str(path))
    assert [f.code for f in export.findings] == [code]
    assert export.findings[0].file == str(path) and export.findings[0].message


def test_missing_file_and_folder_are_unreadable(tmp_path: Path) -> None:
    assert [f.code for f in read_export(str(tmp_path / "nope.csv")).findings] == ["FILE-UNREADABLE"]
    assert [f.code for f in read_export(str(tmp_path)).findings] == ["FILE-UNREADABLE"]


def test_xlsx_keeps_ids_exact_and_flags_excel_floats(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["商品ID", "SKU编码", "标题", "价格", "库存", "运费模板ID"])
    ws.append([1005001234567890, "A1", "Title", 19.9, 12, 1001])
    ws.append([])  # a blank spreadsheet row keeps the numbering of the rows below it
    ws.append([1.005e15, "A2", "Title", 5, 3.0, "1002"])
    path = tmp_path / "e.xlsx"
    wb.save(path)
    _as_excel_writes_big_numbers(path)
    export = read_export(str(path))
    assert export.findings == [] and export.encoding is None
    frame = export.frame
    assert frame["product_id"].tolist() == ["1005001234567890", "1005000000000000.0"]
    assert frame["price"].tolist() == ["19.9", "5"]
    assert frame["stock"].tolist() == ["12", "3"]
    assert frame["row"].tolist() == [2, 4]


def _as_excel_writes_big_numbers(path: Path) -> None:
    """openpyxl writes 1.005e15 as 1005000000000000; Excel writes <v>1.005E+15</v>: patch the sheet XML."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<v>1005000000000000</v>" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<v>1005000000000000</v>", b"<v>1.005E+15</v>")
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_file_url_through_object_storage_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", HEADER_EN + ROW)
    export = read_export(f"file://{path}")
    assert export.findings == [] and len(export.frame) == 1
    assert export.size == os.path.getsize(path) and len(export.sha256) == 64


def test_newest_export_by_modification_time(tmp_path: Path) -> None:
    old, new = tmp_path / "a_new_name.csv", tmp_path / "b.xlsx"
    old.write_text("x")
    new.write_text("x")
    (tmp_path / "c.txt").write_text("x")
    os.utime(old, (1_000, 1_000))
    os.utime(new, (2_000, 2_000))
    assert newest_export(str(tmp_path)) == str(new)
    assert newest_export(f"file://{tmp_path}") == f"file://{tmp_path}/b.xlsx"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert newest_export(str(empty)) is None
    with pytest.raises(LocationError):
        newest_export(str(tmp_path / "missing"))
