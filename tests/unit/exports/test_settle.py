"""Whole exports only: a file the ERP is still writing is not taken; a cut CSV or XLSX is FILE-TRUNCATED."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from aeops.exports import read_export
from aeops.exports.settle import readiness

HEADER = "product_id,sku_code,title,price,discount_price,stock,freight_template_id,category,brand,main_image\n"
ROW = "1005001234567890,TS-RED-M,Red tee,19.90,15.50,12,1001,apparel,Threadly,tshirt.jpg\n"
ROW2 = "1005001234567891,TS-RED-L,Red tee,19.90,15.50,12,1001,apparel,Threadly,tshirt.jpg\n"


def _export(folder: Path, name: str, text: str, age_s: float) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.mark.parametrize("cut", [
    HEADER + ROW + ROW2[:30],  # mid-row, no line break: 3 of 10 cells
    HEADER + ROW + '1005001234567891,TS-RED-L,"Red tee, the',  # inside a quoted cell
])
def test_a_csv_cut_mid_row_is_file_truncated_not_a_sync(tmp_path: Path, cut: str) -> None:
    export = read_export(str(_export(tmp_path, "e.csv", cut, 0)))
    assert [f.code for f in export.findings] == ["FILE-TRUNCATED"]
    assert "cut short" in export.findings[0].message and export.frame.empty


@pytest.mark.parametrize("whole", [
    HEADER + ROW + ROW2,  # ends with its line break
    HEADER + ROW + ROW2.rstrip("\n"),  # no final line break, but every cell is there (Excel writes these)
    HEADER + ROW + ROW2.replace("Red tee", '"Red tee, large"').rstrip("\n"),  # a closed quoted cell last
])
def test_whole_csvs_are_not_flagged(tmp_path: Path, whole: str) -> None:
    export = read_export(str(_export(tmp_path, "e.csv", whole, 0)))
    assert export.findings == [] and len(export.frame) == 2


def test_an_xlsx_cut_short_is_file_truncated(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(ROW.strip().split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    whole = buffer.getvalue()
    (tmp_path / "whole.xlsx").write_bytes(whole)
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) * 2 // 3])
    assert read_export(str(tmp_path / "whole.xlsx")).findings == []
    assert [f.code for f in read_export(str(tmp_path / "cut.xlsx")).findings] == ["FILE-TRUNCATED"]


def test_the_newest_export_is_taken_only_once_unchanged_for_the_settle_time(tmp_path: Path) -> None:
    _export(tmp_path, "day1.csv", HEADER + ROW, 3600)
    fresh = _export(tmp_path, "day2.csv", HEADER + ROW, 10)
    waiting = readiness(str(tmp_path), settle_seconds=120)
    assert waiting.location == str(fresh) and not waiting.ready  # never falls back to yesterday's file either
    assert "modified 10 s ago" in waiting.reason and "120 s" in waiting.reason
    later = readiness(str(tmp_path), settle_seconds=120, now=time.time() + 115)
    assert later.ready and later.location == str(fresh)
    assert readiness(str(tmp_path), settle_seconds=0).ready


def test_with_markers_only_the_done_marker_counts(tmp_path: Path) -> None:
    old = _export(tmp_path, "day2.csv", HEADER + ROW, 3600)  # settled long ago, but the ERP has not marked it
    waiting = readiness(tmp_path.as_uri(), settle_seconds=0, markers=True)
    assert not waiting.ready and "day2.csv.done" in waiting.reason
    Path(str(old) + ".done").write_text("")
    ready = readiness(tmp_path.as_uri(), settle_seconds=0, markers=True)
    assert ready.ready and ready.location.endswith("/day2.csv")  # the marker is not an export itself


def test_no_export_is_left_to_the_caller_to_report(tmp_path: Path) -> None:
    assert readiness(str(tmp_path), settle_seconds=120) == readiness(str(tmp_path), settle_seconds=0)
    assert readiness(str(tmp_path), settle_seconds=120).location is None


def test_the_sensor_poke_waits_counts_and_then_records_the_file_it_takes(tmp_path: Path, sqlite_url,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from aeops.config import parse_config
    from aeops.store.ledger import Ledger
    from aeops.sync.intake import export_settled

    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)
    fresh = _export(tmp_path, "day2.csv", HEADER + ROW, 5)
    cfg = parse_config({"database_url": sqlite_url, "stores": [
        {"name": "demo", "exports": str(tmp_path), "export_settle_seconds": 60}]})
    assert not export_settled("demo", "aliexpress_catalog_sync", "r1", config=cfg)
    assert not export_settled("demo", "aliexpress_catalog_sync", "r1", config=cfg)
    run = Ledger(sqlite_url).runs.find("demo", "r1")
    assert run.counts["export_waits"] == 2 and "not taken yet" in run.message

    when = time.time() - 120
    os.utime(fresh, (when, when))
    assert export_settled("demo", "aliexpress_catalog_sync", "r1", config=cfg)
    run = Ledger(sqlite_url).runs.find("demo", "r1")
    assert run.artifacts["settled_export"] == str(fresh) and run.message is None

    missing = parse_config({"database_url": sqlite_url, "stores": [{"name": "demo", "exports": str(tmp_path / "no")}]})
    assert export_settled("demo", "aliexpress_catalog_sync", "r2", config=missing)  # pull_export reports it
